"""Common subexpression elimination over pure primitives, with lexical scoping: an expression
computed in an enclosing region is reused inside nested regions, never the other way round."""
from __future__ import annotations

from ..ir.core import Function, Region, Value, substitute


def _key(op, vmap):
    params = tuple(sorted((k, v) for k, v in op.params.items() if k != "slot"))
    if op.prim == "const":
        return ("const", op.outputs[0].type, repr(op.params["value"]))
    return (op.prim, tuple(vmap.get(x, x).id for x in op.inputs), params)


def _allocates(op) -> bool:
    """Fresh buffers and in-place updates must stay distinct (they may be written)."""
    from ..primitives import REGISTRY
    p = REGISTRY.get(op.prim)
    return p is not None and (p.extra.get("fresh") or p.extra.get("inplace"))


def cse(fn: Function) -> bool:
    vmap: dict[Value, Value] = {}
    changed = _region(fn.body, {}, vmap)
    if vmap:
        substitute(fn.body, vmap)
    return changed


def _region(r: Region, table: dict, vmap: dict) -> bool:
    changed = False
    scope = dict(table)
    keep = []
    for op in r.ops:
        op.inputs = [vmap.get(x, x) for x in op.inputs]
        if op.regions or op.prim in ("push", "pop", "reserve") or _allocates(op):
            for reg in op.regions:
                changed |= _region(reg, scope, vmap)
            keep.append(op)
            continue
        k = _key(op, vmap)
        prev = scope.get(k)
        if prev is not None:
            for o, p in zip(op.outputs, prev.outputs):
                vmap[o] = p
            changed = True
            continue
        scope[k] = op
        keep.append(op)
    r.ops = keep
    r.yields = [vmap.get(y, y) for y in r.yields]
    return changed
