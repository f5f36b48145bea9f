"""Algebraic rewrites that change the amount of work, not just its form.

* **Sums of matrix products.**  ``sum(A @ B, axis=0)`` is ``sum(A, axis=0) @ B`` and
  ``sum(A @ B, axis=1)`` is ``A @ sum(B, axis=1)``: a vector-matrix product instead of a
  matrix product and a temporary.  Reverse mode makes these everywhere a matrix is
  broadcast against a vector: the adjoint of ``(X - mu) @ Q.T`` with respect to ``mu`` is
  ``-sum((Y_bar @ Q), axis=0)`` (the adjoint of the broadcast).  The rewrite also looks through
  ``neg`` and scalar ``mul`` between the product and the sum (both commute with it), and
  applies only when every intermediate has that one use (nothing else needs the product).

* **Products through a row scaling** (matrix-chain reassociation).  The adjoint of
  ``sum(Y * Y, axis=1)`` for ``Y = A @ B`` (squared norms of the rows of a linear map: Gaussian
  and Mahalanobis terms) is ``S = c[:, None] * Y``, and the adjoint of the product reads it as
  ``A.T @ S`` and ``sum(S, axis=0)``.  ``P @ (c[:, None] * (A @ B))`` is
  ``((P * c[None, :]) @ A) @ B`` and ``sum(c[:, None] * (A @ B), axis=0)`` is
  ``sum(c[:, None] * A, axis=0) @ B``: for (n, d) data and a (d, d) map that is one product over
  the n rows instead of two (``Y``'s recomputation and ``A.T @ S``).  Which order is cheaper
  depends on the extents, known only at run time, so the rewrite is an ``if`` on the two flop
  counts with the original ops moved into its else branch.  It applies when every use of ``S``
  is such a sum or product and nothing else reads ``Y`` (else ``Y`` is there anyway).

Summation order changes (as with any BLAS call); the value is the same up to rounding.
"""
from __future__ import annotations

from collections import Counter

from ..ir.core import Builder, Function, Op, Region, Value, substitute
from ..primitives import REGISTRY
from .dce import _has_effects
from .inplace import may_alias


def algebra(fn: Function) -> bool:
    uses = Counter(fn.body.uses())
    producer = {o: op for op in fn.body.walk() for o in op.outputs}
    vmap: dict[Value, Value] = {}
    changed = _region(fn.body, uses, producer, vmap)
    if vmap:
        substitute(fn.body, vmap)
    for _ in range(8):  # one rewrite at a time: each changes uses and producers
        if not _scaled_products(fn):
            break
        changed = True
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


# ------------------------------------------------------------ products through a row scaling

def _scaled_products(fn: Function) -> bool:
    uses = Counter(fn.body.uses())
    producer = {o: op for op in fn.body.walk() for o in op.outputs}
    users: dict[Value, list[Op]] = {}
    home: dict[int, Region | None] = {}  # id(op) -> the region holding it

    def scan(r: Region | None, ops: list[Op]) -> None:
        for op in ops:
            home[id(op)] = r
            for x in dict.fromkeys(op.inputs):
                users.setdefault(x, []).append(op)
            for k, reg in enumerate(op.regions):
                # the else branch of a rewrite is the original order, kept as its fallback
                fallback = k == 1 and op.params.get("reassociated")
                scan(None if fallback or r is None else reg, reg.ops)
    scan(fn.body, fn.body.ops)
    for s_val, s_users in users.items():
        if s_val.type.ndim != 2 or s_val not in producer or uses[s_val] != len(s_users):
            continue
        region = home[id(producer[s_val])]
        if region is None or not all(home[id(u)] is region and _scaled_user(u, s_val)
                                     for u in s_users):
            continue
        found = _scaled(s_val, producer, uses)
        if found is not None and _rewrite_scaled(fn, region, producer, found, s_users):
            return True
    return False


def _scaled(s_val: Value, producer, uses):
    """Match ``S = f(c[:, None] * Y)`` with ``Y = A @ B`` and f a chain of neg, scalar mul,
    x + x and unbroadcast to Y's shape, where nothing outside the chain reads Y or an
    intermediate (so all of them die).  Returns (A, B, c, the condition under which Y is
    taped rather than recomputed or None, f's neg / mul / add ops innermost first)."""
    chain: list[Op] = []
    inner = [s_val]  # S, then what each chain op reads
    while True:
        op = producer.get(inner[-1])
        if op is None:
            return None
        arrays = [x for x in op.inputs if x.type.ndim]
        if op.prim == "neg" or (op.prim == "add" and op.inputs[0] is op.inputs[1]) or \
                op.prim == "mul" and len(arrays) == 1 or \
                op.prim == "unbroadcast" and op.params.get("lead", 0) == 0:
            chain.append(op)
            inner.append(arrays[0])
        else:
            break
    scale = producer[inner[-1]]
    if scale.prim != "mul" or inner[-1].type.ndim != 2:
        return None
    c = y = None
    reads = list(scale.inputs)  # (what reads Y: the chain, and an expand_like against it)
    for e, w in (scale.inputs, scale.inputs[::-1]):
        p = producer.get(e)
        if p is not None and p.prim == "expand_like" and p.inputs[1] is w:
            reads.append(w)
            p = producer.get(p.inputs[0])
        if p is not None and p.prim == "expand_dims" and p.params.get("axis") == 1 and \
                p.inputs[0].type.ndim == 1 and w.type.ndim == 2:
            c, y = p.inputs[0], w
            break
    if c is None or y not in producer:
        return None
    yp = producer[y]
    cond = None
    if yp.prim == "if" and yp.params.get("recompute") == "dot":  # see ad/reverse.py
        cond, yp = yp.inputs[0], yp.regions[1].ops[-1]
    if yp.prim != "dot" or any(x.type.ndim != 2 for x in yp.inputs):
        return None
    if any(op.prim == "unbroadcast" and op.inputs[1] is not y for op in chain):
        return None  # (to Y's shape: the identity when c has Y's rows, which is checked)
    reads += [x for op in chain for x in op.inputs]
    inside = Counter(reads)
    if any(uses.get(w, 0) != inside[w] for w in [*inner[1:], y]):
        return None
    a, b = yp.inputs
    return a, b, c, cond, [op for op in chain[::-1] if op.prim != "unbroadcast"]


def _scaled_user(op: Op, s_val: Value) -> bool:
    """``sum(S, axis=0)`` or ``P @ S``."""
    if op.prim == "sum" and op.inputs[0] is s_val and op.params.get("axis") == 0 and \
            not op.params.get("keepdims"):
        return True
    return (op.prim == "dot" and len(op.inputs) == 2 and op.inputs[1] is s_val and
            op.inputs[0] is not s_val and op.inputs[0].type.ndim == 2)


def _rewrite_scaled(fn: Function, region: Region, producer, found, s_users: list[Op]) -> bool:
    a, b, c, cond, scalars = found
    pos = {id(op): k for k, op in enumerate(region.ops)}
    at = min(pos[id(u)] for u in s_users)
    # every operand of the new ops must be defined before the first user
    before = set(region.params)
    for op in region.ops[:at]:
        before.update(op.outputs)
    here = region.defined()
    needed = [a, b, c] + ([cond] if cond is not None else []) + \
        [u.inputs[0] for u in s_users if u.prim == "dot"]
    for x in needed:  # a pure op defining it later (``A.T``) moves up, if its operands allow
        if x in before or x not in here:
            continue
        op = producer[x]
        if op.regions or not _pure(op) or any(y not in before and y in here for y in op.inputs):
            return False
        region.ops.remove(op)
        region.ops.insert(at, op)
        at += 1
        before.update(op.outputs)
    loc = s_users[0].loc
    head = Region()
    hb = Builder(head, loc)
    n, k, p = hb.dim(a, axis=0), hb.dim(a, axis=1), hb.dim(b, axis=1)
    nk, np_ = hb.mul(n, k), hb.mul(n, p)
    new = hb.const(0)
    old = hb.mul(nk, p) if cond is None else hb.select(cond, hb.const(0), hb.mul(nk, p))
    for u in s_users:
        if u.prim == "sum":
            new = hb.add(new, hb.add(nk, hb.mul(k, p)))
            old = hb.add(old, np_)
        else:
            m = hb.dim(u.inputs[0], axis=0)
            mn = hb.mul(m, n)
            new = hb.add(new, hb.add(hb.add(mn, hb.mul(mn, k)), hb.mul(hb.mul(m, k), p)))
            old = hb.add(old, hb.mul(mn, p))
    cheaper = hb.and_(hb.lt(new, old), hb.eq(hb.dim(c, axis=0), n))
    then = Region()
    tb = Builder(then, loc)

    def f(v: Value) -> Value:  # S's scalar factors, on the scaled operand (fused with it)
        for q in scalars:
            if q.prim == "neg":
                v = tb.neg(v)
            elif q.prim == "add":
                v = tb.add(v, v)
            else:
                v = tb.mul(v, next(x for x in q.inputs if x.type.ndim == 0))
        return v

    scaled_a = f(tb.mul(a, tb.expand_dims(c, axis=1)))  # f(c[:, None] * A)
    results = []
    for u in s_users:
        if u.prim == "sum":
            r = tb.dot(tb.sum(scaled_a, axis=0, keepdims=False), b)
        else:
            pm = u.inputs[0]
            pp = producer.get(pm)
            if pp is not None and pp.prim == "transpose" and pp.inputs[0] is a:
                left = tb.transpose(scaled_a)  # (c[:, None] * A).T
            else:
                left = f(tb.mul(pm, tb.expand_dims(c, axis=0)))
            r = tb.dot(tb.dot(left, a), b)
        if r.type != u.outputs[0].type:
            return False
        results.append(r)
    then.yields = results
    # the original users go to the else branch, whose results replace theirs
    outs = [Value(u.outputs[0].type, u.outputs[0].name) for u in s_users]
    region.ops = [op for op in region.ops if op not in s_users]
    substitute(fn.body, dict(zip((u.outputs[0] for u in s_users), outs)))
    orelse = Region(ops=list(s_users), yields=[u.outputs[0] for u in s_users])
    guard = Op("if", [cheaper], outs, {"reassociated": True}, [then, orelse], loc)
    region.ops[at:at] = head.ops + [guard]
    _sink(region, guard, 1)
    return True


def _writes(op: Op) -> list[Value]:
    """Buffers an op (or an op nested in it) may write in place."""
    out = []
    prim = REGISTRY.get(op.prim)
    if prim is not None and prim.extra.get("inplace") and op.inputs:
        out.append(op.inputs[0])
    for r in op.regions:
        for o in r.ops:
            out.extend(_writes(o))
    return out


def _pure(op: Op) -> bool:
    """No tape effects and no in-place writes (also in nested regions)."""
    return not _has_effects(op) and not _writes(op)


def _sink(region: Region, target: Op, branch: int) -> None:
    """Move the pure ops before ``target`` whose results only ``target``'s region ``branch``
    reads into that branch (latest first), so that they run only when it is taken.  An op
    does not move past an in-place write to any array it reads (or a view of one: compared
    by the array each view is of)."""
    producer = {o: op for op in region.ops for o in op.outputs}

    def root(v: Value) -> Value:
        seen = set()
        while v in producer and may_alias(producer[v]) and v not in seen:
            seen.add(v)
            v = producer[v].inputs[0]
        return v

    dest = target.regions[branch]
    k = region.ops.index(target)
    total = Counter(region.uses())
    inside = Counter(dest.uses())
    written: set[Value] = set()
    moved: list[Op] = []
    for j in range(k - 1, -1, -1):
        op = region.ops[j]
        if (_pure(op) and op.outputs and
                all(total[o] and total[o] == inside[o] for o in op.outputs) and
                not any(root(x) in written for x in op.inputs if x.type.ndim)):
            moved.append(op)
            inside.update(x for x in op.inputs)
            for r in op.regions:
                inside.update(r.uses())
            continue
        written.update(root(w) for w in _writes(op))
    if moved:
        gone = {id(op) for op in moved}
        region.ops = [op for op in region.ops if id(op) not in gone]
        dest.ops[0:0] = moved[::-1]
