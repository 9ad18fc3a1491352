"""`sg.vmap`: batching of a symbolic function, with JAX's meaning of `in_axes` and `out_axes`.

`sg.vmap(fn, in_axes, out_axes)(*args)` calls `fn` once on per-example variables (each batched argument
without its mapped axis) and rebuilds the graph it returns for the whole batch with the batching rules
of `symgraph.autodiff.vectorize`, so a batch runs as a few large kernels instead of a Python loop. It
composes with `sg.grad` inside `fn` (per-example gradients) and with random draws (each batch entry
draws its own sample). Ops without a batching rule run once per entry (correct, slower), which
`f.report` lists under "batching fallback".

Example:
    >>> import symgraph as sg
    >>> w, xs = sg.vector("w"), sg.matrix("xs")
    >>> per_example = sg.vmap(lambda x: sg.grad(sg.sum(sg.tanh(x * w)), w))(xs)
    >>> per_example.type
    TensorType(float64, (None, None))
"""
import functools

from ..graph.basic import Variable, as_variable
from ..graph.type import TensorType
from ..ops.random import made_after, stream_draws_made
from ..ops.shape import ensure_shape, normalize_axis
from ..ops.shape_of import shape_of, symbolic_sizes
from .vectorize import move_axis, vectorize


def _per_position(axes, count, role):
    """`axes` (an int, None, or one entry per position) as a list of `count` entries."""
    if axes is None or isinstance(axes, int):
        return [axes] * count
    if not isinstance(axes, (list, tuple)):
        raise TypeError(f"vmap: {role} must be an int, None, or a list or tuple of them, got {axes!r}")
    axes = list(axes)
    if len(axes) != count:
        raise ValueError(f"vmap: {role} has {len(axes)} entries for {count} {'arguments' if role == 'in_axes' else 'outputs'}")
    for axis in axes:
        if axis is not None and not isinstance(axis, int):
            raise TypeError(f"vmap: every entry of {role} must be an int or None, got {axis!r}")
    return axes


def _batch_size(batched):
    """The common size of the leading axes of `batched` (static where one is known)."""
    static = {v.type.shape[0] for v in batched if v.type.shape[0] is not None}
    if len(static) > 1:
        raise ValueError(f"vmap: the mapped axes have different sizes {sorted(static)}")
    return static.pop() if static else shape_of(batched[0])[0]


def _with_checked_batch(mapping, size, axes):
    """`mapping` with each batched argument whose batch size is unknown checked at run time against
    `size`: NumPy would broadcast a batch of 1 against the others silently."""
    positions = [position for position, axis in enumerate(axes) if axis is not None]
    checked = {}
    for position, (inner, moved) in zip(positions, mapping.items()):
        if moved.type.shape[0] is None and len(mapping) > 1:
            what = f"vmap: argument {position} (with its mapped axis {axes[position]} moved first)"
            moved = ensure_shape(moved, (size,) + symbolic_sizes(moved)[1:], what)
        checked[inner] = moved
    return checked


def vmap(fn, in_axes=0, out_axes=0):
    """`fn` mapped over an axis of its arguments: a function taking batched variables (the batch along
    `in_axes`) and returning `fn`'s results with the batch along `out_axes`.

    `in_axes`: an int (the same axis of every argument), None (not mapped: passed to `fn` as it is), or a
    list/tuple with one int or None per argument; at least one argument must be mapped. `out_axes`: an
    int, or one per output. `fn` takes symbolic variables and returns a variable or a list/tuple of
    them; results that do not depend on the batch are repeated along it. RandomStream draws that `fn`
    makes give an independent sample per batch entry; a sample drawn outside `fn` is shared by all.

    Example:
        >>> import numpy as np, symgraph as sg
        >>> xs, w = sg.matrix("xs"), sg.vector("w")
        >>> dots = sg.vmap(lambda x: sg.dot(x, w))(xs)
        >>> dots.eval({xs: [[1.0, 2.0], [3.0, 4.0]], w: [1.0, 1.0]})
        array([3., 7.])
        >>> columns = sg.vmap(lambda x: x * 2, in_axes=1, out_axes=1)(xs)
        >>> columns.eval({xs: [[1.0, 2.0]]})
        array([[2., 4.]])
    """
    if not callable(fn):
        raise TypeError(f"vmap: expected a function, got {fn!r}")

    @functools.wraps(fn)
    def batched(*args):
        axes = _per_position(in_axes, len(args), "in_axes")
        call_args, mapping = [], {}
        for position, (arg, axis) in enumerate(zip(args, axes)):
            if axis is None:
                call_args.append(arg)
                continue
            var = as_variable(arg, f"argument {position} of vmap")
            if var.ndim == 0:
                raise ValueError(f"vmap: argument {position} of type {var.type} has no axis {axis} to map over")
            moved = move_axis(var, normalize_axis(axis, var.ndim, "vmap", var.type), 0)
            inner = Variable(TensorType(var.dtype, moved.type.shape[1:]), name=var.name)
            mapping[inner] = moved
            call_args.append(inner)
        if not mapping:
            raise ValueError("vmap: in_axes maps no argument; at least one must be batched")
        first_new_stream_draw = stream_draws_made()
        results = fn(*call_args)
        single = not isinstance(results, (list, tuple))
        outputs = [results] if single else list(results)
        for out in outputs:
            if not isinstance(out, Variable):
                raise TypeError(f"vmap: the function must return symbolic variables, got {out!r}")
        # Draws `fn` made give one sample per entry; a sample it closes over is one value, shared, as in JAX.
        size = _batch_size(list(mapping.values()))
        batched_outputs = vectorize(outputs, _with_checked_batch(mapping, size, axes), size,
                                    independent_draws=lambda node: made_after(node, first_new_stream_draw))
        placed = []
        for out, axis in zip(batched_outputs, _per_position(out_axes, len(outputs), "out_axes")):
            if axis is None:
                raise ValueError("vmap: out_axes entries must be ints (every result carries the batch axis)")
            placed.append(move_axis(out, 0, normalize_axis(axis, out.ndim, "vmap", out.type)))
        if single:
            return placed[0]
        return tuple(placed) if isinstance(results, tuple) else placed

    return batched
