"""Lowering: scheduling, the NumPy backend table and the linker that compiles generated source."""
