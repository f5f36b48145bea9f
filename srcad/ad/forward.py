"""Forward mode: IR -> JVP IR.

The JVP function takes the primal arguments followed by one tangent per differentiated
argument and returns the primal outputs followed by one tangent per output.  Tangents are
symbolic zeros (None) until something varied touches them; control flow carries tangents
only for the slots that need them.
"""
from __future__ import annotations

from ..ir.core import Builder, Function, Op, Region, Value
from ..primitives import REGISTRY
from ..primitives.registry import zero


def _dot_name(v: Value) -> str | None:
    return f"{v.name}.dot" if v.name else None


class Forward:
    def __init__(self):
        self.pushed_tangent: set[int] = set()  # tape slots whose push also pushed a tangent

    def function(self, fn: Function, wrt: list[int]) -> Function:
        body = Region()
        vmap: dict[Value, Value] = {}
        tmap: dict[Value, Value] = {}
        for p in fn.params:
            vmap[p] = Value(p.type, p.name)
        tparams = []
        for i in wrt:
            p = fn.params[i]
            t = Value(p.type, _dot_name(p))
            tmap[p] = t
            tparams.append(t)
        body.params = [vmap[p] for p in fn.params] + tparams
        b = Builder(body)
        self.region_ops(fn.body, b, vmap, tmap)
        outs = [vmap.get(y, y) for y in fn.outputs]
        touts = [tmap.get(y) or zero(b, vmap.get(y, y)) for y in fn.outputs]
        body.yields = outs + touts
        new = Function(fn.name + "_jvp", body, fn.arg_names + [fn.arg_names[i] + "_dot"
                                                               for i in wrt], fn.filename)
        return new

    def region_ops(self, r: Region, b: Builder, vmap, tmap) -> None:
        for op in r.ops:
            b.loc = op.loc
            if op.prim == "if":
                self.if_op(op, b, vmap, tmap)
            elif op.prim in ("for", "while"):
                self.loop_op(op, b, vmap, tmap)
            else:
                self.simple_op(op, b, vmap, tmap)

    def simple_op(self, op: Op, b: Builder, vmap, tmap) -> None:
        ins = [vmap.get(x, x) for x in op.inputs]
        outs = [Value(o.type, o.name) for o in op.outputs]
        for o, n in zip(op.outputs, outs):
            n.const = o.const
            vmap[o] = n
        new = b.append(Op(op.prim, ins, outs, op.params, (), op.loc))
        ts = [tmap.get(x) for x in op.inputs]
        if op.prim == "push":
            if ts[0] is not None:
                self.pushed_tangent.add(op.params["slot"])
                # the reserved capacity counted values only: check both pushes
                new.params = dict(op.params, checked=True)
                b.append(Op("push", [ts[0]], [], new.params, (), op.loc))
            return
        if op.prim == "pop":
            if op.params["slot"] in self.pushed_tangent:
                # the tangent was pushed after the value, so it comes off first
                t = Value(outs[0].type, _dot_name(outs[0]))
                b.region.ops.insert(len(b.region.ops) - 1, Op("pop", [], [t], op.params, (),
                                                               op.loc))
                tmap[op.outputs[0]] = t
            return
        if op.prim == "reserve" or all(t is None for t in ts):
            return
        touts = REGISTRY[op.prim].jvp(b, ins, outs, ts, op.params)
        for o, t in zip(op.outputs, touts):
            if t is not None and o.type.is_float:
                if t.name is None and not t.is_const:
                    t.name = _dot_name(o)
                tmap[o] = t

    def if_op(self, op: Op, b: Builder, vmap, tmap) -> None:
        regions, rmaps = [], []
        for r in op.regions:
            nr = Region()
            vm, tm = dict(vmap), dict(tmap)
            self.region_ops(r, Builder(nr, op.loc), vm, tm)
            regions.append(nr)
            rmaps.append((vm, tm))
        slots = [k for k, o in enumerate(op.outputs) if o.type.is_float and
                 any(r.yields[k] in tm for r, (_, tm) in zip(op.regions, rmaps))]
        for r, nr, (vm, tm) in zip(op.regions, regions, rmaps):
            nb = Builder(nr, op.loc)
            nr.yields = [vm.get(y, y) for y in r.yields] + [
                tm.get(r.yields[k]) or zero(nb, vm.get(r.yields[k], r.yields[k])) for k in slots]
        outs = [Value(o.type, o.name) for o in op.outputs]
        touts = [Value(op.outputs[k].type, _dot_name(op.outputs[k])) for k in slots]
        b.append(Op("if", [vmap.get(op.inputs[0], op.inputs[0])], outs + touts, op.params,
                    regions, op.loc))
        for o, n in zip(op.outputs, outs):
            vmap[o] = n
        for k, t in zip(slots, touts):
            tmap[op.outputs[k]] = t

    def loop_op(self, op: Op, b: Builder, vmap, tmap) -> None:
        is_for = op.prim == "for"
        body = op.regions[-1]
        head = op.inputs[:3] if is_for else []
        init = op.inputs[3:] if is_for else op.inputs
        carries = body.params[1:] if is_for else body.params
        slots = [k for k, v in enumerate(init) if v in tmap]
        while True:
            nb_region = Region()
            vm, tm = dict(vmap), dict(tmap)
            params = [Value(p.type, p.name) for p in body.params]
            for p, q in zip(body.params, params):
                vm[p] = q
            tparams = [Value(carries[k].type, _dot_name(carries[k])) for k in slots]
            for k, t in zip(slots, tparams):
                tm[carries[k]] = t
            self.region_ops(body, Builder(nb_region, op.loc), vm, tm)
            grown = [k for k, y in enumerate(body.yields)
                     if y in tm and k not in slots and carries[k].type.is_float]
            if not grown:
                break
            slots = sorted(set(slots) | set(grown))
        nbb = Builder(nb_region, op.loc)
        nb_region.params = params + tparams
        nb_region.yields = [vm.get(y, y) for y in body.yields] + [
            tm.get(body.yields[k]) or zero(nbb, vm.get(body.yields[k], body.yields[k]))
            for k in slots]
        regions = [nb_region]
        if not is_for:
            cond = op.regions[0]
            cr = Region()
            cvm = dict(vmap)
            cparams = [Value(p.type, p.name) for p in cond.params]
            for p, q in zip(cond.params, cparams):
                cvm[p] = q
            self.region_ops(cond, Builder(cr, op.loc), cvm, dict(tmap))
            cr.params = cparams + [Value(t.type, t.name) for t in tparams]
            cr.yields = [cvm.get(y, y) for y in cond.yields]
            regions = [cr, nb_region]
        tinit = [tmap.get(init[k]) or zero(b, vmap.get(init[k], init[k])) for k in slots]
        outs = [Value(o.type, o.name) for o in op.outputs]
        touts = [Value(op.outputs[k].type, _dot_name(op.outputs[k])) for k in slots]
        b.append(Op(op.prim, [vmap.get(x, x) for x in head + init] + tinit, outs + touts,
                    op.params, regions, op.loc))
        for o, n in zip(op.outputs, outs):
            vmap[o] = n
        for k, t in zip(slots, touts):
            tmap[op.outputs[k]] = t


def jvp_function(fn: Function, wrt: list[int]) -> Function:
    """Forward-mode derivative of ``fn`` with respect to the arguments at positions ``wrt``."""
    return Forward().function(fn, wrt)
