"""Dead code elimination, including unused results of ``if`` ops and dead loop carries."""
from __future__ import annotations

from ..ir.core import Function, Op, Region, Value

EFFECTS = ("push", "pop", "reserve")


def _has_effects(op: Op) -> bool:
    if op.prim in EFFECTS:
        return True
    return any(_has_effects(o) for r in op.regions for o in r.ops)


def _uses(r: Region, used: set[Value]) -> None:
    for op in r.ops:
        used.update(op.inputs)
        for reg in op.regions:
            _uses(reg, used)
    used.update(r.yields)


def dce(fn: Function) -> bool:
    changed = False
    while True:
        used: set[Value] = set()
        _uses(fn.body, used)
        if not _region(fn.body, used) and not _dead_tape(fn.body, used):
            return changed
        changed = True


def _dead_tape(body: Region, used: set[Value]) -> bool:
    """Remove tape entries nobody reads: a pop whose value is unused, with its push (they
    share a slot; removing a whole push/pop pair keeps every other pair matched)."""
    pops = [op for op in body.walk() if op.prim == "pop"]
    live = {op.params["slot"] for op in pops if op.outputs[0] in used}
    dead = {op.params["slot"] for op in pops} - live  # a slot may hold a value and its tangent
    if not dead:
        return False

    def strip(r: Region) -> None:
        r.ops = [op for op in r.ops
                 if not (op.prim in ("push", "pop") and op.params["slot"] in dead)]
        for op in r.ops:
            for reg in op.regions:
                strip(reg)
    strip(body)
    return True


def _region(r: Region, used: set[Value]) -> bool:
    changed = False
    keep = []
    for op in r.ops:
        if op.prim == "if":
            changed |= _prune_if(op, used)
        elif op.prim in ("for", "while"):
            changed |= _prune_loop(op, used)
        for reg in op.regions:
            changed |= _region(reg, used)
        if not _has_effects(op) and not any(o in used for o in op.outputs):
            changed = True
            continue
        keep.append(op)
    r.ops = keep
    return changed


def _prune_if(op: Op, used: set[Value]) -> bool:
    live = [k for k, o in enumerate(op.outputs) if o in used]
    if len(live) == len(op.outputs):
        return False
    op.outputs = [op.outputs[k] for k in live]
    for r in op.regions:
        r.yields = [r.yields[k] for k in live]
    return True


def _prune_loop(op: Op, used: set[Value]) -> bool:
    """Drop carries whose result is unused and whose value feeds nothing live in the body."""
    is_for = op.prim == "for"
    body = op.regions[-1]
    nhead = 3 if is_for else 0
    carries = body.params[1:] if is_for else body.params
    n = len(carries)
    live = {k for k in range(n) if op.outputs[k] in used}
    cond_uses: set[Value] = set()
    if not is_for:
        _uses(op.regions[0], cond_uses)
        live |= {k for k, p in enumerate(op.regions[0].params) if p in cond_uses}
    while True:
        body_used: set[Value] = set()
        # uses by live yields and by everything in the body that must stay (effects)
        roots = [body.yields[k] for k in live]
        _live_values(body, roots, body_used)
        grown = {k for k, p in enumerate(carries) if p in body_used} - live
        if not grown:
            break
        live |= grown
    if len(live) == n:
        return False
    keep = sorted(live)
    off = 1 if is_for else 0
    body.params = body.params[:off] + [carries[k] for k in keep]
    body.yields = [body.yields[k] for k in keep]
    op.inputs = op.inputs[:nhead] + [op.inputs[nhead + k] for k in keep]
    op.outputs = [op.outputs[k] for k in keep]
    if not is_for:
        cond = op.regions[0]
        cond.params = [cond.params[k] for k in keep]
    return True


def _live_values(r: Region, roots: list[Value], out: set[Value]) -> None:
    """Values the roots and effectful ops of ``r`` depend on (conservative across regions)."""
    producer = {o: op for op in r.ops for o in op.outputs}
    todo = list(roots)
    for op in r.ops:
        if _has_effects(op):
            todo.extend(op.inputs)
            for reg in op.regions:
                _uses(reg, out)
                todo.extend(out)
    seen: set[Value] = set()
    while todo:
        v = todo.pop()
        if v in seen:
            continue
        seen.add(v)
        out.add(v)
        op = producer.get(v)
        if op is None:
            continue
        todo.extend(op.inputs)
        for reg in op.regions:
            inner: set[Value] = set()
            _uses(reg, inner)
            todo.extend(inner)
