"""The primitive registry.  A primitive is one block: its NumPy implementation (the
interpreter's oracle), type rule, JVP and VJP rules built from other primitives (so derivatives
can be differentiated again), its cost class and its code templates per backend.

Adding a smooth primitive takes a few lines::

    smooth("sin", np.sin, [lambda b, x, out: b.cos(x)], cpu="math.sin({0})", domain=[(-3, 3)])
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..ir.core import Builder, Op, Value
from ..ir.types import BOOL, F64, Type, promote

REGISTRY: dict[str, Primitive] = {}

# Rule signatures
#   jvp(b, xs, outs, tangents, params) -> list of output tangents (None = symbolic zero)
#   vjp(b, xs, outs, cts, params, active) -> list of input cotangents (None = zero / inactive)
Rule = Callable[..., list]


@dataclass
class Primitive:
    name: str
    nin: int
    impl: Callable  # NumPy implementation, impl(*inputs, **params)
    type_rule: Callable[[list[Type], dict], list[Type]]
    coerce: str  # how inputs are promoted: "same" | "float" | "bool" | "none"
    jvp: Rule
    vjp: Rule
    cpu: str | Callable  # "math.sin({0})" or fn(args: list[str], params) -> str
    cuda: str | Callable | None = None  # None: same as cpu
    cost: int = 1  # <= 1: cheap, recomputed in reverse sweeps; > 1: taped
    domain: Sequence[tuple[float, float]] | None = None  # per-input sampling range for tests
    fold: Callable | None = None  # algebraic simplification at build time
    nout: int = 1
    differentiable: bool = True
    doc: str = ""
    extra: dict = field(default_factory=dict)
    arr: str | Callable | None = None  # template when an input is an array (None: same as cpu)
    # elementwise: output position k depends only on position k of each (broadcast) input, so
    # the VJP's cotangent of an input at a position depends only on the output cotangent at
    # the positions broadcast from it.  Reverse mode carries np.where's masks through these
    # ops only (Reverse.adjoint_prim); False for anything that mixes positions (cumsum, flip,
    # transpose, matmul, reductions, gathers, reshapes).
    pointwise: bool = False

    def template(self, backend: str, array: bool = False):
        if array and self.arr is not None:
            return self.arr
        if backend == "cuda" and self.cuda is not None:
            return self.cuda
        return self.cpu


def register(p: Primitive) -> Primitive:
    if p.name in REGISTRY:
        raise ValueError(f"primitive {p.name!r} registered twice")
    REGISTRY[p.name] = p
    return p


# ----------------------------------------------------------------------------- type rules

def _same(types, params):
    return [promote(*types)]


def _float(types, params):
    t = promote(*types)
    return [t if t.is_float else Type("f64", t.ndim)]


def _bool_out(types, params):
    return [Type("bool", max(t.ndim for t in types))]


TYPE_RULES = {"same": _same, "float": _float, "bool": _bool_out}


# ----------------------------------------------------------------------------- building

def _coerce(b: Builder, prim: Primitive, inputs: list[Value]) -> list[Value]:
    if prim.coerce == "none" or not inputs:
        return inputs
    if prim.coerce == "select":
        c = convert(b, inputs[0], "bool")
        return [c] + _promote_all(b, inputs[1:], "same")
    if prim.coerce == "pow":
        x, y = inputs
        if y.type.is_float:
            return _promote_all(b, inputs, "same")
        if not x.type.is_float and not (y.is_const and y.const >= 0):
            # Python: int ** negative int is a float; the sign is unknown until run time
            return [convert(b, x, "f64"), y]
        return inputs
    return _promote_all(b, inputs, prim.coerce)


def _promote_all(b: Builder, inputs: list[Value], coerce: str) -> list[Value]:
    if coerce == "bool":
        target = BOOL.dtype
    else:
        t = promote(*(v.type for v in inputs))
        target = "i64" if t.dtype == "bool" else t.dtype  # Python: True + True == 2
        if coerce == "float" and not t.is_float:
            target = "f64"
    return [v if v.type.dtype == target else convert(b, v, target) for v in inputs]


def convert(b: Builder, v: Value, dtype: str) -> Value:
    if v.type.dtype == dtype:
        return v
    return build(b, "convert", [v], {"to": dtype}, v.name)


def const(b: Builder, value, type: Type | None = None) -> Value:
    if type is None:
        if isinstance(value, (bool, np.bool_)):
            type = BOOL
        elif isinstance(value, (int, np.integer)):
            type = Type("i64")
        else:
            type = F64
    value = _normalize(value, type)
    out = Value(type, None)
    out.const = value
    b.append(Op("const", [], [out], {"value": value}))
    return out


def _normalize(value, type: Type):
    if type.dtype == "bool":
        return bool(value)
    if type.dtype == "i64":
        return int(value)
    return float(value)


def build(b: Builder, name: str, inputs: list[Value], params: dict, vname: str | None):
    prim = REGISTRY.get(name)
    if prim is None:
        raise KeyError(f"unknown primitive {name!r}")
    if prim.nin >= 0 and len(inputs) != prim.nin:
        raise TypeError(f"{name} takes {prim.nin} inputs, got {len(inputs)}")
    inputs = _coerce(b, prim, inputs)
    if prim.fold is not None:
        folded = prim.fold(b, inputs, params)
        if folded is not None:
            return folded
    out_types = prim.type_rule([v.type for v in inputs], params)
    if inputs and all(v.is_const for v in inputs) and prim.nout == 1 and out_types[0].ndim == 0:
        with np.errstate(all="ignore"):
            value = prim.impl(*(v.const for v in inputs), **params)
        return const(b, value, out_types[0])
    outs = [Value(t, vname) for t in out_types]
    b.append(Op(name, inputs, outs, params))
    return outs[0] if prim.nout == 1 else outs


# ----------------------------------------------------------------------------- rule helpers

def zero_like_const(v: Value, value=0.0):
    """True if v is the constant ``value``."""
    return v.is_const and v.const == value


def add_tangents(b: Builder, terms: list[Value | None]) -> Value | None:
    """Sum of the non-None terms (None if all are None)."""
    acc = None
    for t in terms:
        if t is None:
            continue
        acc = t if acc is None else b.add(acc, t)
    return acc


def zero(b: Builder, like: Value) -> Value:
    """A zero of like's type: a constant for scalars, a new zero array of like's shape."""
    if like.type.ndim == 0:
        return b.const(0.0, like.type if like.type.is_float else F64)
    return b.zeros_like(like)


def fit(b: Builder, c: Value | None, like: Value, others=None) -> Value | None:
    """Cotangent ``c`` of a broadcasting op, summed down to the shape of input ``like``
    (the adjoint of NumPy broadcasting).  ``others``: the op's other inputs; when they are all
    scalars the output has like's shape and nothing needs summing (None: unknown)."""
    if c is None or c.type.ndim == 0:
        return c
    if like.type.ndim == 0:
        return b.sum(c, axis=None, keepdims=False)
    if others is not None and all(o.type.ndim == 0 for o in others):
        return c
    return b.unbroadcast(c, like, lead=c.type.ndim - like.type.ndim)


def widen(b: Builder, t: Value | None, out: Value, xs: Sequence[Value] = ()) -> Value | None:
    """Tangent ``t`` broadcast to the shape of output ``out``: a scalar tangent of an array,
    or, when the op's inputs ``xs`` hold several arrays, a tangent that has the shape of one
    of them (``ones((5, 2)) - m`` with m of shape (1, 2)); ``passes/shapes.py`` drops the
    broadcast where the shapes provably agree."""
    if t is None:
        return t
    if t.type.ndim == out.type.ndim and len({id(x) for x in xs if x.type.ndim}) <= 1:
        return t
    return b.expand_like(t, out)


def smooth(name: str, impl: Callable, partials: list[Callable], cpu, *, cost: int = 1,
           domain=None, coerce: str = "float", fold=None, cuda=None, arr=None,
           doc: str = "") -> Primitive:
    """Register an elementwise primitive from its partial derivatives (ChainRules'
    ``@scalar_rule``).  ``partials[i](b, *xs, out)`` builds d out / d xs[i] with primitives;
    JVP and VJP follow, with NumPy broadcasting (cotangents are summed back to each input's
    shape)."""
    nin = len(partials)

    def jvp(b, xs, outs, ts, params):
        return [widen(b, add_tangents(b, [
            None if t is None else b.mul(partials[i](b, *xs, outs[0]), t)
            for i, t in enumerate(ts)]), outs[0], xs)]

    def vjp(b, xs, outs, cts, params, active):
        ct = cts[0]
        if ct is None:
            return [None] * nin
        return [fit(b, b.mul(ct, partials[i](b, *xs, outs[0])), xs[i], xs[:i] + xs[i + 1:])
                if active[i] else None for i in range(nin)]

    return register(Primitive(name, nin, impl, TYPE_RULES[coerce], coerce, jvp, vjp, cpu, cuda,
                              cost, domain, fold, arr=arr, doc=doc, pointwise=True))


def nondiff(name: str, nin: int, impl: Callable, cpu, *, type_rule="same", coerce="same",
            cuda=None, domain=None, fold=None, arr=None, doc: str = "") -> Primitive:
    """Register a primitive whose derivative is zero wherever it exists (comparisons, floor,
    sign, integer ops): JVP gives a symbolic zero and VJP passes nothing back."""
    rule = TYPE_RULES[type_rule] if isinstance(type_rule, str) else type_rule
    return register(Primitive(
        name, nin, impl, rule, coerce,
        jvp=lambda b, xs, outs, ts, params: [None],
        vjp=lambda b, xs, outs, cts, params, active: [None] * nin,
        cpu=cpu, cuda=cuda, arr=arr, cost=1, domain=domain, fold=fold, differentiable=False,
        doc=doc))
