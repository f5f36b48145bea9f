"""Registry format shared by the function corpora (``functions.py``, ``corpus_control.py``).

A corpus module holds ``CASES: list[Case]`` and registers functions with a decorator made by
:func:`registrar`; the decorator returns the function unchanged, so srcad sees plain source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Point = tuple[Any, ...]
Fn = Callable[..., Any]


@dataclass(eq=False)  # hashed by identity, so a Case can key caches
class Case:
    fn: Fn
    points: list[Point]  # argument tuples: float arguments are differentiated, ints are data
    # True if the function is non-smooth somewhere (branches on data, abs, min/max, floor, ...):
    # its points must keep a margin from every switch so central differences stay valid.
    kinks: bool = False
    slow: bool = False  # run only with ``-m slow``

    @property
    def name(self) -> str:
        return f"{self.fn.__module__.rsplit('.', 1)[-1]}.{self.fn.__name__}"


def registrar(cases: list[Case]) -> Callable[..., Callable[[Fn], Fn]]:
    """Return a ``@case(points=..., kinks=..., slow=...)`` decorator that appends to ``cases``."""

    def case(*, points: list[Point], kinks: bool = False, slow: bool = False) -> Callable[[Fn], Fn]:
        for point in points:
            if not all(type(v) in (int, float) for v in point):
                raise TypeError(f"corpus points hold python ints and floats only, got {point!r}")

        def register(fn: Fn) -> Fn:
            cases.append(Case(fn, list(points), kinks=kinks, slow=slow))
            return fn

        return register

    return case
