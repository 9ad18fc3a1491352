"""`theano.tensor.signal.pool.pool_2d`: Theano's pooling signature over `sg.max_pool` and `sg.avg_pool`.

Example:
    >>> import numpy as np
    >>> import symgraph.theano.tensor as T
    >>> from symgraph.theano.tensor.signal import pool
    >>> x = T.tensor4("x")
    >>> pool.pool_2d(x, ws=(2, 2), ignore_border=True).eval({x: np.arange(16.0).reshape(1, 1, 4, 4)})
    array([[[[ 5.,  7.],
             [13., 15.]]]])
"""
from ....ops import avg_pool, max_pool, pad as zero_pad
from ....ops.convolution import sum_pool

__all__ = ["pool_2d"]

_MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")
"""Theano's pooling modes."""


def _pair(value, argument):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"pool_2d: {argument} must be an int or a pair, got {value!r}")
    return pair


def _theano_partial_size(size, window, stride):
    """Theano's output size with ignore_border=False (a last, partial window is kept)."""
    if stride >= window:
        return (size - 1) // stride + 1
    return max(0, (size - 1 - window + stride) // stride) + 1


def _border_overhang(x, window, stride, pad):
    """(lo, hi) paddings that make whole windows of Theano's partial ones at the end of each pooled axis
    (ignore_border=False): the windows' reach past the input. An axis of unknown size n pooled with a
    stride of at least the window takes w - 1, which gives floor((n - 1) / s) + 1 windows, Theano's
    count, for every n."""
    if any(pad):
        raise ValueError(f"pool_2d: argument pad={pad} needs ignore_border=True (as in Theano)")
    paddings = []
    for size, w, s in zip(x.type.shape[-2:], window, stride):
        if size is not None:
            paddings.append((0, max(0, (_theano_partial_size(size, w, s) - 1) * s + w - size)))
        elif s >= w:
            paddings.append((0, w - 1))
        else:
            raise ValueError(f"pool_2d: argument ignore_border=False cannot be honoured by symgraph for input "
                             f"{x.type} with ws={window}, stride={stride}: with overlapping windows the number "
                             f"of partial windows needs static sizes of the pooled axes; pass "
                             f"ignore_border=True or give the input a static shape")
    return tuple(paddings)


def pool_2d(input, ws=None, ignore_border=None, stride=None, pad=(0, 0), mode="max", ds=None, st=None,
            padding=None):
    """Pool the last two axes of `input` over windows `ws` with steps `stride` (default `ws`).

    `mode` is "max", "sum", "average_inc_pad" or "average_exc_pad"; `pad` pads both sides of each axis
    with zeros, as Theano does (so a padded max is at least 0). `ds`, `st` and `padding` are Theano's
    deprecated names for `ws`, `stride` and `pad`. Theano's default `ignore_border=False` keeps the
    partial windows at the end of each axis: their maximum or mean covers the inputs they reach (in both
    average modes, and their sum in "sum"); it takes no `pad`, and overlapping windows (a stride below the window) need static
    sizes of the pooled axes.

    Example:
        >>> import numpy as np
        >>> import symgraph.theano.tensor as T
        >>> from symgraph.theano.tensor.signal import pool
        >>> x = T.tensor4("x")
        >>> y = pool.pool_2d(x, (2, 2), ignore_border=True, mode="average_inc_pad")
        >>> y.eval({x: np.ones((1, 1, 2, 2))})
        array([[[[1.]]]])
    """
    window = _pair(ws if ws is not None else ds, "ws")
    stride = window if (stride if stride is not None else st) is None else _pair(
        stride if stride is not None else st, "stride")
    pad = _pair(padding if padding is not None else pad, "pad")
    if mode not in _MODES:
        raise ValueError(f"pool_2d: mode must be one of {list(_MODES)}, got {mode!r}")
    if not ignore_border:
        overhang = _border_overhang(input, window, stride, pad)
        if mode == "max":
            return max_pool(input, window, stride, overhang)
        if mode == "sum":
            return sum_pool(input, window, stride, overhang)
        return avg_pool(input, window, stride, overhang, count_include_pad=False)
    padding_pairs = tuple((p, p) for p in pad)
    if mode == "sum":
        return sum_pool(input, window, stride, padding_pairs)
    if mode == "max":
        # Theano pads with zeros for max pooling too (sg.max_pool's padding never wins a maximum).
        padded = zero_pad(input, ((0, 0),) * (input.ndim - 2) + padding_pairs) if any(pad) else input
        return max_pool(padded, window, stride)
    return avg_pool(input, window, stride, padding_pairs, count_include_pad=mode == "average_inc_pad")
