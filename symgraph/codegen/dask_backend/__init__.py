"""The Dask backend: a graph lowers to `dask.array` operations, so one compiled function runs on chunked
arrays larger than memory, on the threaded scheduler or on a `dask.distributed` cluster.

Arguments may be dask arrays (checked without computing anything) or NumPy arrays and array-likes, which
become dask arrays chunked by the `chunks` option. Every fused element-wise kernel is one `blockwise`
layer (one task per chunk: the block function is the kernel's NumPy chain); reductions are Dask's tree
reductions; products, shapes and basic indexing are Dask's own; index writes and advanced reads Dask's
indexing does not do as NumPy does are resolved chunk by chunk (indexing.py). With `compute=True` (the
default) all outputs and updates are computed in one `dask.compute` call and returned as NumPy arrays;
with `compute=False` the outputs are dask arrays. Shared variables are updated with NumPy values unless `lazy_updates=True`
(then they hold dask arrays, and each call builds on the last one's graph).
An op no lowering here covers raises NotImplementedError naming it when the function is compiled: no op
ever falls back to its NumPy reference implementation, which would compute the whole array.

The lowerings are grouped by op family: kernels.py (element-wise ops and fused kernels), reductions.py
(reductions, logsumexp, softmaxes, cumulative sums), products.py, shape.py (shapes, basic index reads,
gradient fitting, creation), indexing.py (index writes, advanced reads), entry.py (arguments and results)
and errors.py (errors raised while Dask computes, nan_guard).

Example:
    >>> import numpy as np
    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> f = sg.function([x], sg.sum(sg.exp(x) * 2.0), backend=sg.backend("dask", chunks=2))
    >>> float(f(np.zeros(6)))
    12.0
"""
import dask.array  # noqa: F401  (a missing dask is reported when the backend is first asked for)

from ..backend import Backend
from .entry import DaskArgument, ResultFinisher
from .errors import FiniteCheck


class DaskBackend(Backend):
    """The Dask backend's table with its entry-point hooks (see the module docstring)."""

    converts_arguments = True
    owns_results = True

    def globals(self):
        import dask.array as da
        import numpy as np

        return {"np": np, "da": da}

    def unlowered(self, node, input_names, namespace):
        site = f" (created at {node.site})" if node.site is not None else ""
        raise NotImplementedError(f"the dask backend cannot lower {node.op}{site}: no dask.array form of it "
                                  f"is implemented; compile this function with backend='numpy'")

    def nan_guard_lines(self, name, error, namespace):
        return [f"{name} = {namespace.bind(FiniteCheck(error), 'finite')}({name})"]

    def write_argument_checks(self, source, inputs, params, spec, namespace):
        for position, (param, var) in enumerate(zip(params, inputs)):
            argument = DaskArgument(position, var, None if spec.trust_input else spec.check_input,
                                    self.options["chunks"])
            source.add(f"    {param} = {namespace.bind(argument, f'to_dask_{param}')}({param})")

    def read_shared(self, expression, var, namespace):
        argument = DaskArgument(None, var, None, self.options["chunks"])
        return f"{namespace.bind(argument, 'shared_to_dask')}({expression})"

    def write_results(self, source, indent, results, outputs, namespace, n_updates=0):
        if not results:
            return results
        finisher = ResultFinisher(outputs, len(outputs) - n_updates, self.options)
        names = [f"out{position}" for position in range(len(results))]
        source.add(f"{indent}{', '.join(names)}, = {namespace.bind(finisher, 'finish')}({', '.join(results)})")
        return names


BACKEND = DaskBackend("dask", options={"chunks": "auto", "compute": True, "lazy_updates": False},
                      writes_in_place=False)

from . import kernels, reductions, products, shape, indexing, sorting  # noqa: E402,F401
