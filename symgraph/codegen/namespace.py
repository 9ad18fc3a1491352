"""The globals of generated source: every name in it is made here from trusted, sanitized hints.

Example:
    >>> ns = Namespace()
    >>> ns.bind(len, "len")
    'len_0'
    >>> ns.bind(abs, "builtin_abs", exact=True)
    'builtin_abs'
"""
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def safe_identifier(hint: str) -> str:
    """A valid Python identifier made only of the ASCII letters, digits and underscores of `hint`."""
    cleaned = _UNSAFE.sub("_", hint)[:40] or "obj"
    return cleaned if not cleaned[0].isdigit() else "_" + cleaned


def comment_text(text) -> str:
    """`text` made safe for a one-line comment in generated source (escapes, no line breaks)."""
    return repr(str(text))[1:-1].replace("\u2028", " ").replace("\u2029", " ")


class Namespace:
    """Objects bound as module-level names of one generated function, and the backend (codegen/backend.py)
    whose lowerings write it."""

    def __init__(self, base=None, backend=None):
        self.backend = backend
        self.globals = dict(base or {})
        self._names_by_id = {}
        self._count = 0
        self._blocks = 0

    def block_prefix(self) -> str:
        """A fresh prefix for the local names of a nested block (a loop's body): `s0_`, `s1_`, ..."""
        prefix = f"s{self._blocks}_"
        self._blocks += 1
        return prefix

    def bind(self, obj, hint: str, exact=False) -> str:
        """The global name under which `obj` is visible to the generated code (bound once).

        The name is the sanitized `hint` with a counter appended, or with `exact` the sanitized hint alone
        while that name is free (for well-known objects such as `np_exp`, to keep the source readable).
        """
        existing = self._names_by_id.get(id(obj))
        if existing is not None:
            return existing
        name = safe_identifier(hint)
        if not exact or name in self.globals:
            name = f"{name}_{self._count}"
            self._count += 1
        self.globals[name] = obj
        self._names_by_id[id(obj)] = name
        return name
