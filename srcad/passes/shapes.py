"""Shape-only operands read an earlier value of the same shape.

Some ops read an input only for its shape: ``expand_like c, like``, ``unbroadcast c, like``,
``zeros_like x``, ``dim x``, ``scatter_add_rows c, like, idx``.  When that input is the result
of an op whose output provably has the shape of one of its own inputs, the shape read moves to
that input, repeatedly.  The result is then no longer kept alive (or written to an array by a
fused loop) just so that its shape can be read: in ``sum(Y * Y, axis=1)``'s adjoint
``expand_like ct, Y*Y`` becomes ``expand_like ct, Y``.

Provably the same shape (never through broadcasting of two different arrays):

* elementwise ops whose array inputs are all one value (``exp x``, ``mul Y, Y``,
  ``sub 1.0, x``): the output has that value's shape;
* ``expand_like c, like`` with a scalar ``c``, and ``unbroadcast c, like``: like's shape;
* ``copy x``, ``mask v, c``, and the in-place updates (``put``, ``put_add``, ``index_add``,
  ``slice_add``): their first input's shape (a write never changes a shape, which is also why
  ``passes/inplace.py`` does not count shape reads as reads of the old version).

An elementwise result of *several* arrays has their broadcast shape, not one input's.  When
such a value is read only for its shape:

* if its array operands all trace back to one value (``maximum(m, 0) + log1p(exp(-abs(m)))``),
  the shape reads go to that value;
* else, when none of those arrays is computed by a fusable op (a view reading one would cut
  the fused loop computing it), the op becomes ``bcast_like x, y``: a stride-0 view of zeros
  with their broadcast shape, built in O(1).  Reverse mode makes these wherever a sum adds a
  product: the adjoint of ``s = s * e + f`` in a loop sums ``s_bar`` down to the shape of
  ``s * e`` (both taped), and used to recompute ``s * e``, an array per iteration, for that.
"""
from __future__ import annotations

from collections import Counter

from ..ir.core import Function, Op, Region, Value, substitute
from ..ir.types import Type
from ..primitives import REGISTRY

# primitive -> (indices of shape-only inputs, whether the result type also takes the dtype of
# that input: then a replacement must have the same dtype, not just the same shape)
SHAPE_ONLY: dict[str, tuple[tuple[int, ...], bool]] = {
    "expand_like": ((1,), False),
    "dim": ((0,), False),
    "unbroadcast": ((1,), True),
    "zeros_like": ((0,), True),
    "scatter_add_rows": ((1,), True),
    "fits": ((1,), False),
}

# ops whose output has their first input's shape
_FIRST_SHAPE = ("copy", "mask", "put", "put_add", "index_add", "slice_add", "fits")


def shape_only_inputs(op: Op) -> tuple[int, ...]:
    """Indices of the inputs op reads only for their shape."""
    entry = SHAPE_ONLY.get(op.prim)
    return entry[0] if entry else ()


def same_shape_input(op: Op) -> Value | None:
    """An input of op that provably has the shape of op's (single, array) output, or None."""
    if len(op.outputs) != 1 or op.regions:
        return None
    out = op.outputs[0]
    if out.type.ndim == 0:
        return None
    cand = None
    if op.prim in _FIRST_SHAPE:
        cand = op.inputs[0]
    elif op.prim == "unbroadcast":
        cand = op.inputs[1]
    elif op.prim == "expand_like":
        if op.inputs[0].type.ndim == 0:
            cand = op.inputs[1]
    elif op.prim in REGISTRY and _elementwise(op.prim):
        arrays = {id(x): x for x in op.inputs if x.type.ndim > 0}
        if len(arrays) == 1:
            cand = next(iter(arrays.values()))
    if cand is None or cand.type.ndim != out.type.ndim:
        return None
    return cand


def _elementwise(name: str) -> bool:
    from ..codegen.fuse import is_elementwise  # lazy: codegen imports the passes' users
    return is_elementwise(REGISTRY[name])


def shape_source(v: Value, producer: dict[Value, Op], same_dtype: bool) -> Value:
    """The earliest value with v's shape (and dtype, if asked) along same-shape ops."""
    best, seen = v, {v}
    while True:
        op = producer.get(v)
        if op is None:
            return best
        w = same_shape_input(op)
        if w is None or w in seen:
            return best
        seen.add(w)
        v = w
        if not same_dtype or w.type == best.type:
            best = w


def _shape_reads(fn: Function):
    """(op, input index, whether the op also takes that input's dtype) for every shape-only
    input of every op."""
    for op in fn.body.walk():
        entry = SHAPE_ONLY.get(op.prim)
        if entry is not None:
            idx, same_dtype = entry
            for k in idx:
                if k < len(op.inputs):
                    yield op, k, same_dtype


def _redirect(op: Op, k: int, src: Value) -> bool:
    """Make op's input k read src instead; whether that changed anything."""
    if src is op.inputs[k]:
        return False
    op.inputs = op.inputs[:k] + [src] + op.inputs[k + 1:]
    return True


def shape_root(v: Value, producer: dict[Value, Op], memo: dict[Value, Value]) -> Value:
    """The earliest value that provably has v's shape: through same-shape ops, and through
    elementwise ops whose array operands all have one shape root (``y + x * sin(y)``)."""
    got = memo.get(v)
    if got is not None:
        return got
    memo[v] = v
    op = producer.get(v)
    root = v
    if op is not None and v.type.ndim:
        w = same_shape_input(op)
        if op.prim == "expand_like" and op.inputs[1].type.ndim == v.type.ndim:
            w = op.inputs[1]  # broadcast to like's shape
        if w is not None:
            root = shape_root(w, producer, memo)
        elif len(op.outputs) == 1 and op.prim in REGISTRY and _elementwise(op.prim):
            roots = {shape_root(x, producer, memo) for x in op.inputs if x.type.ndim}
            if len(roots) == 1 and next(iter(roots)).type.ndim == v.type.ndim:
                root = roots.pop()
    memo[v] = root
    return root


def _drop_fits(fn: Function, producer: dict[Value, Op]) -> bool:
    """``fits v, like`` (the shape check of ``x op= v``) and ``expand_like v, like`` (a
    broadcast) go where v provably has like's shape (and, for a broadcast, its dtype)."""
    memo: dict[Value, Value] = {}
    vmap = {op.outputs[0]: op.inputs[0] for op in fn.body.walk()
            if (op.prim == "fits" or (op.prim == "expand_like" and
                                      op.inputs[0].type == op.outputs[0].type))
            and shape_root(op.inputs[0], producer, memo) is shape_root(op.inputs[1], producer,
                                                                        memo)}
    if vmap:
        substitute(fn.body, vmap)
    return bool(vmap)


def shape_operands(fn: Function) -> bool:
    producer = {o: op for op in fn.body.walk() for o in op.outputs}
    changed = _drop_fits(fn, producer)
    for op, k, same_dtype in list(_shape_reads(fn)):
        changed |= _redirect(op, k, shape_source(op.inputs[k], producer, same_dtype))
    return _stand_ins(fn, producer) or changed


def _stand_ins(fn: Function, producer: dict[Value, Op]) -> bool:
    """Elementwise results of several arrays read only for their shapes: the shape reads go to
    the one array they all come from, or to ``bcast_like`` of those arrays."""
    uses = Counter(fn.body.uses())
    reads = list(_shape_reads(fn))
    shape_reads = Counter(op.inputs[k] for op, k, _ in reads)
    dtype_read = {op.inputs[k] for op, k, same_dtype in reads if same_dtype}
    vmap: dict[Value, Value] = {}
    changed = _stand_ins_in(fn.body, uses, shape_reads, dtype_read, producer, vmap)
    for op, k, _ in reads:
        if op.inputs[k] in vmap:
            _redirect(op, k, vmap[op.inputs[k]])
    return changed


def _stand_ins_in(region: Region, uses: Counter, shape_reads: Counter, dtype_read: set[Value],
                  producer: dict[Value, Op], vmap: dict[Value, Value]) -> bool:
    from ..codegen.fuse import fusable
    changed = False
    new_ops: list[Op] = []
    for op in region.ops:
        for r in op.regions:
            changed |= _stand_ins_in(r, uses, shape_reads, dtype_read, producer, vmap)
        out = op.outputs[0] if len(op.outputs) == 1 else None
        if (out is None or op.regions or out.type.ndim == 0 or op.prim not in REGISTRY
                or not shape_reads[out] or shape_reads[out] != uses[out]
                or not _elementwise(op.prim)):
            new_ops.append(op)
            continue
        # where the array operands' shapes come from (through one-array elementwise chains)
        srcs = list({id(w): w for w in (shape_source(x, producer, False) for x in op.inputs
                                        if x.type.ndim > 0)}.values())
        if len(srcs) == 1 and srcs[0].type.ndim == out.type.ndim and (
                srcs[0].type.dtype == out.type.dtype or out not in dtype_read):
            vmap[out] = srcs[0]  # maximum(m, 0) + log1p(exp(-abs(m))): m's shape
            changed = True
            new_ops.append(op)  # dead now: DCE removes it
            continue
        # a view reading arrays a fused loop computes would cut that loop at the view
        if len(srcs) < 2 or any(w in producer and fusable(producer[w]) for w in srcs):
            new_ops.append(op)
            continue
        srcs.sort(key=lambda w: w.type.dtype != out.type.dtype)  # a view of one, if it can
        acc = srcs[0]
        for k, x in enumerate(srcs[1:], 1):
            res = out if k == len(srcs) - 1 else \
                Value(Type(out.type.dtype, max(acc.type.ndim, x.type.ndim)))
            new_ops.append(Op("bcast_like", [acc, x], [res], {
                "dtype": out.type.dtype, "ranks": (acc.type.ndim, x.type.ndim),
                "view": acc.type.dtype == out.type.dtype}, loc=op.loc))
            acc = res
        changed = True
    region.ops = new_ops
    return changed
