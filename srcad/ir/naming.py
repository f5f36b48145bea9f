"""Readable, unique names for SSA values, derived from user names (Tangent's naming habit):
``x``, ``x.1`` after reassignment, ``x.bar`` adjoints, ``x.dot`` tangents."""
from __future__ import annotations

from .core import Value


class Namer:
    def __init__(self, sep: str = ".", number_sep: str | None = None):
        self.sep = sep  # replaces the "." of derived names (x.bar -> x_bar)
        self.number_sep = sep if number_sep is None else number_sep  # x.1 / x_bar1
        self.names: dict[int, str] = {}
        self.used: set[str] = set()
        self.counts: dict[str, int] = {}

    def reserve(self, name: str) -> None:
        self.used.add(name)

    def __call__(self, v: Value) -> str:
        n = self.names.get(v.id)
        if n is not None:
            return n
        base = (v.name or "t").replace(".", self.sep)
        if self.sep != ".":
            base = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in base)
            if base[0].isdigit():
                base = "v_" + base
        name = base
        k = self.counts.get(base, 0)
        while name in self.used:
            k += 1
            name = f"{base}{self.number_sep}{k}"
        self.counts[base] = k
        self.used.add(name)
        self.names[v.id] = name
        return name

    def alias(self, v: Value, other: Value) -> None:
        """Give ``v`` the same name as ``other`` (loop params and results share a variable)."""
        self.names[v.id] = self(other)
