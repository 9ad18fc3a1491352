"""`theano.scan` with Theano's signature over `sg.scan`, which has Theano's semantics.

Example:
    >>> import symgraph.theano as theano
    >>> import symgraph.theano.tensor as T
    >>> v = T.dvector("v")
    >>> sums, updates = theano.scan(lambda x, acc: acc + x, sequences=v, outputs_info=T.constant(0.0))
    >>> theano.function([v], sums)([1.0, 2.0, 3.0])
    array([1., 3., 6.])
"""
from ..ops import scan as _sg_scan

__all__ = ["scan"]


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None, truncate_gradient=-1,
         go_backwards=False, mode=None, name=None, profile=False, allow_gc=None, strict=False,
         return_list=False):
    """Loop `fn` over `sequences`, like `theano.scan`; returns `(outputs, updates)`.

    `mode`, `allow_gc` and `strict` are accepted and change nothing (the loop is compiled with the
    function that uses it); `profile=True` raises (use `f.profile`). With `return_list=True` the outputs
    are always a list.

    Example:
        >>> import symgraph.theano as theano
        >>> import symgraph.theano.tensor as T
        >>> k = T.iscalar("k")
        >>> powers, _ = theano.scan(lambda p: p * 2, outputs_info=T.constant(1.0), n_steps=k)
        >>> theano.function([k], powers)(3)
        array([2., 4., 8.])
    """
    if profile:
        raise ValueError(f"theano.scan: argument profile={profile!r} cannot be honoured by symgraph: "
                         "call f.profile(*args) on the compiled function")
    outputs, updates = _sg_scan(fn, sequences=sequences, outputs_info=outputs_info, non_sequences=non_sequences,
                                n_steps=n_steps, go_backwards=go_backwards, truncate_gradient=truncate_gradient,
                                name=name)
    if return_list and not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return outputs, updates
