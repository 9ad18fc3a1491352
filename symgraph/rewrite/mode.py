"""Compilation modes: which rewrite groups and rewrites run.

Example:
    >>> import symgraph as sg
    >>> sg.Mode(exclude=["fusion"]).excluded
    frozenset({'fusion'})
"""

GROUPS = ("merge", "constant_folding", "canonicalize", "stabilize", "specialize", "fusion", "inplace", "unsafe",
          "sympy")
OFF_BY_DEFAULT = frozenset({"unsafe", "sympy"})
FAST_COMPILE_GROUPS = frozenset({"merge"})


class Mode:
    """Which rewrites run: every default group, plus `include`, minus `exclude` (group or rewrite names).

    `Mode("fast_compile")` runs only what correctness needs. `nan_guard=True` makes the compiled function
    raise FloatingPointError at the first node whose output holds NaN or inf, naming the node and the
    user line that created it (fusion is then off, so that the node named is a single operation).
    `backend` ("numpy", "numba", "dask" or `sg.backend(...)`) lowers the optimized graph; the `backend=`
    argument of `sg.function` overrides it. An unknown name raises ValueError.

    Example:
        >>> import symgraph as sg
        >>> x = sg.vector("x")
        >>> f = sg.function([x], x * 0, mode=sg.Mode(include=["unsafe"], exclude=["fusion"]))
        >>> f([1.0, float("nan")])
        array([0., 0.])
        >>> f.report.rewrites["multiply_zero"]
        1
    """

    def __init__(self, base="fast_run", include=(), exclude=(), nan_guard=False, backend="numpy"):
        if base not in ("fast_run", "fast_compile"):
            raise ValueError(f"unknown mode {base!r}: expected 'fast_run' or 'fast_compile'")
        self.base = base
        self.included = frozenset(_names(include, "include"))
        self.excluded = frozenset(_names(exclude, "exclude"))
        self.nan_guard = bool(nan_guard)
        from ..codegen.backend import backend as get_backend
        from .registry import known_names

        self.backend = get_backend(backend)

        unknown = sorted((self.included | self.excluded) - known_names())
        if unknown:
            raise ValueError(
                f"unknown rewrite or group name(s) {unknown}; known groups are {list(GROUPS)}"
            )

    def enabled(self, name, groups):
        """Is the rewrite `name`, a member of `groups`, switched on?"""
        if name in self.excluded or any(g in self.excluded for g in groups):
            return False
        if self.nan_guard and "fusion" in groups:
            return False  # the guard names single operations, so none is hidden inside a kernel
        if name in self.included or any(g in self.included for g in groups):
            return True
        if self.base == "fast_compile":
            return all(g in FAST_COMPILE_GROUPS for g in groups)
        return not any(g in OFF_BY_DEFAULT for g in groups)

    def __repr__(self):
        return (f"Mode({self.base!r}, include={sorted(self.included)}, exclude={sorted(self.excluded)}"
                f"{', nan_guard=True' if self.nan_guard else ''}"
                f"{'' if self.backend.name == 'numpy' else f', backend={self.backend!r}'})")

    def __reduce__(self):
        return Mode, (self.base, tuple(self.included), tuple(self.excluded), self.nan_guard, self.backend)


def _names(values, label):
    if isinstance(values, str):
        values = [values]
    names = list(values)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"Mode({label}=...) takes rewrite or group names (str), got {name!r}")
    return names


def get_mode(mode) -> Mode:
    """Normalize the `mode` argument of `sg.function`: None, "fast_run", "fast_compile" or a Mode."""
    if mode is None:
        return Mode()
    if isinstance(mode, Mode):
        return mode
    if isinstance(mode, str):
        return Mode(mode.lower())
    raise TypeError(f"mode must be None, 'fast_run', 'fast_compile' or sg.Mode, got {mode!r}")
