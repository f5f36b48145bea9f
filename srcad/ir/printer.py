"""The textual IR: one op per line, typed, user names kept, source lines in comments.

    func f(%x1: f64, %x2: f64):
      %t: f64 = log %x1                       # line 3
"""
from __future__ import annotations

from .core import Function, Op, Region, Value
from .naming import Namer


class Printer:
    def __init__(self, fn: Function | None = None):
        self.namer = Namer(".")
        self.fn = fn
        self.lines: list[str] = []

    def v(self, v: Value) -> str:
        if v.is_const:
            from ..primitives.scalar import literal
            return literal(v.const)
        return "%" + self.namer(v)

    def decl(self, v: Value) -> str:
        return f"{self.v(v)}: {v.type}"

    def emit(self, indent: int, text: str, op: Op | None = None) -> None:
        line = "  " * indent + text
        if op is not None and op.loc is not None:
            line = line.ljust(56) + f"  # line {op.loc.line}"
        self.lines.append(line)

    def region(self, r: Region, indent: int) -> None:
        for op in r.ops:
            self.op(op, indent)

    def op(self, op: Op, indent: int) -> None:
        if op.prim == "const":
            return
        outs = ", ".join(self.decl(o) for o in op.outputs)
        lhs = f"{outs} = " if outs else ""
        args = ", ".join(self.v(x) for x in op.inputs)
        params = {k: v for k, v in op.params.items() if k != "value"}
        ptxt = ("[" + ", ".join(f"{k}={v}" for k, v in params.items()) + "] ") if params else ""
        if op.prim == "if":
            tag = " " + ptxt.rstrip() if ptxt else ""
            self.emit(indent, f"{lhs}if {self.v(op.inputs[0])}{tag}:", op)
            self.region(op.regions[0], indent + 2)
            self.emit(indent + 2, "yield " + ", ".join(self.v(y) for y in op.regions[0].yields))
            self.emit(indent + 1, "else:")
            self.region(op.regions[1], indent + 2)
            self.emit(indent + 2, "yield " + ", ".join(self.v(y) for y in op.regions[1].yields))
        elif op.prim == "for":
            body = op.regions[0]
            start, stop, step, *init = op.inputs
            carry = ", ".join(f"{self.decl(p)} = {self.v(i)}"
                              for p, i in zip(body.params[1:], init))
            self.emit(indent, f"{lhs}for {self.v(body.params[0])} in range({self.v(start)}, "
                      f"{self.v(stop)}, {self.v(step)}) {ptxt}carry({carry}):", op)
            self.region(body, indent + 2)
            self.emit(indent + 2, "yield " + ", ".join(self.v(y) for y in body.yields))
        elif op.prim == "while":
            cond, body = op.regions
            carry = ", ".join(f"{self.decl(p)} = {self.v(i)}"
                              for p, i in zip(body.params, op.inputs))
            cparams = ", ".join(self.v(p) for p in cond.params)
            self.emit(indent, f"{lhs}while carry({carry}) {ptxt}cond({cparams}):", op)
            self.region(cond, indent + 2)
            self.emit(indent + 2, "yield " + ", ".join(self.v(y) for y in cond.yields))
            self.emit(indent + 1, "do:")
            self.region(body, indent + 2)
            self.emit(indent + 2, "yield " + ", ".join(self.v(y) for y in body.yields))
        else:
            self.emit(indent, f"{lhs}{op.prim} {ptxt}{args}".rstrip(), op)


def format_function(fn: Function) -> str:
    p = Printer(fn)
    args = ", ".join(p.decl(a) for a in fn.params)
    p.emit(0, f"func {fn.name}({args}):")
    p.region(fn.body, 1)
    p.emit(1, "return " + ", ".join(p.v(y) for y in fn.outputs))
    return "\n".join(p.lines)

