"""Copies of arrays nothing else reads are dropped.

Reverse mode copies a cotangent before handing it to an adjoint loop that may update it in
place (``Reverse.own``): the cotangent may be shared with another adjoint.  Often it is not:
it is a fresh array that only the copy reads, and the copy is a wasted allocation and pass.
``c = copy(v)`` becomes ``v`` when

* v is made, in the same region as the copy (a copy in a loop body is needed each iteration),
  by an op that always returns a new array (not a view, a tape pop, a parameter, a control-flow
  result, an in-place update, nor ``unbroadcast``, which may return its operand), and
* the copy is v's only use (so nothing can observe v being written through c).
"""
from __future__ import annotations

from collections import Counter

from ..ir.core import Function, Op, Region, Value, substitute
from ..primitives import REGISTRY

# non-elementwise primitives whose generated code always allocates its result
_ALLOCATING = ("copy", "dot", "outer", "sum", "amax", "amin", "expand_like", "mask")


def allocates(op: Op) -> bool:
    """Does op's generated code always return a new array (never one of its inputs)?"""
    if len(op.outputs) != 1 or op.outputs[0].type.ndim == 0 or op.regions:
        return False
    p = REGISTRY.get(op.prim)
    if p is None or p.extra.get("inplace"):
        return False
    if p.extra.get("fresh") or op.prim in _ALLOCATING:
        return True
    from ..codegen.fuse import is_elementwise  # lazy: codegen imports the passes' users
    return is_elementwise(p)


def elide_copies(fn: Function) -> bool:
    count = Counter(fn.body.uses())
    vmap: dict[Value, Value] = {}
    _region(fn.body, count, vmap)
    if vmap:
        substitute(fn.body, vmap)
    return bool(vmap)


def _region(r: Region, count: dict[Value, int], vmap: dict[Value, Value]) -> None:
    producer: dict[Value, Op] = {}
    keep = []
    for op in r.ops:
        for reg in op.regions:
            _region(reg, count, vmap)
        if op.prim == "copy":
            v = op.inputs[0]
            src = producer.get(v)
            if src is not None and count.get(v, 0) == 1 and allocates(src):
                vmap[op.outputs[0]] = v
                continue
        for o in op.outputs:
            producer[o] = op
        keep.append(op)
    r.ops = keep
