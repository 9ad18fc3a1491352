"""The table of registered rewrites: each has a name, a phase, its groups and the ops it matches.

A local rewrite is a function `(node, build) -> replacement or None`: it looks at one Apply node (and the
nodes below it), and returns the variable(s) replacing the node's output(s), built with `build` (a
`Builder`, so that new nodes keep the replaced node's creation site), or None when it does not apply.
It is indexed by the op types it `tracks`; a string in `tracks` names a row of the element-wise table.

Example:
    >>> "merge" in known_names()
    True
    >>> REWRITES["add_zero"].groups
    ('canonicalize',)
"""
from .mode import GROUPS

REWRITES = {}
"""Every registered rewrite by name (filled when the rewrite library modules are imported)."""


class Rewrite:
    """A named local rewrite; `phase` is the pass it runs in, `groups` the names that switch it."""

    __slots__ = ("name", "phase", "groups", "tracks", "function")

    def __init__(self, name, phase, function, tracks=None, extra_groups=()):
        if phase not in GROUPS:
            raise ValueError(f"rewrite {name!r}: unknown phase {phase!r}; phases are {list(GROUPS)}")
        self.name = name
        self.phase = phase
        self.groups = (phase,) + tuple(extra_groups)
        self.tracks = None if tracks is None else tuple(tracks)
        self.function = function

    def __repr__(self):
        return f"Rewrite({self.name!r}, groups={self.groups})"


def register_rewrite(name, phase, tracks=None, extra_groups=()):
    """Decorator registering a local rewrite under `name` (which must be new).

    `tracks`: op classes and element-wise row names (str) the rewrite matches; None means every node.

    Example:
        >>> @register_rewrite("example_noop", "canonicalize", tracks=["exp"])
        ... def example_noop(node, build):
        ...     return None
        >>> "example_noop" in known_names()
        True
        >>> del REWRITES["example_noop"]
    """

    def decorate(function):
        if name in REWRITES or name in GROUPS:
            raise ValueError(f"a rewrite or group named {name!r} is already registered")
        REWRITES[name] = Rewrite(name, phase, function, tracks, extra_groups)
        return function

    return decorate


def register_pass_name(name, phase):
    """Register the name of a rewrite that is a whole pass rather than a local rewrite (such as fusion)."""
    register_rewrite(name, phase, tracks=())(None)


def known_names():
    """Every name `sg.Mode(include/exclude)` accepts: the groups and each registered rewrite."""
    return frozenset(GROUPS) | frozenset(REWRITES)


def enabled_rewrites(mode, phases):
    """The local rewrites of `phases` that `mode` switches on, in registration order."""
    return [rw for rw in REWRITES.values()
            if rw.function is not None and rw.phase in phases and mode.enabled(rw.name, rw.groups)]
