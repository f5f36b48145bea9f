"""IR -> readable Python source for Numba.

One statement per op, user-derived names (``x1_bar``, ``v_dot``), and a comment naming the
source line each group of statements comes from.  Templates come from the primitive registry
per backend (``cpu`` / ``cuda``); structured control flow becomes Python ``if``/``for``/
``while``; tapes become preallocated typed arrays with a stack pointer.
"""
from __future__ import annotations

from ..ir.core import Function, Op, Region, Value
from ..ir.naming import Namer
from ..primitives import REGISTRY
from ..primitives.scalar import literal

_NP_DTYPE = {"f64": "np.float64", "f32": "np.float32", "i64": "np.int64", "bool": "np.bool_"}
_RESERVED = {"math", "np", "numba", "_rt", "True", "False", "None", "and", "or", "not", "if",
             "else", "for", "while", "in", "is", "def", "return", "lambda", "range", "float",
             "int", "bool", "abs", "min", "max", "len", "pass", "break", "continue", "class",
             "from", "import", "global", "with", "as", "try", "except", "finally", "raise",
             "yield", "del", "assert", "async", "await", "nonlocal", "elif"}


def _stacks(r: Region, acc: set[str]) -> set[str]:
    for op in r.walk():
        if op.prim in ("push", "pop", "reserve"):
            acc.add(op.params["stack"])
    return acc


class PySource:
    def __init__(self, fn: Function, backend: str = "cpu"):
        self.fn = fn
        self.backend = backend
        self.namer = Namer("_")
        for w in _RESERVED:
            self.namer.reserve(w)
        self.lines: list[str] = []
        self.last_line: int | None = None
        self.adjoint = False

    # -- names -------------------------------------------------------------------------------

    def v(self, v: Value) -> str:
        if v.is_const:
            text = literal(v.const)
            if v.type.dtype == "f32":
                return f"np.float32({text})"
            return f"({text})" if text.startswith("-") else text
        return self.namer(v)

    def w(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def comment(self, indent: int, op: Op) -> None:
        loc = op.loc
        if loc is None or loc.line == self.last_line:
            return
        self.last_line = loc.line
        what = "adjoint of line" if self.adjoint else "line"
        self.w(indent, f"# {what} {loc.line}: {loc.text.strip()}")

    # -- function ----------------------------------------------------------------------------

    def function(self, name: str, out_struct, decorator: str, report_tape: bool = False,
                 adjoint_from: int | None = None) -> str:
        fn = self.fn
        for p in fn.params:
            self.namer(p)
        args = ", ".join(self.v(p) for p in fn.params)
        self.w(0, decorator)
        self.w(0, f"def {name}({args}):")
        stacks = sorted(_stacks(fn.body, set()))
        for s in stacks:
            if s in _NP_DTYPE:
                self.w(1, f"tape_{s} = np.empty(_rt.TAPE_INIT, {_NP_DTYPE[s]})")
                self.w(1, f"sp_{s} = 0")
            else:  # a list of arrays ("f64_2d")
                self.w(1, f"tape_{s} = List.empty_list(_rt.T_{s})")
        stacks = [s for s in stacks if s in _NP_DTYPE]
        for k, op in enumerate(fn.body.ops):
            if adjoint_from is not None and k == adjoint_from:
                self.adjoint = True
                self.last_line = None
            self.op(op, 1)
        ret = self.structure(out_struct, fn.outputs)
        if report_tape:
            sizes = " + ".join(f"tape_{s}.size * tape_{s}.itemsize" for s in stacks) or "0"
            ret = f"{ret}, {sizes}"
        self.w(1, f"return {ret}")
        return "\n".join(self.lines) + "\n"

    def structure(self, s, outs: list[Value]) -> str:
        if s is None:
            return "None"
        if isinstance(s, int):
            return self.v(outs[s])
        inner = ", ".join(self.structure(x, outs) for x in s)
        return f"({inner},)" if len(s) == 1 else f"({inner})"

    # -- ops ---------------------------------------------------------------------------------

    def region(self, r: Region, indent: int) -> None:
        if not r.ops:
            return
        for op in r.ops:
            self.op(op, indent)

    def assign(self, indent: int, targets: list[Value], values: list[Value]) -> None:
        pairs = [(self.v(t), self.v(v)) for t, v in zip(targets, values)]
        pairs = [(t, v) for t, v in pairs if t != v]
        if not pairs:
            return
        if len(pairs) == 1:
            self.w(indent, f"{pairs[0][0]} = {pairs[0][1]}")
        else:
            self.w(indent, ", ".join(t for t, _ in pairs) + " = " + ", ".join(v for _, v in pairs))

    def op(self, op: Op, indent: int) -> None:
        if op.prim == "const":
            return
        self.comment(indent, op)
        if op.prim == "if":
            self.w(indent, f"if {self.v(op.inputs[0])}:")
            start = len(self.lines)
            for k, r in enumerate(op.regions):
                if k == 1:
                    if len(self.lines) == start:
                        self.w(indent + 1, "pass")
                    self.w(indent, "else:")
                    start = len(self.lines)
                self.region(r, indent + 1)
                self.assign(indent + 1, op.outputs, r.yields)
            if len(self.lines) == start:
                self.w(indent + 1, "pass")
            self.last_line = None
        elif op.prim == "for":
            body = op.regions[0]
            start, stop, step, *init = op.inputs
            for p, o in zip(body.params[1:], op.outputs):
                self.namer.alias(p, o)
            self.assign(indent, op.outputs, init)
            rng = (f"{self.v(stop)}" if start.is_const and start.const == 0 and step.is_const
                   and step.const == 1 else
                   f"{self.v(start)}, {self.v(stop)}" if step.is_const and step.const == 1 else
                   f"{self.v(start)}, {self.v(stop)}, {self.v(step)}")
            self.w(indent, f"for {self.v(body.params[0])} in range({rng}):")
            n = len(self.lines)
            self.region(body, indent + 1)
            self.assign(indent + 1, body.params[1:], body.yields)
            if len(self.lines) == n:
                self.w(indent + 1, "pass")
            self.last_line = None
        elif op.prim == "while":
            cond, body = op.regions
            for p, q, o in zip(body.params, cond.params, op.outputs):
                self.namer.alias(p, o)
                self.namer.alias(q, o)
            self.assign(indent, op.outputs, op.inputs)
            self.w(indent, "while True:")
            self.region(cond, indent + 1)
            self.w(indent + 1, f"if not {self.v(cond.yields[0])}:")
            self.w(indent + 2, "break")
            self.region(body, indent + 1)
            self.assign(indent + 1, body.params, body.yields)
            self.last_line = None
        elif op.prim == "push" and op.params["stack"] not in _NP_DTYPE:
            self.w(indent, f"tape_{op.params['stack']}.append("
                           f"np.ascontiguousarray({self.v(op.inputs[0])}))")
        elif op.prim == "pop" and op.params["stack"] not in _NP_DTYPE:
            self.w(indent, f"{self.v(op.outputs[0])} = tape_{op.params['stack']}.pop()")
        elif op.prim == "push":
            s = op.params["stack"]
            if op.params.get("checked", True):
                self.w(indent, f"if sp_{s} == tape_{s}.shape[0]:")
                self.w(indent + 1, f"tape_{s} = _rt.grow(tape_{s}, sp_{s} + 1)")
            self.w(indent, f"tape_{s}[sp_{s}] = {self.v(op.inputs[0])}")
            self.w(indent, f"sp_{s} += 1")
        elif op.prim == "pop":
            s = op.params["stack"]
            self.w(indent, f"sp_{s} -= 1")
            self.w(indent, f"{self.v(op.outputs[0])} = tape_{s}[sp_{s}]")
        elif op.prim == "reserve":
            s = op.params["stack"]
            self.w(indent, f"tape_{s} = _rt.reserve(tape_{s}, sp_{s} + {self.v(op.inputs[0])} * "
                           f"{op.params['per_iter']})")
        else:
            prim = REGISTRY[op.prim]
            tpl = prim.template(self.backend, any(x.type.ndim for x in op.inputs))
            args = [self.v(x) for x in op.inputs]
            expr = tpl(args, op.params) if callable(tpl) else tpl.format(*args)
            if prim.extra.get("inplace"):  # the buffer is updated where it is
                self.namer.alias(op.outputs[0], op.inputs[0])
                self.w(indent, expr)
                return
            outs = ", ".join(self.v(o) for o in op.outputs)
            self.w(indent, f"{outs} = {expr}")


HEADER = '''"""Generated by srcad from {source} -- {what}.  Do not edit: regenerated on change."""
import math

import numba
import numpy as np
from numba.typed import List

from srcad.codegen import rt as _rt

'''


def generate_module(fn: Function, name: str, out_struct, what: str, *, report_tape=False,
                    adjoint_from=None, decorator='@numba.njit(cache=True, error_model="numpy")',
                    backend: str = "cpu") -> str:
    body = PySource(fn, backend).function(name, out_struct, decorator, report_tape, adjoint_from)
    header = HEADER.format(source=fn.filename, what=what)
    if "_uf." in body:
        header = header.replace("from srcad.codegen import rt as _rt\n",
                                "from srcad.codegen import rt as _rt\n"
                                "from srcad.codegen import ufuncs as _uf\n")
    return header + body
