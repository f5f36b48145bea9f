"""IR -> readable Python source for Numba.

One statement per op, user-derived names (``x1_bar``, ``v_dot``), and a comment naming the
source line each group of statements comes from.  Templates come from the primitive registry
per backend (``cpu`` / ``cuda``); structured control flow becomes Python ``if``/``for``/
``while``; tapes become preallocated typed arrays with a stack pointer.
"""
from __future__ import annotations

import functools
import importlib.util
import os

from ..ir.core import Function, Op, Region, Value
from ..ir.naming import Namer
from ..primitives import REGISTRY
from ..primitives.scalar import literal
from .checks import BOUNDSCHECK, Checks
from .fuse import Group, matvec, plan_region, static_ones, transposed

# Fuse elementwise chains and their reductions into loop nests (SRCAD_FUSE=0: one NumPy call
# per op, as before).
FUSE = os.environ.get("SRCAD_FUSE", "1") != "0"
# Inside fused loops, float64 transcendentals call srcad.codegen.vmath (vectorizable njit
# functions) when that module exists, else math.*: the one switch.
USE_VMATH = os.environ.get("SRCAD_VMATH", "1") != "0"
_VMATH_FUNCS = ("exp", "log", "tanh", "sin", "cos", "log1p", "expm1")
# Scalar forms with NumPy's semantics where Python's differ (NaN propagation).
_RED_INIT = {"sum": "0.0", "unbroadcast": "0.0", "amax": "-math.inf", "amin": "math.inf"}
_LOOP_TEMPLATES = {"maximum": "np.maximum({0}, {1})", "minimum": "np.minimum({0}, {1})"}


def _vmath_names() -> frozenset[str]:
    if not USE_VMATH or importlib.util.find_spec("srcad.codegen.vmath") is None:
        return frozenset()
    try:
        from . import vmath
    except Exception:  # noqa: BLE001 -- a half-written module must not break codegen
        return frozenset()
    return frozenset(f for f in _VMATH_FUNCS if hasattr(vmath, f))

_NP_DTYPE = {"f64": "np.float64", "f32": "np.float32", "i64": "np.int64", "bool": "np.bool_"}


@functools.cache
def _gemm_limit() -> int | None:
    """How large a 2-D float dot srcad's own matrix product takes (codegen/gemm.py); read
    once, on first use, because it imports Numba."""
    from .gemm import gemm_limit
    return gemm_limit()


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
    def __init__(self, fn: Function, backend: str = "cpu", fuse: bool | None = None,
                 boundscheck: bool | None = None):
        self.fn = fn
        self.backend = backend
        # Repeats are numbered t, t1, x_bar1 (no "_" before the number): Numba renames a
        # variable assigned in several places x.1, x.2 and its array-expression lowering
        # turns those into x_1, x_2, which must not be names of ours.
        self.namer = Namer("_", number_sep="")
        for w in _RESERVED:
            self.namer.reserve(w)
        self.lines: list[str] = []
        self.last_line: int | None = None
        self.adjoint = False
        self.fuse = (FUSE if fuse is None else fuse) and backend == "cpu"
        # A failed shape guard raises rt.ShapeFallback: the caller reruns the call with the
        # unfused function, compiled only then (the NumPy statements inline would roughly
        # double Numba's compile time).  True once a guard is emitted.
        self.raises = False
        self.parallel = False  # numba.njit(parallel=True): fused outer loops may be prange
        self.ones: dict = {}
        self.trans: dict = {}
        self.top_index: dict[int, int] = {}
        self.adjoint_from: int | None = None
        self.vmath = _vmath_names() if self.fuse else frozenset()
        self.loop_names: dict[str, str] = {}
        # index and shape checks (codegen/checks.py), raising located IndexError/ValueError
        self.checks = Checks(self, fn, BOUNDSCHECK if boundscheck is None else boundscheck)

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
        self.parallel = "parallel=True" in decorator
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
        if self.fuse:
            self.ones = static_ones(fn.body)
            self.trans = transposed(fn.body)
        self.top_index = {id(op): k for k, op in enumerate(fn.body.ops)}
        self.adjoint_from = adjoint_from
        for item in self.items(fn.body):
            op = item.ops[-1] if isinstance(item, Group) else item
            k = self.top_index[id(op)]
            if adjoint_from is not None and k >= adjoint_from and not self.adjoint:
                self.adjoint = True
                self.last_line = None
            self.item(item, 1)
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

    def items(self, r: Region) -> list:
        return plan_region(r, self.ones, self.trans) if self.fuse else list(r.ops)

    def item(self, item, indent: int) -> None:
        if isinstance(item, Group):
            self.group(item, indent)
        else:
            self.op(item, indent)

    def region(self, r: Region, indent: int) -> None:
        if not r.ops:
            return
        self.checks.enter()
        for item in self.items(r):
            self.item(item, indent)
        self.checks.leave()

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
            self.checks.hoist(op, indent)
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
            self.checks.before(op, indent)
            prim = REGISTRY[op.prim]
            tpl = prim.template(self.backend, any(x.type.ndim for x in op.inputs))
            args = [self.v(x) for x in op.inputs]
            expr = tpl(args, op.params) if callable(tpl) else tpl.format(*args)
            if (op.prim == "dot" and self.backend == "cpu" and _gemm_limit() is not None
                    and all(x.type.ndim == 2 for x in op.inputs)
                    and op.inputs[0].type.dtype == op.inputs[1].type.dtype in ("f64", "f32")):
                expr = f"_rt.matmul({args[0]}, {args[1]}, {_gemm_limit()})"  # codegen/gemm.py
            if prim.extra.get("inplace"):  # the buffer is updated where it is
                self.namer.alias(op.outputs[0], op.inputs[0])
                self.w(indent, expr)
                return
            outs = ", ".join(self.v(o) for o in op.outputs)
            self.w(indent, f"{outs} = {expr}")

    # -- fused loop nests ----------------------------------------------------------------------

    def fresh(self, name: str, type=None) -> str:
        from ..ir.types import I64
        return self.namer(Value(type or I64, name))

    def loop_name(self, base: str) -> str:
        """Extents and indices of loop nests (n0, i0, ...): one name each, reused by every
        loop nest (they are ints everywhere)."""
        name = self.loop_names.get(base)
        if name is None:
            name = self.loop_names[base] = self.fresh(base)
        return name

    def set_adjoint(self, op: Op) -> None:
        k = self.top_index.get(id(op))
        if k is not None and self.adjoint_from is not None:
            self.adjoint = k >= self.adjoint_from

    def group(self, g: Group, indent: int) -> None:
        """One loop nest for a fused group, behind a shape guard (else rt.ShapeFallback)."""
        R, one_axes = g.rank, g.ones
        axes = [k for k in range(R) if k not in one_axes]
        ones = self.ones
        produced = {op.outputs[0] for op in g.elems}
        # operands whose shapes the loop nest relies on: (value, offset of its axis 0, how
        # many of its axes are loop axes); row-streamed matrices only their axis 0
        operands: list[tuple[Value, int, int]] = []
        conds = []
        for op in g.ops:
            kd = g.kind[id(op)]
            if kd in ("elem", "expand", "ident"):
                operands += [(v, R - v.type.ndim, v.type.ndim) for v in op.inputs
                             if v.type.ndim and v not in produced]
            elif kd == "rowdot":
                x, w = op.inputs
                operands.append((x, 0, 1))
                conds.append(f"{self.v(x)}.shape[1] == {self.v(w)}.shape[0]")
            elif kd == "red" and op.prim == "unbroadcast":
                like = op.inputs[1]
                if like not in produced:
                    operands.append((like, op.params.get("lead", 0), like.type.ndim))
            elif kd == "red" and op.prim == "dot":
                operands.append((matvec(op, self.trans)[0], 0, 1))
        provider: dict[int, str] = {}
        checks: list[tuple[Value, int, int | None]] = []  # (operand, axis, loop axis / None: 1)
        for v, off, nax in dict.fromkeys(operands):
            for j in range(nax):
                k = off + j
                if j in ones.get(v, ()):
                    continue
                if k in one_axes:
                    checks.append((v, j, None))
                elif k not in provider:
                    provider[k] = f"{self.v(v)}.shape[{j}]"
                else:
                    checks.append((v, j, k))
        if any(k not in provider for k in axes):  # no operand gives an extent: unfused
            for op in g.ops:
                self.set_adjoint(op)
                self.op(op, indent)
            return
        n = {k: self.loop_name(f"_n{k}") for k in axes}
        idx = {k: self.loop_name(f"_i{k}") for k in axes}

        def ext(k):
            return "1" if k is None or k in one_axes else n[k]

        # one comparison per operand: v.shape == (n0, n1) or per axis
        by_value: dict[Value, list] = {}
        for v, j, k in checks:
            by_value.setdefault(v, []).append((j, k))
        for v, jk in by_value.items():
            if len(jk) == v.type.ndim > 1:
                conds.append(f"{self.v(v)}.shape == ({', '.join(ext(k) for _, k in jk)})")
            else:
                conds += [f"{self.v(v)}.shape[{j}] == {ext(k)}" for j, k in jk]

        def shape(ks):
            return "(" + ", ".join(ks) + ("," if len(ks) == 1 else "") + ")"

        def at(v: Value, off: int) -> str:
            sub = ", ".join("0" if j in ones.get(v, ()) or off + j in one_axes else idx[off + j]
                            for j in range(v.type.ndim))
            return f"{self.v(v)}[{sub}]"

        # reductions: out axes -> loop axis or None (index 0)
        red_maps = []
        for op in g.reds:
            if op.prim == "dot":  # rows of X weighted by the group value: kept apart
                m = [None]
            elif op.prim in ("sum", "amax", "amin"):
                a, keep = op.params["axis"], op.params["keepdims"]
                if a is None:
                    m = []
                elif keep:
                    m = [None if k == a or k in one_axes else k for k in range(R)]
                else:
                    m = [None if k in one_axes else k for k in range(R) if k != a]
            else:  # unbroadcast
                lead, like = op.params.get("lead", 0), op.inputs[1]
                m = [None if j in ones.get(like, ()) or lead + j in one_axes else lead + j
                     for j in range(like.type.ndim)]
            red_maps.append(m)
            if op.prim in ("amax", "amin"):  # np.max of an empty array raises: leave that to NumPy
                conds += [f"{n[k]} > 0" for k in axes if k not in m]
        full = [("0" if k in one_axes else idx[k]) for k in range(R)]
        lines = sorted({op.loc.line for op in g.ops if op.loc is not None})
        span = (f"line {lines[0]}" if len(lines) == 1 else
                f"lines {lines[0]}-{lines[-1]}" if lines else "")
        self.last_line = None
        self.w(indent, f"# fused loop ({len(g.live)} elementwise ops, {len(g.reds)} reductions"
                       f"{', ' + span if span else ''})")
        for k in axes:
            self.w(indent, f"{n[k]} = {provider[k]}")
        body = indent
        if conds:
            # Values defined under the guard get a trailing "_" (t4_, b_bar_): Numba's versions
            # of them (t4_.1 -> t4__1) then cannot collide with names of ours.
            for op in g.ops:
                for v in op.outputs:
                    if (v in g.materialize or g.kind[id(op)] in ("red", "dim", "pro")) \
                            and v.id not in self.namer.names:
                        name = self.namer(v) + "_"
                        self.namer.names[v.id] = name
                        self.namer.used.add(name)
            self.w(indent, "if " + " and ".join(conds) + ":")
            body = indent + 1
        # prologue: extents and the scalars computed from them
        for op in g.ops:
            kd = g.kind[id(op)]
            if kd == "dim":
                self.w(body, f"{self.v(op.outputs[0])} = {ext(op.params['axis'])}")
            elif kd == "pro":
                self.set_adjoint(op)
                self.op(op, body)
        for v in g.materialize:
            self.w(body, f"{self.v(v)} = np.empty({shape([ext(k) for k in range(R)])}, "
                         f"{_NP_DTYPE[v.type.dtype]})")
        plans = []
        for op, m in zip(g.reds, red_maps):
            kept = {k for k in m if k is not None}
            out = self.v(op.outputs[0])
            out_shape = shape([ext(k) for k in m])
            init = _RED_INIT.get(op.prim, "0.0")
            dt = _NP_DTYPE[op.outputs[0].type.dtype]
            if op.prim == "dot":
                x = self.v(matvec(op, self.trans)[0])
                how, acc = "axpy", x
                self.w(body, f"{out} = np.zeros(({x}.shape[1],), np.float64)")
            elif not m:
                how, acc = "scalar", out
                if op.outputs[0].type.dtype == "f32":  # accumulate in float64, then round
                    acc = self.fresh(f"{op.outputs[0].name or 't'}.acc")
                self.w(body, f"{acc} = {init}")
            elif axes and len(axes) >= 2 and set(axes) - kept == {axes[-1]}:
                how, acc = "row", self.fresh(f"{op.outputs[0].name or 't'}.acc")
                self.w(body, f"{out} = np.empty({out_shape}, {dt})")
            else:
                how, acc = "array", None
                self.w(body, f"{out} = np.full({out_shape}, {init}, {dt})")
            sub = ", ".join(idx[k] if k is not None else "0" for k in m)
            plans.append((op, how, acc, sub))
        depth = body
        outer_par = False
        for d, k in enumerate(axes):
            if d == len(axes) - 1:
                for op, how, acc, _ in plans:
                    if how == "row":
                        self.w(depth, f"{acc} = {_RED_INIT[op.prim]}")
            # parallel=True: the outer loop is a prange when every reduction is one Numba
            # parallelizes (a scalar sum, or per-row accumulators indexed by the outer loop)
            par = (d == 0 and self.parallel and
                   all(how == "row" or (how == "scalar" and op.prim in ("sum", "unbroadcast"))
                       for op, how, _, _ in plans))
            outer_par = outer_par or par
            loop = "numba.prange" if par else "range"
            self.w(depth, f"for {idx[k]} in {loop}({n[k]}):")
            depth += 1
        elem: dict[Value, str] = {}
        self.last_line = None
        for op in g.elems:
            if id(op) not in g.live:
                continue
            self.set_adjoint(op)
            self.comment(depth, op)
            kd = g.kind[id(op)]
            args = []
            for v in (op.inputs[:1] if kd in ("expand", "ident") else
                      [] if kd == "rowdot" else op.inputs):
                if v in elem:
                    args.append(elem[v])
                elif v.type.ndim == 0:
                    args.append(self.v(v))
                else:
                    args.append(at(v, R - v.type.ndim))
            out = op.outputs[0]
            name = self.fresh(f"{out.name or 't'}.e", out.type)
            elem[out] = name
            if kd in ("expand", "ident"):
                expr = args[0]
            elif kd == "rowdot":  # X[i] . w, vectorized (reassociated) in the runtime
                expr = f"_rt.rowdot({self.v(op.inputs[0])}, {idx[0]}, {self.v(op.inputs[1])})"
            else:
                expr = self.loop_expr(op, args)
            self.w(depth, f"{name} = {expr}")
        for v in g.materialize:
            self.w(depth, f"{self.v(v)}[{', '.join(full)}] = {elem[v]}")
        for op, how, acc, sub in plans:
            if how == "axpy":
                e = elem[matvec(op, self.trans)[1]]
                self.w(depth, f"_rt.axpy_row({self.v(op.outputs[0])}, {e}, {acc}, {idx[0]})")
                continue
            e = elem[op.inputs[0]]
            target = acc if how in ("scalar", "row") else f"{self.v(op.outputs[0])}[{sub}]"
            if op.prim in ("sum", "unbroadcast") and (how == "row" or
                                                      how == "scalar" and not outer_par):
                # an add LLVM may reassociate (rt.fadd), so the loop vectorizes with partial
                # sums, like NumPy's and BLAS's sums; a prange keeps "+=", the form Numba
                # turns into a parallel reduction
                self.w(depth, f"{target} = _rt.fadd({target}, {e})")
            elif op.prim in ("sum", "unbroadcast"):
                self.w(depth, f"{target} += {e}")
            else:  # NaN-propagating like np.max / np.min
                cmp = ">" if op.prim == "amax" else "<"
                self.w(depth, f"if {e} {cmp} {target} or {e} != {e}:")
                self.w(depth + 1, f"{target} = {e}")
        for op, how, acc, sub in plans:
            if how == "row":
                self.w(body + len(axes) - 1, f"{self.v(op.outputs[0])}[{sub}] = {acc}")
            elif how == "scalar" and acc != self.v(op.outputs[0]):
                self.w(body, f"{self.v(op.outputs[0])} = np.float32({acc})")
        if conds:
            self.w(indent, "else:")
            self.raises = True
            self.w(indent + 1, "raise _rt.ShapeFallback  # the unfused function reruns it")
        self.set_adjoint(g.ops[-1])
        self.last_line = None

    def loop_expr(self, op: Op, args: list[str]) -> str:
        """The scalar expression of an elementwise op inside a fused loop."""
        out = op.outputs[0]
        if op.prim in self.vmath and out.type.dtype == "f64":
            tpl = f"_vm.{op.prim}({{0}})"
        elif op.prim in self.vmath and out.type.dtype == "f32":  # in float64, like a store
            tpl = f"_vm.{op.prim}(np.float64({{0}}))"
        elif op.prim == "convert" and op.inputs[0].type.dtype == "bool":
            tpl = {"f64": "(1.0 if {0} else 0.0)", "i64": "(1 if {0} else 0)",
                   "f32": "np.float32(1.0 if {0} else 0.0)"}.get(op.params["to"], "{0}")
        elif op.prim in _LOOP_TEMPLATES:
            tpl = _LOOP_TEMPLATES[op.prim]
        else:
            tpl = REGISTRY[op.prim].template(self.backend, False)
        return tpl(args, op.params) if callable(tpl) else tpl.format(*args)


HEADER = '''"""Generated by srcad from {source} -- {what}.  Do not edit: regenerated on change."""
import math

import numba
import numpy as np
from numba.typed import List

from srcad.codegen import rt as _rt

'''


FALLBACK_SUFFIX = "_unfused"


def generate_module(fn: Function, name: str, out_struct, what: str, *, report_tape=False,
                    adjoint_from=None, decorator='@numba.njit(cache=True, error_model="numpy")',
                    backend: str = "cpu", boundscheck: bool | None = None) -> str:
    """The module source: ``name`` and, when its fused loops have shape guards that can fail,
    ``name + FALLBACK_SUFFIX`` (the same function without fusion; Numba compiles it on its
    first call, i.e. only once a guard has failed)."""
    main = PySource(fn, backend, boundscheck=boundscheck)
    body = main.function(name, out_struct, decorator, report_tape, adjoint_from)
    if main.raises:
        plain = PySource(fn, backend, fuse=False, boundscheck=boundscheck)
        body += ("\n\n# Without fused loops: called when a shape guard above fails "
                 "(run-time broadcasting the loops do not index); compiled on first use.\n"
                 + plain.function(name + FALLBACK_SUFFIX, out_struct, decorator, report_tape,
                                  adjoint_from))
    header = HEADER.format(source=fn.filename, what=what)
    if "_uf." in body:
        header = header.replace("from srcad.codegen import rt as _rt\n",
                                "from srcad.codegen import rt as _rt\n"
                                "from srcad.codegen import ufuncs as _uf\n")
    if "_vm." in body:
        header = header.replace("from srcad.codegen import rt as _rt\n",
                                "from srcad.codegen import rt as _rt\n"
                                "from srcad.codegen import vmath as _vm\n")
    return header + body
