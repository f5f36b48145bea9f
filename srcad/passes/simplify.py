"""Local simplifications that the builders' folding cannot see:

* an ``if`` result yielding the same value on both sides is that value; one yielding
  True/False (or False/True) is the predicate (or its negation);
* a loop carry that is yielded unchanged is its initial value;
* ``not (not x)`` is x.
"""
from __future__ import annotations

from ..ir.core import Builder, Function, Op, Region, Value, substitute
from ..primitives import REGISTRY


def simplify(fn: Function) -> bool:
    vmap: dict[Value, Value] = {}
    changed = _region(fn.body, vmap)
    if vmap:
        substitute(fn.body, vmap)
    return changed


def _region(r: Region, vmap: dict) -> bool:
    changed = False
    producer: dict[Value, Op] = {}
    new_ops: list[Op] = []
    out = Region()
    out.ops = new_ops
    for op in r.ops:
        op.inputs = [vmap.get(x, x) for x in op.inputs]
        for reg in op.regions:
            changed |= _region(reg, vmap)
        if op.prim == "if":
            changed |= _if(op, Builder(out, op.loc), vmap)
        elif op.prim in ("for", "while"):
            changed |= _invariant_carries(op, vmap)
        elif op.inputs and any(x.is_const for x in op.inputs) and _refold(op, out, vmap):
            changed = True
            continue
        elif op.prim == "not_":
            inner = producer.get(op.inputs[0])
            if inner is not None and inner.prim == "not_":
                vmap[op.outputs[0]] = inner.inputs[0]
                changed = True
                continue
        for o in op.outputs:
            producer[o] = op
        new_ops.append(op)
    r.ops = new_ops
    r.yields = [vmap.get(y, y) for y in r.yields]
    return changed


def _refold(op: Op, out: Region, vmap: dict) -> bool:
    """Constants substituted into an op (e.g. an invariant carry) may enable folding."""
    prim = REGISTRY.get(op.prim)
    if prim is None or prim.fold is None or len(op.outputs) != 1:
        return False
    folded = prim.fold(Builder(out, op.loc), op.inputs, op.params)
    if folded is None:
        return False
    vmap[op.outputs[0]] = folded
    return True


def _if(op: Op, b: Builder, vmap: dict) -> bool:
    then, orelse = op.regions
    cond = op.inputs[0]
    changed = False
    negated = None
    for k, o in enumerate(op.outputs):
        if o in vmap:
            continue
        a, c = vmap.get(then.yields[k], then.yields[k]), vmap.get(orelse.yields[k],
                                                                   orelse.yields[k])
        if a is c:
            vmap[o] = a
            changed = True
        elif a.is_const and c.is_const and o.type.dtype == "bool" and a.const != c.const:
            if a.const:
                vmap[o] = cond
            else:
                if negated is None:
                    negated = b.not_(cond)
                vmap[o] = negated
            changed = True
    return changed  # the replaced results are now unused: DCE removes them


def _invariant_carries(op: Op, vmap: dict) -> bool:
    is_for = op.prim == "for"
    body = op.regions[-1]
    carries = body.params[1:] if is_for else body.params
    init = op.inputs[3:] if is_for else op.inputs
    changed = False
    for k, (p, y) in enumerate(zip(carries, body.yields)):
        if y is p and op.outputs[k] not in vmap:
            vmap[op.outputs[k]] = init[k]
            vmap[p] = init[k]
            if not is_for:
                vmap[op.regions[0].params[k]] = init[k]
            changed = True
    if changed:
        for reg in op.regions:
            substitute(reg, vmap)
    return changed
