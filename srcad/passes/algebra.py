"""Algebraic rewrites that change the amount of work, not just its form.

* **Sums of matrix products.**  ``sum(A @ B, axis=0)`` is ``sum(A, axis=0) @ B`` and
  ``sum(A @ B, axis=1)`` is ``A @ sum(B, axis=1)``: a vector-matrix product instead of a
  matrix product and a temporary.  Reverse mode makes these everywhere a matrix is
  broadcast against a vector: the adjoint of ``(X - mu) @ Q.T`` with respect to ``mu`` is
  ``-sum((Y_bar @ Q), axis=0)`` (the adjoint of the broadcast).  The rewrite also looks through
  ``neg`` and scalar ``mul`` between the product and the sum (both commute with it), and
  applies only when every intermediate has that one use (nothing else needs the product).

Summation order changes (as with any BLAS call); the value is the same up to rounding.
"""
from __future__ import annotations

from collections import Counter

from ..ir.core import Builder, Function, Op, Region, Value, substitute


def algebra(fn: Function) -> bool:
    uses = Counter(fn.body.uses())
    producer = {o: op for op in fn.body.walk() for o in op.outputs}
    vmap: dict[Value, Value] = {}
    changed = _region(fn.body, uses, producer, vmap)
    if vmap:
        substitute(fn.body, vmap)
    return changed


def _region(r: Region, uses, producer, vmap) -> bool:
    changed = False
    new_ops: list[Op] = []
    for op in r.ops:
        for reg in op.regions:
            changed |= _region(reg, uses, producer, vmap)
        rewritten = _sum_of_product(op, uses, producer)
        if rewritten is not None:
            (sum_op, *ops), value = rewritten
            # the sum right after what it reads, so that code generation can fuse it into the
            # loop computing that array (here it would stand after other readers of it)
            src = producer.get(sum_op.inputs[0])
            at = next((k + 1 for k, q in enumerate(new_ops) if q is src), len(new_ops))
            new_ops.insert(at, sum_op)
            new_ops.extend(ops)
            vmap[op.outputs[0]] = value
            changed = True
            continue
        new_ops.append(op)
    r.ops = new_ops
    return changed


def _row_sum_axis(op: Op) -> tuple[int, bool] | None:
    """(axis summed, through unbroadcast) for a sum of a 2-D value down to 1-D."""
    if op.prim not in ("sum", "unbroadcast") or len(op.outputs) != 1:
        return None
    if op.inputs[0].type.ndim != 2 or op.outputs[0].type.ndim != 1:
        return None
    if op.prim == "unbroadcast" and op.params.get("lead", 0) == 1:
        return 0, True
    if op.prim == "sum" and op.params.get("axis") in (0, 1) and not op.params.get("keepdims"):
        return op.params["axis"], False
    return None


def _sum_of_product(op: Op, uses, producer):
    found = _row_sum_axis(op)
    if found is None:
        return None
    axis, via_unbroadcast = found
    c = op.inputs[0]
    chain: list[Op] = []  # neg / scalar mul between the product and the sum, outermost first
    while uses.get(c, 0) == 1 and c in producer:
        p = producer[c]
        if p.prim == "neg":
            chain.append(p)
            c = p.inputs[0]
        elif p.prim == "mul" and sum(v.type.ndim == 0 for v in p.inputs) == 1 \
                and c.type.ndim == 2:
            chain.append(p)
            c = next(v for v in p.inputs if v.type.ndim)
        else:
            break
    p = producer.get(c)
    if p is None or p.prim != "dot" or uses.get(c, 0) != 1:
        return None
    a, b = p.inputs
    if a.type.ndim != 2 or b.type.ndim != 2 or c.type.ndim != 2:
        return None
    tmp = Region()
    bld = Builder(tmp, op.loc)
    if axis == 0:  # sum_i (A B)[i, :] = (sum_i A[i, :]) B
        v = bld.dot(bld.sum(a, axis=0, keepdims=False), b)
    else:  # sum_j (A B)[:, j] = A (sum_j B[:, j])
        v = bld.dot(a, bld.sum(b, axis=1, keepdims=False))
    for q in reversed(chain):
        if q.prim == "neg":
            v = bld.neg(v)
        else:
            k = next(x for x in q.inputs if x.type.ndim == 0)
            v = bld.mul(v, k)
    if via_unbroadcast:  # what is left: the runtime length-1 case of the target
        v = bld.unbroadcast(v, op.inputs[1], lead=0)
    if v.type != op.outputs[0].type or not tmp.ops or tmp.ops[0].prim != "sum":
        return None
    return tmp.ops, v
