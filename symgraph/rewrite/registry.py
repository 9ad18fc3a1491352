"""The table of registered rewrites: name, groups, the op types they match.

Example:
    >>> "merge" in known_names()
    True
"""
from .mode import GROUPS

REWRITES = {}


def known_names():
    """Every name `sg.Mode(include/exclude)` accepts: the groups and each registered rewrite."""
    return frozenset(GROUPS) | frozenset(REWRITES)
