"""Optimization passes on the IR: simplify, algebra, shape-only operands, copy elision, CSE,
DCE.  Each pass is small and keeps the IR verifiable; ``optimize`` runs them to a fixpoint."""
from __future__ import annotations

from ..ir.core import Function
from .algebra import algebra
from .copies import elide_copies
from .cse import cse
from .dce import dce
from .shapes import shape_operands
from .simplify import simplify


def optimize(fn: Function, verify_each: bool = False) -> Function:
    from ..ir.verifier import verify
    for _ in range(6):
        changed = simplify(fn)
        changed |= algebra(fn)
        changed |= shape_operands(fn)
        changed |= elide_copies(fn)
        changed |= cse(fn)
        changed |= dce(fn)
        if verify_each:
            verify(fn)
        if not changed:
            break
    return fn


__all__ = ["algebra", "cse", "dce", "elide_copies", "optimize", "shape_operands", "simplify"]
