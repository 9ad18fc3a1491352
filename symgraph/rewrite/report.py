"""What the compiler did: node counts, rewrites fired, seconds per phase.

Example:
    >>> r = CompileReport(nodes_before=3, nodes_after=2, rewrites={"merge": 1}, timings={"rewrite": 0.001})
    >>> "3 -> 2" in str(r)
    True
"""


class CompileReport:
    """`f.report`: `nodes_before`, `nodes_after`, `rewrites` (name -> times fired), `timings` (phase -> s),
    and `batching_fallbacks`: the ops that a batched graph (`sg.vmap`, `sg.jacobian`) runs once per batch
    entry in Python because they have no batching rule (correct, but slower)."""

    def __init__(self, nodes_before=0, nodes_after=0, rewrites=None, timings=None, batching_fallbacks=()):
        self.nodes_before = nodes_before
        self.nodes_after = nodes_after
        self.rewrites = dict(rewrites or {})
        self.timings = dict(timings or {})
        self.batching_fallbacks = list(batching_fallbacks)

    def __str__(self):
        lines = [f"nodes: {self.nodes_before} -> {self.nodes_after}"]
        if self.rewrites:
            lines.append("rewrites fired:")
            width = max(len(name) for name in self.rewrites)
            for name, count in sorted(self.rewrites.items(), key=lambda item: (-item[1], item[0])):
                lines.append(f"  {name:<{width}}  {count}")
        else:
            lines.append("rewrites fired: none")
        if self.batching_fallbacks:
            lines.append("batching fallback (run once per batch entry, no batching rule): "
                         + ", ".join(self.batching_fallbacks))
        if self.timings:
            lines.append("time per phase:")
            width = max(len(name) for name in self.timings)
            for name, seconds in self.timings.items():
                lines.append(f"  {name:<{width}}  {seconds * 1e3:8.3f} ms")
        return "\n".join(lines)

    def __repr__(self):
        return (f"CompileReport(nodes_before={self.nodes_before}, nodes_after={self.nodes_after}, "
                f"rewrites={self.rewrites})")
