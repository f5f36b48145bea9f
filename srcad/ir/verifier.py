"""Checks SSA scoping, types and region yields.  Run after every pass in tests."""
from __future__ import annotations

from .core import Function, Op, Region, Value
from .types import BOOL, I64


class VerifyError(AssertionError):
    pass


def verify(fn: Function) -> Function:
    Verifier().region(fn.body, set())
    return fn


def _types(vs) -> list:
    return [v.type for v in vs]


class Verifier:
    def __init__(self):
        self.defined: set[int] = set()

    def define(self, v: Value, scope: set[int]) -> None:
        if v.id in self.defined:
            raise VerifyError(f"{v!r} defined twice")
        self.defined.add(v.id)
        scope.add(v.id)

    def use(self, v: Value, scope: set[int], where) -> None:
        if v.id not in scope:
            raise VerifyError(f"{v!r} used out of scope in {where!r}")

    def region(self, r: Region, outer: set[int]) -> None:
        scope = set(outer)
        for p in r.params:
            self.define(p, scope)
        for op in r.ops:
            for v in op.inputs:
                self.use(v, scope, op)
            self.op(op, scope)
            for o in op.outputs:
                self.define(o, scope)
        for y in r.yields:
            self.use(y, scope, "yield")

    def expect(self, cond: bool, op: Op, msg: str) -> None:
        if not cond:
            raise VerifyError(f"{op.prim}: {msg} in {op!r}")

    def op(self, op: Op, scope: set[int]) -> None:
        from ..primitives import REGISTRY
        outs = _types(op.outputs)
        if op.prim == "if":
            self.expect(op.inputs[0].type == BOOL and len(op.regions) == 2, op, "bad if")
            for r in op.regions:
                self.expect(not r.params, op, "if regions take no params")
                self.region(r, scope)
                self.expect(_types(r.yields) == outs, op, f"yields {_types(r.yields)} != {outs}")
        elif op.prim == "for":
            start, stop, step, *init = op.inputs
            self.expect(all(v.type == I64 for v in (start, stop, step)), op, "range not i64")
            body = op.regions[0]
            self.expect(body.params[0].type == I64, op, "index not i64")
            self.expect(_types(body.params[1:]) == _types(init) == outs, op, "carry types")
            self.region(body, scope)
            self.expect(_types(body.yields) == outs, op, "body yields")
        elif op.prim == "while":
            cond, body = op.regions
            t = _types(op.inputs)
            self.expect(_types(cond.params) == t == _types(body.params) == outs, op, "carries")
            self.region(cond, scope)
            self.expect(_types(cond.yields) == [BOOL], op, "cond must yield one bool")
            self.region(body, scope)
            self.expect(_types(body.yields) == outs, op, "body yields")
        elif op.prim in ("push", "pop", "reserve"):
            self.expect("stack" in op.params, op, "no stack")
        else:
            prim = REGISTRY.get(op.prim)
            self.expect(prim is not None, op, "unknown primitive")
            self.expect(not op.regions, op, "primitive with regions")
            if op.prim == "const":
                return
            expected = prim.type_rule(_types(op.inputs), op.params)
            self.expect(expected == outs, op, f"type rule says {expected}, op has {outs}")
