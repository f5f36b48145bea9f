"""Evaluates IR with NumPy.  The oracle for every other stage: the frontend is checked against
CPython, AD against finite differences, codegen against this interpreter."""
from __future__ import annotations

import numpy as np

from .core import Function, Op, Region


def interpret(fn: Function, *args):
    """Run ``fn`` on Python/NumPy values; returns the list of outputs."""
    env: dict[int, object] = {}
    stacks: dict[str, list] = {}
    with np.errstate(all="ignore"):
        return _region(fn.body, list(args), env, stacks)


def _scalar(v, type):
    return type.np_dtype(v) if type.ndim == 0 else v


def _region(r: Region, args, env, stacks):
    for p, a in zip(r.params, args):
        env[p.id] = a
    for op in r.ops:
        _op(op, env, stacks)
    return [env[y.id] for y in r.yields]


def _op(op: Op, env, stacks) -> None:
    from ..primitives import REGISTRY
    ins = [env[v.id] for v in op.inputs]
    if op.prim == "if":
        res = _region(op.regions[0 if ins[0] else 1], [], env, stacks)
    elif op.prim == "for":
        start, stop, step, *carry = ins
        for i in range(int(start), int(stop), int(step)):
            carry = _region(op.regions[0], [np.int64(i)] + carry, env, stacks)
        res = carry
    elif op.prim == "while":
        cond, body = op.regions
        carry = ins
        while _region(cond, carry, env, stacks)[0]:
            carry = _region(body, carry, env, stacks)
        res = carry
    elif op.prim == "push":
        stacks.setdefault(op.params["stack"], []).append(ins[0])
        res = []
    elif op.prim == "pop":
        res = [stacks[op.params["stack"]].pop()]
    elif op.prim == "reserve":
        res = []
    else:
        try:
            out = REGISTRY[op.prim].impl(*ins, **op.params)
        except (IndexError, ValueError) as e:
            _locate(e, op)
        res = [out] if len(op.outputs) == 1 else list(out)
    for o, v in zip(op.outputs, res):
        env[o.id] = _scalar(v, o.type)


def _locate(e: Exception, op: Op):
    """Re-raise NumPy's IndexError/ValueError of an op (an index out of range, shapes that do
    not broadcast) as the located srcad error that compiled code raises (codegen/checks.py)."""
    from ..errors import SrcadIndexError, SrcadValueError
    if type(e) not in (IndexError, ValueError) or op.loc is None:
        raise e
    cls = SrcadIndexError if isinstance(e, IndexError) else SrcadValueError
    raise cls(str(e), op.loc) from e
