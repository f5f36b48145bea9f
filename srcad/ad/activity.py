"""Activity analysis: which values vary with the inputs being differentiated.

Only float values can vary.  Outputs of non-differentiable primitives never vary.  Loop
carries are solved to a fixpoint (a carry varies if its initial value or its next value does).
Values that vary but do not reach an output never receive an adjoint, since adjoints flow
backwards from the outputs; so "varied" is the only set reverse mode needs.
"""
from __future__ import annotations

from ..ir.core import Function, Region, Value


def varied_values(fn: Function, wrt: list[Value]) -> set[Value]:
    varied: set[Value] = {v for v in wrt if v.type.is_float}
    _region(fn.body, varied)
    return varied


def _mark(v: Value, on: bool, varied: set[Value]) -> bool:
    if on and v.type.is_float and v not in varied:
        varied.add(v)
        return True
    return False


def _region(r: Region, varied: set[Value]) -> None:
    from ..primitives import REGISTRY
    for op in r.ops:
        if op.prim == "if":
            for reg in op.regions:
                _region(reg, varied)
            for k, o in enumerate(op.outputs):
                _mark(o, any(reg.yields[k] in varied for reg in op.regions), varied)
        elif op.prim in ("for", "while"):
            body = op.regions[-1]
            init = op.inputs[3:] if op.prim == "for" else op.inputs
            carries = body.params[1:] if op.prim == "for" else body.params
            for p, i in zip(carries, init):
                _mark(p, i in varied, varied)
            while True:
                _region(body, varied)
                if not any(_mark(p, y in varied, varied) for p, y in zip(carries, body.yields)):
                    break
            if op.prim == "while":
                for p, q in zip(op.regions[0].params, carries):
                    _mark(p, q in varied, varied)
                _region(op.regions[0], varied)
            for o, p in zip(op.outputs, carries):
                _mark(o, p in varied, varied)
        elif op.prim in ("push", "pop", "reserve"):
            continue
        else:
            prim = REGISTRY[op.prim]
            if prim.differentiable and any(x in varied for x in op.inputs):
                for o in op.outputs:
                    _mark(o, True, varied)
