"""Reverse mode: IR -> VJP IR (a primal sweep followed by an adjoint sweep, in one function).

Straight-line code: adjoints in reverse op order, accumulated by addition.

Regions (if branches, loop bodies) get adjoint regions: an ``if`` on the same predicate, a
``for`` running the iterations backwards (a ``while`` counts its iterations in the primal sweep
and is reversed as a ``for``).  An adjoint region needs some primal values of its region; for
each such value the planner (``_plan``) either

* recomputes it at the top of the adjoint region, when it is made by cheap ops (cost <= 1) from
  values that are available there, or
* tapes it: the primal region pushes it onto a typed stack at its end, the adjoint region pops
  it at its start.  Expensive results (sin, exp, pow...), loop carries and control-flow results
  are taped: this is Tapenade's "to be recorded" set with recomputation of cheap values.
  Sums of arrays are taped too: their result is smaller than the operand that recomputing
  them would read again.
* Matrix products are decided at run time: a shallow one (depth at most ``RECOMPUTE_DEPTH``)
  is recomputed from its recomputed operands, a deeper one taped; the tape holds an empty
  array in place of a shallow product.

Pushes sit at the very end of a region and pops at the very start of its adjoint, so nested
regions' tapes interleave correctly (LIFO).  ``for`` loops reserve their tape from the trip
count before they run; pushes in ``while`` loops grow the stack geometrically.

Checkpointing: a ``for`` loop marked for checkpointing is split into segments; the primal
sweep keeps only each segment's starting carries, and the adjoint sweep re-runs one segment at a
time with taping, then reverses it.  Tape memory is O(sqrt(n)) for n iterations.
"""
from __future__ import annotations

from ..errors import NotDifferentiableError
from ..ir.core import Builder, Function, Op, Region, Value, clone_op, substitute
from ..ir.types import I64
from ..primitives import REGISTRY
from ..primitives.arrays import Sparse
from ..primitives.registry import zero
from .activity import varied_values

_CONTROL = ("if", "for", "while")
RECOMPUTE_DEPTH = 16  # matrix products this deep or shallower are recomputed, not taped


def _bar_name(v: Value) -> str | None:
    return f"{v.name}.bar" if v.name else None


def _stack(t) -> str:
    """Scalars of a dtype share one flat stack; arrays go on a list per dtype and rank."""
    return t.dtype if t.ndim == 0 else f"{t.dtype}_{t.ndim}d"


class Reverse:
    def __init__(self, fn: Function, wrt: list[int], checkpoint_all=None):
        from ..ir.core import clone_function
        self.fn = clone_function(fn)
        self.wrt = wrt
        self.slots = 0
        self.owned: set[Value] = set()
        self.insert_before: dict[int, list[Op]] = {}
        _count_while_iterations(self.fn.body)
        _segment_checkpointed_loops(self.fn.body, checkpoint_all)
        # In-place writes: values whose buffer is overwritten later are "clobbered"; the
        # adjoint sweep restores them (see adjoint_put) instead of taping them.
        self.clobbered, self.pinned, self.saved = _prepare_writes(self.fn.body)
        self.cur: dict[Value, Value] = {}  # primal version -> its restored value
        # cotangents that are zero where a condition is False (from np.where): the rules of
        # pointwise primitives applied to them are masked too, so inf * 0 on the untaken side
        # never becomes NaN (an op that mixes positions ends the mask: see adjoint_prim)
        self.masks: dict[Value, Value] = {}
        self.varied = varied_values(self.fn, [self.fn.params[i] for i in wrt])
        # rows (and sub-arrays) read with integer indices: x[i] = getitem(x, i)
        self.rows = {op.outputs[0]: (op.inputs[0], list(op.inputs[1:]))
                     for op in self.fn.body.walk()
                     if op.prim == "getitem" and op.outputs[0].type.ndim > 0}

    # -- driver ------------------------------------------------------------------------------

    def function(self, seeds: list[Value | float | None] | None) -> Function:
        """Build the VJP function.  ``seeds``: None to take one cotangent parameter per output,
        else per output a constant seed (1.0 for grad) or None (no cotangent, e.g. aux)."""
        fn = self.fn
        adj_region = Region()
        b = Builder(adj_region)
        adj: dict[Value, Value] = {}
        ct_params = []
        for k, y in enumerate(fn.outputs):
            if seeds is None:
                ct = Value(y.type, f"{y.name or 'out'}.bar")
                ct_params.append(ct)
            elif seeds[k] is None:
                continue
            else:
                ct = b.const(seeds[k], y.type)
            if y.type.is_float:
                self.accumulate(b, adj, y, ct)
        self.adjoint_ops(fn.body.ops, b, adj)
        grads = []
        for i in self.wrt:
            p = fn.params[i]
            g = adj.get(p)
            if g is None:
                g = zero(b, self.now(p))
            grads.append(g)
        _apply_insertions(fn.body, self.insert_before)
        body = Region(fn.params + ct_params, fn.body.ops + adj_region.ops,
                      list(fn.outputs) + grads)
        arg_names = fn.arg_names + [f"{p.name}_bar" for p in ct_params]
        out = Function(fn.name + "_vjp", body, arg_names, fn.filename)
        out.adjoint_ops = {id(op) for op in adj_region.ops}
        return out

    def accumulate(self, b: Builder, adj: dict, v: Value, c) -> None:
        if v not in self.varied or c is None:
            return
        if isinstance(c, Sparse):
            self._accumulate_sparse(b, adj, v, c)
            return
        if c.name is None and not c.is_const:
            c.name = _bar_name(v)
        prev = adj.get(v)
        adj[v] = c if prev is None else b.add(prev, c, name=_bar_name(v))

    def _accumulate_sparse(self, b: Builder, adj: dict, v: Value, c: Sparse) -> None:
        """x[idx] contributions are added in place into an adjoint buffer this transform owns
        (a fresh zeros_like / copy that nothing else refers to).  A contribution to a row
        ``v = x[i]`` goes straight into x's buffer (``x_bar[i, a:b] += c``): no zero-filled
        buffer for the row that would only be added into x's afterwards."""
        row = self.rows.get(v)
        if row is not None and row[0] in self.varied:
            x, idx = row
            ints = ("i",) * len(idx)
            if c.kind == "index":
                c = Sparse("index", idx + c.index, c.value)
            elif c.kind == "slice":
                c = Sparse("spec", idx + c.index, c.value, ints + ("s",))
            else:
                c = Sparse("spec", idx + c.index, c.value, ints + tuple(c.spec))
            self._accumulate_sparse(b, adj, x, c)
            return
        prev = adj.get(v)
        if prev is None:
            base = b.zeros_like(self.now(v), name=_bar_name(v))
        elif prev in self.owned:
            base = prev
        else:
            base = b.copy(prev, name=_bar_name(v))
        if c.kind == "spec":
            new = b.emit("put_add", base, c.value, *c.index, spec=c.spec, name=_bar_name(v))
        else:
            prim = "index_add" if c.kind == "index" else "slice_add"
            new = b.emit(prim, base, *c.index, c.value, name=_bar_name(v))
        self.owned.add(new)
        adj[v] = new

    def take(self, adj: dict, outputs: list[Value]) -> list:
        """The final adjoints of ``outputs`` (they are handed to rules, so no longer owned)."""
        cts = [adj.pop(o, None) for o in outputs]
        self.owned.difference_update(c for c in cts if c is not None)
        return cts

    def now(self, v: Value) -> Value:
        """Primal value ``v`` as the adjoint sweep reads it here: its restored version when a
        later in-place write overwrote its buffer (see adjoint_put), else ``v`` itself.  Every
        primal read of the adjoint sweep goes through this, shape reads (zeros_like) too."""
        return self.cur.get(v, v)

    def own(self, b: Builder, v: Value) -> Value:
        """An unaliased version of array adjoint ``v`` (copied unless already owned)."""
        if v.type.ndim == 0 or v in self.owned:
            return v
        c = b.copy(v, name=v.name)
        self.owned.add(c)
        return c

    # -- adjoints ------------------------------------------------------------------------------

    def adjoint_ops(self, ops: list[Op], b: Builder, adj: dict) -> None:
        for op in reversed(ops):
            b.loc = op.loc
            if op.prim == "if":
                self.adjoint_if(op, b, adj)
            elif op.prim == "for":
                if op.params.get("recompute"):
                    self.adjoint_for_recompute(op, b, adj)
                else:
                    self.adjoint_loop(op, b, adj)
            elif op.prim == "while":
                self.adjoint_loop(op, b, adj)
            elif op.prim == "put":
                self.adjoint_put(op, b, adj)
            elif op.prim in ("push", "pop", "reserve"):
                raise NotDifferentiableError("reverse mode over a reverse-mode function is not "
                                             "supported yet", op.loc,
                                             "use forward-over-reverse (srcad.hessian, hvp)")
            else:
                self.adjoint_prim(op, b, adj)

    def adjoint_prim(self, op: Op, b: Builder, adj: dict) -> None:
        cts = self.take(adj, op.outputs)
        if all(c is None for c in cts):
            return
        active = [x in self.varied for x in op.inputs]
        if not any(active):
            return
        xs = [self.now(x) for x in op.inputs]
        outs = [self.now(o) for o in op.outputs]
        in_cts = REGISTRY[op.prim].vjp(b, xs, outs, cts, op.params, active)
        conds = [None] * len(in_cts)
        if op.prim == "select":  # the untaken side gets exact zeros, even from inf * 0
            conds = [None, xs[0], b.not_(xs[0])]
        elif len(cts) == 1 and cts[0] in self.masks and REGISTRY[op.prim].pointwise:
            # an input cotangent at a position depends only on the output cotangent at the
            # positions broadcast from it; where the mask (of the same shape, else _rt.mask
            # leaves it alone) is False, those are all zero
            conds = [self.masks[cts[0]]] * len(in_cts)
        for x, c, a, m in zip(op.inputs, in_cts, active, conds):
            if a and c is not None:
                if m is not None and not isinstance(c, Sparse) and c.type.ndim == m.type.ndim:
                    if op.prim != "select":
                        c = b.mask(c, m)
                    self.masks[c] = m
                self.accumulate(b, adj, x, c)

    def adjoint_put(self, op: Op, b: Builder, adj: dict) -> None:
        """``new = put(old, v, idx)``: cotangents as the registry rule says, then the write is
        undone (``old[idx] = saved``, saved before the write) so that the buffer holds ``old``
        again for the adjoints of earlier ops."""
        ct_owned = adj.get(op.outputs[0]) in self.owned
        cts = self.take(adj, op.outputs)
        new = self.now(op.outputs[0])
        xs = [self.now(x) for x in op.inputs]
        active = [x in self.varied for x in op.inputs]
        if cts[0] is not None and any(active):
            in_cts = REGISTRY["put"].vjp(b, xs, [new], cts, op.params, active)
            if ct_owned and in_cts[0] is not None:
                self.owned.add(in_cts[0])  # written in place into the owned buffer
            for x, c, a in zip(op.inputs, in_cts, active):
                if a and c is not None:
                    self.accumulate(b, adj, x, c)
        saved = self.saved[id(op)]
        self.cur[op.inputs[0]] = b.emit("put", new, saved, *xs[2:], name=op.inputs[0].name,
                                        **op.params)

    def adjoint_if(self, op: Op, b: Builder, adj: dict) -> None:
        cts = self.take(adj, op.outputs)
        # outer arrays a branch writes (none unless the function writes arrays in place)
        written = _written_outer(op, self.clobbered) if self.clobbered else []
        if all(c is None for c in cts) and not written:
            return
        branches = []
        cur0 = self.cur
        for r in op.regions:
            ar = Region()
            ab = Builder(ar, op.loc)
            local = _BranchAdjoints(r, adj, self.owned)
            self.cur = dict(cur0)
            for y, o in zip(r.yields, op.outputs):  # the buffer as the code after the if left it
                if o.type.ndim and y not in cur0:
                    self.cur[y] = cur0.get(o, o)
            for y, ct in zip(r.yields, cts):
                if ct is not None:
                    self.accumulate(ab, local, y, ct)
            self.adjoint_ops(r.ops, ab, local)
            restored = [self.now(v) for v in written]
            branches.append((r, ar, local, restored, self.cur))
        self.cur = cur0
        outer = list(dict.fromkeys(v for _, _, local, _, _ in branches for v in local))
        if not outer and not written:
            return
        for r, ar, local, restored, bcur in branches:
            ab = Builder(ar, op.loc)
            ar.yields = [local.get(v) or zero(ab, bcur.get(v, v)) for v in outer] + restored
            self._plan(r, ar, {})
        outs = [Value(v.type, _bar_name(v)) for v in outer]
        bufs = [Value(v.type, v.name) for v in written]
        b.append(Op("if", [op.inputs[0]], outs + bufs, {}, [ar for _, ar, _, _, _ in branches],
                    op.loc))
        threaded = set().union(*(local.threaded for _, _, local, _, _ in branches))
        for v, o in zip(outer, outs):
            if v in threaded:  # the branches updated v's adjoint buffer: this is it now
                adj[v] = o
                self.owned.add(o)
            else:
                self.accumulate(b, adj, v, o)
        for v, o in zip(written, bufs):
            self.cur[v] = o

    def _adjoint_body(self, op: Op, cts: list, bufs: list[int]):
        """Adjoint region of a loop body.  Returns (region, varied carry slots, outer values
        whose adjoints it accumulates, the adjoint loop index).  ``bufs``: carries the body
        writes in place; the adjoint loop carries their buffers back, restoring each
        iteration's writes."""
        is_for = op.prim == "for"
        body = op.regions[-1]
        carries = body.params[1:] if is_for else body.params
        slots = [k for k, p in enumerate(carries) if p in self.varied]
        ar = Region()
        ab = Builder(ar, op.loc)
        k = Value(I64, "k")
        cbar = [Value(carries[j].type, _bar_name(carries[j])) for j in slots]
        self.owned.update(c for c in cbar if c.type.ndim)  # adjoint_loop owns their inits
        hb = [Value(carries[j].type, carries[j].name) for j in bufs]
        cur0 = self.cur
        self.cur = dict(cur0)
        for j, h in zip(bufs, hb):
            self.cur[body.yields[j]] = h
        local = _ThreadedAdjoints(body.defined(), self.owned)
        for j, cb in zip(slots, cbar):
            self.accumulate(ab, local, body.yields[j], cb)
        self.adjoint_ops(body.ops, ab, local)
        new_cbar = [local.pop(carries[j], None) or zero(ab, cb) for j, cb in zip(slots, cbar)]
        restored = []
        for j in bufs:
            if carries[j] not in self.cur:
                raise NotDifferentiableError(
                    f"internal: the in-place writes to '{carries[j].name}' in this loop could "
                    "not be undone in reverse mode", op.loc, "please report this")
            restored.append(self.cur[carries[j]])
        self.cur = cur0
        outer = list(local.params)
        ar.yields = new_cbar + [local[v] for v in outer] + restored
        ar.params = [k] + cbar + [local.params[v] for v in outer] + hb
        return ar, slots, outer, k

    def adjoint_loop(self, op: Op, b: Builder, adj: dict, emit_primal: Op | None = None) -> None:
        cts = self.take(adj, op.outputs)
        is_for = op.prim == "for"
        body = op.regions[-1]
        init = op.inputs[3:] if is_for else op.inputs
        carries = body.params[1:] if is_for else body.params
        bufs = [j for j, p in enumerate(carries) if p in self.clobbered and p.type.ndim]
        if all(c is None for c in cts) and not bufs:
            return
        ar, slots, outer, k = self._adjoint_body(op, cts, bufs)
        if is_for:
            start, _, step = op.inputs[:3]
            index_map = {body.params[0]: (start, step)}
        else:
            index_map = {}
        self._plan(body, ar, index_map, k)
        b.loc = op.loc
        if is_for:
            trip = b.trip_count(op.inputs[0], op.inputs[1], op.inputs[2], name="n")
            reserve = self._reserve(op, body, trip)
            if emit_primal is not None:
                for r_op in reserve:
                    b.append(r_op)
            else:
                self.insert_before.setdefault(id(op), []).extend(reserve)
        else:
            trip = op.outputs[-1]  # iteration counter added by _count_while_iterations
        if emit_primal is not None:
            b.append(emit_primal)
        last = b.sub(trip, b.const(1))
        cinit = [self.own(b, cts[j]) if cts[j] is not None else zero(b, self.now(op.outputs[j]))
                 for j in slots]
        # Outer adjoints are threaded through the loop (not summed afterwards), so the order of
        # additions, and so the result, is the same however the loop is segmented.
        ainit = []
        for v in outer:
            a = adj.pop(v, None)
            ainit.append(b.const(0.0, v.type) if a is None and v.type.ndim == 0 else
                         b.zeros_like(self.now(v), name=_bar_name(v)) if a is None else
                         self.own(b, a))
        self.owned.update(a for a in ainit if a.type.ndim)
        binit = [self.now(op.outputs[j]) for j in bufs]
        bouts = [Value(carries[j].type, init[j].name) for j in bufs]
        outs = [Value(carries[j].type, _bar_name(init[j]) if init[j].name else None)
                for j in slots] + [Value(v.type, _bar_name(v)) for v in outer]
        b.append(Op("for", [last, b.const(-1), b.const(-1)] + cinit + ainit + binit,
                    outs + bouts, {"adjoint": True}, [ar], op.loc))
        for j, o in zip(bufs, bouts):
            self.cur[init[j]] = o
        for v, o in zip(outer, outs[len(slots):]):
            adj[v] = o  # threaded: already includes the adjoint v had before the loop
            if o.type.ndim:
                self.owned.add(o)  # the loop updated the owned buffer it was given
        for j, o in zip(slots, outs):
            self.accumulate(b, adj, init[j], o)

    def adjoint_for_recompute(self, op: Op, b: Builder, adj: dict) -> None:
        """A loop whose primal run kept no tape: re-run it with taping, then reverse it.

        In-place writes: the re-run starts from the segment's starting carries, which the
        outer loop tapes (a buffer the segment writes is copied before the write by
        passes/inplace.py: the snapshot of each checkpoint); the re-run's writes are undone
        like any loop's, with the clone's own saved values."""
        vmap: dict[Value, Value] = {}
        rerun = clone_op(op, vmap)
        rerun.params = {k: v for k, v in op.params.items() if k != "recompute"}
        for o, n in zip(op.outputs, rerun.outputs):
            if o in adj:
                adj[n] = adj.pop(o)
        for old, new in vmap.items():
            for facts in (self.varied, self.clobbered, self.pinned):
                if old in facts:
                    facts.add(new)
            if old in self.rows:
                x, idx = self.rows[old]
                self.rows[new] = (vmap.get(x, x), [vmap.get(i, i) for i in idx])
        for old_op, new_op in zip(_walk_op(op), _walk_op(rerun)):
            if id(old_op) in self.saved:
                self.saved[id(new_op)] = vmap[self.saved[id(old_op)]]
        self.adjoint_loop(rerun, b, adj, emit_primal=rerun)

    # -- taping ----------------------------------------------------------------------------

    def _plan(self, r: Region, ar: Region, index_map: dict, k: Value | None = None) -> None:
        """Make the primal values of region ``r`` that adjoint region ``ar`` uses available in
        ``ar``: recompute cheap ones, tape the rest."""
        defined = r.defined()
        needed = [v for v in dict.fromkeys(ar.uses()) if v in defined]
        if not needed:
            return
        needed_set = set(needed)
        producer = {o: op for op in r.ops for o in op.outputs}
        pro = Region()
        pb = Builder(pro)
        vmap: dict[Value, Value] = {}
        taped: list[Value] = []

        def resolve(v: Value) -> Value:
            if v in vmap or v not in defined:
                return vmap.get(v, v)
            if v in index_map:  # loop index: recomputed from the adjoint loop's counter
                start, step = index_map[v]
                pb.loc = None
                vmap[v] = pb.add(start, pb.mul(k, step), name=v.name)
                return vmap[v]
            op = producer.get(v)
            if op is not None and op.prim == "const":
                c = pb.const(v.const, v.type)
                vmap[v] = c
                return c
            pinned = any(x in self.pinned for x in op.inputs) if op is not None else False
            if (op is not None and op.prim == "dot" and v.type.ndim == 2 and not pinned
                    and all(x in needed_set or x not in defined for x in op.inputs)):
                # the operands are there anyway (the product's own adjoint reads them), so a
                # deep product costs no more tape than before
                return shallow_product(v, op)
            # pinned: reads a buffer written later.  A clobbered value itself (one the
            # adjoint reads raw, not restored through self.cur) is taped: push records its
            # value, and passes/inplace.py copies the buffer before any later write into it.
            if (op is None or op.prim in _CONTROL or REGISTRY[op.prim].cost > 1 or
                    _reduces(op) or pinned or v in self.clobbered):
                new = Value(v.type, v.name)
                vmap[v] = new
                taped.append(v)
                return new
            ins = [resolve(x) for x in op.inputs]
            pb.loc = op.loc
            outs = [Value(o.type, o.name) for o in op.outputs]
            pb.append(Op(op.prim, ins, outs, op.params, (), op.loc))
            for o, n in zip(op.outputs, outs):
                vmap[o] = n
            return vmap[v]

        def shallow_product(v: Value, op: Op) -> Value:
            """A matrix product: taped when its depth (a.shape[1]) exceeds RECOMPUTE_DEPTH,
            else recomputed, decided at run time.  A shallow product costs 2*depth flops per
            element to recompute, less than its tape's trip through memory (write, then read
            back cold): measured on the GMM gradient, its primal sweep took 4.5 ms with the
            (10000, 10) products of 25 iterations taped and 2.5 ms without (the primal: 2.2
            ms).  A shallow product's tape is an empty array."""
            rb = Builder(r)
            rb.loc = op.loc
            deep = rb.gt(rb.dim(op.inputs[0], axis=1), rb.const(RECOMPUTE_DEPTH))
            kept = [Region(), Region()]
            kb = Builder(kept[1])
            empty = kb.zeros(kb.const(0), kb.const(0), dtype=v.type.dtype)
            kept[0].yields, kept[1].yields = [v], [empty]
            tv = Value(v.type, v.name)
            r.ops.append(Op("if", [deep], [tv], {}, kept, op.loc))
            popped = Value(v.type, v.name)
            push_value[popped] = tv
            vmap[v] = popped  # placeholder while the inputs resolve (a product never feeds itself)
            taped.append(popped)
            ins = [resolve(x) for x in op.inputs]
            pb.loc = op.loc
            again = pb.gt(pb.dim(ins[0], axis=1), pb.const(RECOMPUTE_DEPTH))
            branches = [Region(), Region()]
            branches[0].yields = [popped]
            out = Value(v.type, v.name)
            branches[1].ops.append(Op(op.prim, ins, [out], op.params, (), op.loc))
            branches[1].yields = [out]
            res = Value(v.type, v.name)
            # marked: the result is the product of these operands either way (passes/algebra
            # may reassociate the adjoint's products so that it is never needed)
            pb.append(Op("if", [again], [res], {"recompute": "dot"}, branches, op.loc))
            vmap[v] = res
            return res

        push_value: dict[Value, Value] = {}
        for v in needed:
            resolve(v)
        pushed = []
        for v in taped:
            self.slots += 1
            r.ops.append(Op("push", [push_value.get(v, v)], [],
                            {"stack": _stack(v.type), "slot": self.slots}))
            pushed.append((v, self.slots))
        pop_ops = [Op("pop", [], [v if v in push_value else vmap[v]],
                      {"stack": _stack(v.type), "slot": slot}) for v, slot in reversed(pushed)]
        substitute(ar, vmap)
        ar.ops = pop_ops + pro.ops + ar.ops

    @staticmethod
    def _reserve(op: Op, body: Region, trip: Value) -> list[Op]:
        """Ops that reserve tape for trip * (pushes per iteration) before a for loop, when
        that count is static (no nested region pushes)."""
        counts: dict[str, int] = {}
        for o in body.ops:
            if o.prim == "push" and o.inputs[0].type.ndim == 0:
                counts[o.params["stack"]] = counts.get(o.params["stack"], 0) + 1
            elif o.regions and any(x.prim == "push" for reg in o.regions for x in reg.walk()):
                return []
        for o in body.ops:
            if o.prim == "push" and o.params["stack"] in counts:  # reserved: no growth check
                o.params["checked"] = False
        return [Op("reserve", [trip], [], {"stack": stack, "per_iter": n}, (), op.loc)
                for stack, n in counts.items()]


def _walk_op(op: Op):
    """op and every op nested in its regions, in program order."""
    yield op
    for r in op.regions:
        yield from r.walk()


def _reduces(op: Op) -> bool:
    """A sum of an array: recomputing it reads its whole operand again (an (n, d) array for an
    (n,) result), while its result is smaller than the operand, so it is taped instead."""
    return op.prim == "sum" and op.inputs[0].type.ndim > 0


class _ThreadedAdjoints(dict):
    """Adjoints inside a loop body.  The adjoint of a value from outside the loop is a carry of
    the adjoint loop: its parameter is created the first time the body touches it, and every
    contribution is added to it directly (so the sums associate the same way however loops are
    nested or segmented: checkpointing gives bit-identical gradients)."""

    def __init__(self, defined: set[Value], owned: set[Value]):
        super().__init__()
        self.defined = defined
        self.owned = owned  # array params are owned: their initial values are made unaliased
        self.params: dict[Value, Value] = {}

    def _outer(self, v: Value) -> None:
        if v not in self.defined and v not in self.params and not dict.__contains__(self, v):
            p = Value(v.type, _bar_name(v))
            self.params[v] = p
            self[v] = p
            if v.type.ndim:
                self.owned.add(p)

    def get(self, v, default=None):
        self._outer(v)
        return dict.get(self, v, default)

    def pop(self, v, default=None):
        if v not in self.defined:  # outer adjoints stay carried: hand out the current value
            self._outer(v)
            return dict.get(self, v, default)
        return dict.pop(self, v, default)


class _BranchAdjoints(dict):
    """Adjoints inside a branch of an adjoint ``if``.  An array from outside the ``if`` whose
    adjoint is already a buffer this transform owns is updated in that buffer (threaded
    through the branch, yielded by it), so a branch that adds ``x_bar[i] += c`` costs O(1),
    not a zero array of x's shape added after the ``if`` (quadratic in a loop)."""

    def __init__(self, region: Region, outer: dict, owned: set[Value]):
        super().__init__()
        self.defined = {o for op in region.walk() for o in op.outputs} | {
            p for op in region.walk() for reg in op.regions for p in reg.params}
        self.outer = outer
        self.owned = owned
        self.threaded: set[Value] = set()

    def _seed(self, v) -> None:
        if (v.type.ndim and v not in self.defined and v not in self.threaded
                and not dict.__contains__(self, v) and self.outer.get(v) in self.owned):
            self[v] = self.outer[v]
            self.threaded.add(v)

    def get(self, v, default=None):
        self._seed(v)
        return dict.get(self, v, default)

    def pop(self, v, default=None):  # e.g. a loop in the branch threading v's adjoint
        self._seed(v)
        return dict.pop(self, v, default)


def _written_outer(op: Op, clobbered: set[Value]) -> list[Value]:
    """Arrays defined outside ``if`` op that its branches overwrite in place."""
    out: dict[Value, None] = {}
    for r in op.regions:
        inside = set()
        for o in r.walk():
            inside.update(o.outputs)
            for reg in o.regions:
                inside.update(reg.params)
        for o in r.walk():
            if o.prim == "put" or o.prim in ("for", "while"):
                for x in o.inputs:
                    if x in clobbered and x not in inside:
                        out[x] = None
    return list(out)


def _prepare_writes(body: Region):
    """For in-place writes (``put``): the clobbered values (versions whose buffer is written
    later), the pinned ones (clobbered, or views into them), and per put the value it
    overwrites, read just before the write.  Views into clobbered buffers are copied where
    they are made, so that nothing refers to memory that changes under it."""
    from ..passes.inplace import is_view
    puts = [op for op in body.walk() if op.prim == "put"]
    if not puts:
        return set(), set(), {}
    clobbered = {op.inputs[0] for op in puts}
    changed = True
    while changed:
        changed = False
        for op in body.walk():
            if op.prim == "if":  # a branch's own array that the if yields is its result's buffer
                for r in op.regions:
                    mine = r.defined()
                    for y, o in zip(r.yields, op.outputs):
                        if o in clobbered and y in mine and y not in clobbered:
                            clobbered.add(y)
                            changed = True
            if op.prim not in ("for", "while"):
                continue
            is_for = op.prim == "for"
            reg = op.regions[-1]
            carries = reg.params[1:] if is_for else reg.params
            init = op.inputs[3:] if is_for else op.inputs
            for j, p in enumerate(carries):
                if p in clobbered:
                    for v in (init[j], reg.yields[j]):
                        if v not in clobbered:
                            clobbered.add(v)
                            changed = True
    pinned = set(clobbered)
    saved: dict[int, Value] = {}
    vmap: dict[Value, Value] = {}

    def rewrite(r: Region) -> None:
        out = Region()
        for op in r.ops:
            op.inputs = [vmap.get(x, x) for x in op.inputs]
            for reg in op.regions:
                rewrite(reg)
            b = Builder(out, op.loc)
            if op.prim == "put":
                old, _, *idx = op.inputs
                spec = op.params["spec"]
                v = (b.getitem(old, *idx, name="saved") if all(c == "i" for c in spec) else
                     b.take(old, *idx, spec=spec, name="saved"))
                if v.type.ndim:  # a view into the buffer about to be written: its copy is
                    pinned.add(v)  # what _plan tapes, never the view
                    v = b.copy(v, name="saved")
                saved[id(op)] = v
            out.ops.append(op)
            if is_view(op) and op.inputs[0] in pinned:
                pinned.add(op.outputs[0])
                c = b.copy(op.outputs[0], name=op.outputs[0].name)
                vmap[op.outputs[0]] = c
        r.ops = out.ops
        r.yields = [vmap.get(y, y) for y in r.yields]

    rewrite(body)
    return clobbered, pinned, saved


def _apply_insertions(r: Region, ins: dict[int, list[Op]]) -> None:
    """Insert the reserve ops, which need the trip count: it is computed next to the loop."""
    if not ins:
        return
    out = Region()
    new_ops = out.ops
    for op in r.ops:
        extra = ins.get(id(op))
        if extra:
            b = Builder(out, op.loc)
            trip = b.trip_count(*op.inputs[:3], name="n")
            for e in extra:
                e.inputs = [trip]
                new_ops.append(e)
        new_ops.append(op)
        for reg in op.regions:
            _apply_insertions(reg, ins)
    r.ops = new_ops


def _count_while_iterations(r: Region) -> None:
    """Give every while loop an iteration counter (its last carry and output)."""
    for op in r.ops:
        for reg in op.regions:
            _count_while_iterations(reg)
    out = Region()
    new_ops = out.ops
    for op in r.ops:
        if op.prim == "while":
            b = Builder(out, op.loc)
            zero = b.const(0)
            cond, body = op.regions
            cond.params.append(Value(I64, "count"))
            cnt = Value(I64, "count")
            body.params.append(cnt)
            body.yields.append(Builder(body, op.loc).add(cnt, Builder(body).const(1),
                                                         name="count"))
            op.inputs.append(zero)
            op.outputs.append(Value(I64, "count"))
        new_ops.append(op)
    r.ops = new_ops


def _segment_checkpointed_loops(r: Region, checkpoint_all) -> None:
    """Rewrite checkpointed for loops into an outer loop over segments whose inner loop is
    re-run in the adjoint sweep (``recompute``).  ``checkpoint_all``: None, or a segment
    length (0 = sqrt of the trip count) applied to every top-level for loop."""
    out = Region()
    new_ops = out.ops
    for op in r.ops:
        every = op.params.get("checkpoint") if op.prim == "for" else None
        if every is None and op.prim == "for" and checkpoint_all is not None:
            every = checkpoint_all
        if every is None:
            new_ops.append(op)
            continue
        b = Builder(out, op.loc)
        start, stop, step, *init = op.inputs
        trip = b.trip_count(start, stop, step, name="n")
        if every:
            seg = b.const(int(every))
        else:  # about sqrt(n), at least 1
            seg = b.maximum(b.convert(b.sqrt(b.convert(trip, to="f64")), to="i64"),
                            b.const(1), name="seg")
        nseg = b.floordiv(b.add(trip, b.sub(seg, b.const(1))), seg, name="nseg")
        body = op.regions[0]
        # inner loop: j over the segment; the user's index is start + j * step
        j = Value(I64, "j")
        ib = Region()
        bb = Builder(ib, op.loc)
        idx = bb.add(start, bb.mul(j, step), name=body.params[0].name)
        vm = {body.params[0]: idx}
        substitute(body, vm)
        ib.ops = ib.ops + body.ops
        ib.params = [j] + body.params[1:]
        ib.yields = body.yields
        # outer loop over segments
        s = Value(I64, "seg_i")
        oc = [Value(p.type, p.name) for p in body.params[1:]]
        ob = Region([s] + oc)
        obb = Builder(ob, op.loc)
        lo = obb.mul(s, seg, name="lo")
        hi = obb.minimum(obb.add(lo, seg), trip, name="hi")
        inner_outs = [Value(o.type, o.name) for o in op.outputs]
        obb.append(Op("for", [lo, hi, b.const(1)] + oc, inner_outs, {"recompute": True}, [ib],
                      op.loc))
        ob.yields = inner_outs
        new_ops.append(Op("for", [b.const(0), nseg, b.const(1)] + init, op.outputs, {}, [ob],
                          op.loc))
    r.ops = new_ops
    for op in r.ops:
        for reg in op.regions:
            if op.params.get("recompute"):
                continue
            _segment_checkpointed_loops(reg, None)


def vjp_function(fn: Function, wrt: list[int], seeds=None, checkpoint=None) -> Function:
    """Reverse-mode derivative: see ``Reverse.function``."""
    return Reverse(fn, wrt, checkpoint).function(seeds)
