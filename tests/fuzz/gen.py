"""Random well-typed programs in srcad's subset, as source text, from an integer seed.

``generate(seed, config)`` returns a :class:`Program`: the text of a module with a main function
``f`` (and the helpers it calls), the arguments to call it with, and, for every line, the
construct that produced it (so a located refusal can be counted per construct).  The same seed
and config give the same program on every machine (``random.Random(seed)``, no ``hash()``).

Programs are valid in CPython by construction: the generator knows the shape of every array and
the range of every int, so indices are in range (or wrapped with ``% n``), slices are non-empty,
broadcasting is legal and every primitive gets an argument on its domain
(``np.log(1.0 + e * e)``, ``np.sqrt(np.abs(e) + 0.5)``, divisions by ``1.0 + e * e``).  Names are
scoped like a careful programmer would: a name created inside a branch or a loop body is not used
after it, so no name is possibly unbound.  Loops are bounded: ``for`` over small ranges, ``while``
with a counter incremented first thing in the body.
"""
from __future__ import annotations

import ast
import random
from dataclasses import dataclass, field, replace

import numpy as np

# Relative weights of the constructs; set one to 0 to turn the construct off.
DEFAULT_WEIGHTS: dict[str, float] = {
    # statements
    "assign": 6.0,          # s = <float expr> (new name or rebinding)
    "assign_array": 5.0,    # v = <array expr>
    "aug_scalar": 3.0,      # s += e, s *= e, ...
    "elem_write": 3.0,      # a[i] = e, A[i, j] = e
    "aug_elem": 2.0,        # a[i] += e
    "slice_write": 2.0,     # a[1:3] = v, A[0:2, 1:3] = e
    "row_write": 1.5,       # A[i] = v, A[i, :] = v
    "col_write": 1.5,       # A[:, j] = v
    "aug_slice": 1.5,       # a[1:3] += v, A[:, j] *= e
    "aug_array": 1.5,       # a += v (whole array, in place)
    "alias": 1.5,           # b = a (one array, two names)
    "view": 0.4,            # b = a[1:3] (a view)
    "copy": 1.0,            # b = a.copy()
    "if": 3.0,
    "for": 3.0,
    "while": 1.2,
    "helper_call": 1.5,     # s = h(x, a)
    "helper_write": 1.5,    # w(a, x): a helper writing into its array argument
    "break": 1.0,
    "continue": 1.0,
    "return": 1.0,          # early return inside a branch
    "tuple_return": 0.3,    # main returns (float, array)
    # expressions
    "unary": 4.0,           # sin cos tanh exp log sqrt arctan arcsin ... on their domains
    "binary": 5.0,          # + - *
    "div": 1.0,             # e / (1.0 + e * e)
    "power": 1.2,           # e ** 2, e ** 3, (e * e + 1.0) ** 0.5
    "int_power": 0.5,       # e ** k with an int k
    "maxmin": 1.5,          # np.maximum/np.minimum, max/min
    "abs": 1.0,
    "clip": 0.4,
    "two_arg": 0.4,         # np.hypot, np.arctan2
    "cond_expr": 0.6,       # a if c else b
    "reduce": 3.0,          # np.sum/mean/max/min/prod/var, x.sum()
    "reduce_axis": 1.5,     # np.sum(A, axis=0), keepdims
    "index": 3.0,           # a[i], A[i, j]
    "slice": 2.0,           # a[1:3], A[:, j], A[i], A[0:2, 1:3]
    "reverse": 0.5,         # a[::-1]
    "where": 1.2,           # np.where(c, a, b)
    "cumsum": 1.0,          # np.cumsum(a), np.cumsum(A, axis=k)
    "matmul": 1.2,          # A @ B, A @ v, v @ A
    "dot": 0.8,             # np.dot(u, v), u @ v
    "outer": 0.4,           # np.outer(u, v)
    "transpose": 0.6,       # A.T
    "broadcast": 1.5,       # A * v, u[:, None] * v, A - np.sum(A, axis=1, keepdims=True)
    "int_arith": 1.0,       # k + 1, k % 3, float(k) * x, len(a)
    "const_array": 0.6,     # np.ones(n), np.zeros_like(a), np.full(...)
}


def _own(rhs: str) -> str:
    """A right side that is a bare view (``A[:, 2]``, ``A[i].T``) is copied: NumPy copies an
    overlapping strided view into its own array element by element (``A[1] = A[:, 2]`` reads
    A[1, 2] after writing it), an artefact srcad does not reproduce (it reads the right side
    first)."""
    node = ast.parse(rhs, mode="eval").body
    while isinstance(node, ast.Subscript) or (isinstance(node, ast.Attribute) and
                                              node.attr == "T"):
        node = node.value
    view = isinstance(node, ast.Name) and node.id not in ("np", "math") and rhs != node.id
    return f"{rhs}.copy()" if view else rhs


@dataclass(frozen=True)
class Config:
    weights: dict = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    min_stmts: int = 5
    max_stmts: int = 25
    max_nest: int = 2          # nesting of if/for/while
    max_expr_depth: int = 3
    max_helpers: int = 2

    def without(self, *constructs: str) -> Config:
        w = dict(self.weights)
        for c in constructs:
            if c not in w:
                raise KeyError(f"unknown construct {c!r}")
            w[c] = 0.0
        return replace(self, weights=w)

    def with_weights(self, **weights: float) -> Config:
        w = dict(self.weights)
        for c, v in weights.items():
            if c not in w:
                raise KeyError(f"unknown construct {c!r}")
            w[c] = float(v)
        return replace(self, weights=w)


@dataclass
class Program:
    seed: int | None
    source: str                 # the module text
    args: tuple                 # arguments of f (arrays are fresh copies on every access)
    tags: dict = field(default_factory=dict)   # line number -> construct
    name: str = "f"

    def fresh_args(self) -> tuple:
        return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in self.args)

    def constructs(self) -> set:
        return set(self.tags.values())


# ----------------------------------------------------------------------------- types

FLOAT = ("f",)


def INT(lo: int, hi: int) -> tuple:
    return ("i", lo, hi)


def ARR(*shape: int) -> tuple:
    return ("a", tuple(shape))


def is_arr(t) -> bool:
    return t[0] == "a"


class _Scope:
    """Names visible in a block: name -> type; names bound in a nested block are dropped when
    it ends.  ``fixed`` names (ints, loop counters) are never rebound."""

    def __init__(self, names: dict | None = None, fixed: set | None = None):
        self.names = dict(names or {})
        self.fixed = set(fixed or ())

    def child(self) -> _Scope:
        return _Scope(self.names, self.fixed)

    def of(self, pred) -> list[str]:
        return [n for n, t in self.names.items() if pred(t)]


class _Stop(Exception):
    pass


class Generator:
    def __init__(self, seed: int, config: Config | None = None):
        self.seed = seed
        self.cfg = config or Config()
        self.r = random.Random(seed)
        self.w = self.cfg.weights
        self.counter = 0
        r = self.r
        self.dims = sorted(r.sample([2, 3, 4, 5], r.choice([1, 2, 2, 3])))
        self.helpers: list[dict] = []    # {"name", "kind", "params", "lines"}
        self.lines: list = []            # current function: (indent, text, tag or None)
        self.budget = 0

    # -- small utilities ----------------------------------------------------------------

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def on(self, construct: str) -> bool:
        return self.w.get(construct, 0.0) > 0.0

    def pick(self, options: list):
        """Weighted choice among (construct, value) pairs whose construct is on; construct
        None is always on with weight 1."""
        live = [(self.w.get(c, 1.0) if c is not None else 1.0, v) for c, v in options]
        live = [(w, v) for w, v in live if w > 0]
        if not live:
            return None
        total = sum(w for w, _ in live)
        x = self.r.random() * total
        for w, v in live:
            x -= w
            if x <= 0:
                return v
        return live[-1][1]

    def const(self) -> str:
        r = self.r
        if r.random() < 0.6:
            return r.choice(["0.5", "1.5", "2.0", "-0.5", "0.25", "0.3", "-1.0", "0.1", "3.0"])
        return repr(round(r.uniform(-2.0, 2.0), 2))

    def shape(self) -> tuple:
        r = self.r
        if r.random() < 0.55:
            return (r.choice(self.dims),)
        return (r.choice(self.dims), r.choice(self.dims))

    def emit(self, indent: int, text: str, tag: str | None) -> None:
        self.lines.append((indent, text, tag))

    # -- int expressions: (text, lo, hi) -----------------------------------------------

    def iexpr(self, sc: _Scope, small: bool = False) -> tuple:
        r = self.r
        opts = [(n, sc.names[n][1], sc.names[n][2]) for n in sc.of(lambda t: t[0] == "i")]
        c = r.randint(0, 4)
        opts.append((str(c), c, c))
        if self.on("int_arith"):
            arrs = sc.of(is_arr)
            if arrs:
                a = r.choice(arrs)
                shp = sc.names[a][1]
                k = r.randrange(len(shp))
                text = f"len({a})" if k == 0 and r.random() < 0.5 else f"{a}.shape[{k}]"
                opts.append((text, shp[k], shp[k]))
        text, lo, hi = r.choice(opts)
        if self.on("int_arith") and r.random() < 0.3:
            op = r.choice(["+", "-", "%", "//", "*"])
            if op == "+":
                c = r.randint(1, 2)
                text, lo, hi = f"({text} + {c})", lo + c, hi + c
            elif op == "-":
                c = r.randint(1, 2)
                text, lo, hi = f"({text} - {c})", lo - c, hi - c
            elif op == "%":
                c = r.randint(2, 3)
                text, lo, hi = f"({text} % {c})", 0, c - 1
            elif op == "//":
                text, lo, hi = f"({text} // 2)", lo // 2, hi // 2
            else:
                text, lo, hi = f"({text} * 2)", lo * 2, hi * 2
        if small and hi > 6:
            text, lo, hi = f"({text} % 5)", 0, 4
        return text, lo, hi

    def index(self, sc: _Scope, n: int) -> str:
        """An int expression that is a valid index into an axis of length n."""
        r = self.r
        if r.random() < 0.35 or not self.on("int_arith"):
            return str(r.randint(-n, n - 1))
        text, lo, hi = self.iexpr(sc)
        if -n <= lo and hi <= n - 1:
            return text
        return f"{text} % {n}"

    def span(self, n: int, length: int | None = None) -> tuple:
        """A non-empty slice a:b of an axis of length n (length b - a if given)."""
        r = self.r
        L = length if length is not None else r.randint(1, n)
        a = r.randint(0, n - L)
        return a, a + L

    # -- float scalar expressions -------------------------------------------------------

    def fexpr(self, sc: _Scope, d: int | None = None) -> str:
        if d is None:
            d = self.cfg.max_expr_depth
        r = self.r
        if d <= 0 or r.random() < 0.22:
            return self.fatom(sc, d)
        kind = self.pick([
            ("unary", "unary"), ("binary", "binary"), ("div", "div"), ("power", "power"),
            ("int_power", "int_power"), ("maxmin", "maxmin"), ("abs", "abs"),
            ("clip", "clip"), ("two_arg", "two_arg"), ("cond_expr", "cond_expr"),
            ("reduce", "reduce"), ("index", "index"), ("dot", "dot"),
            ("int_arith", "float_int"),
        ])
        e = lambda: self.fexpr(sc, d - 1)  # noqa: E731
        if kind == "unary":
            return self.unary(e(), scalar=True)
        if kind == "binary":
            return f"({e()} {r.choice(['+', '-', '*', '+'])} {e()})"
        if kind == "div":
            a, b = e(), e()
            return r.choice([f"({a} / (1.0 + {b} * {b}))", f"({a} / (np.abs({b}) + 0.5))"])
        if kind == "power":
            a = e()
            return r.choice([f"({a} ** 2)", f"({a} ** 3)", f"(({a} * {a} + 1.0) ** 0.5)",
                             f"np.square({a})", f"(np.abs({a}) ** 1.5)"])
        if kind == "int_power":
            k, lo, hi = self.iexpr(sc)
            if lo < 0 or hi > 4:
                k = f"({k} % 3)"
            return f"({e()} ** {k})"
        if kind == "maxmin":
            f = r.choice(["np.maximum", "np.minimum", "max", "min"])
            return f"{f}({e()}, {r.choice([e(), self.const()])})"
        if kind == "abs":
            return f"{r.choice(['abs', 'np.abs'])}({e()})"
        if kind == "clip":
            return f"np.clip({e()}, -1.0, 1.0)"
        if kind == "two_arg":
            a, b = e(), e()
            return r.choice([f"np.hypot({a}, {b})", f"np.arctan2({a}, {b})"])
        if kind == "cond_expr":
            return f"({e()} if {self.cond(sc, d - 1)} else {e()})"
        if kind == "reduce":
            return self.reduction(sc, d - 1)
        if kind == "index":
            return self.element(sc, d - 1)
        if kind == "dot":
            n = r.choice(self.dims)
            a, b = self.aexpr(sc, (n,), d - 1), self.aexpr(sc, (n,), d - 1)
            return r.choice([f"np.dot({a}, {b})", f"({a} @ {b})"])
        if kind == "float_int":
            k = self.iexpr(sc)[0]
            return r.choice([f"float({k})", f"({k} * {e()})", f"({e()} / ({k} * {k} + 1))"])
        return self.fatom(sc, d)

    def fatom(self, sc: _Scope, d: int) -> str:
        r = self.r
        floats = sc.of(lambda t: t == FLOAT)
        x = r.random()
        if floats and x < 0.6:
            return r.choice(floats)
        if sc.of(is_arr) and x < 0.85 and self.on("index"):
            return self.element(sc, 0)
        return self.const()

    def unary(self, e: str, scalar: bool) -> str:
        r = self.r
        forms = [f"np.sin({e})", f"np.cos({e})", f"np.tanh({e})", f"np.exp(0.5 * np.tanh({e}))",
                 f"np.log(1.0 + {e} * {e})", f"np.sqrt(np.abs({e}) + 0.5)",
                 f"np.sqrt({e} * {e} + 0.25)", f"np.arctan({e})",
                 f"np.arcsin(0.9 * np.tanh({e}))", f"np.log1p({e} * {e})",
                 f"np.expm1(np.sin({e}))", f"np.sinh(np.tanh({e}))", f"np.cosh(np.sin({e}))",
                 f"np.exp(-{e} * {e})", f"np.log(np.cosh({e}))", f"np.cbrt({e} * {e} + 1.0)",
                 f"np.reciprocal(1.0 + {e} * {e})", f"np.arccos(0.8 * np.sin({e}))"]
        if scalar:
            forms += [f"math.sin({e})", f"math.exp(math.tanh({e}))", f"math.sqrt({e} * {e} + 1.0)"]
        return r.choice(forms)

    def cond(self, sc: _Scope, d: int | None = None) -> str:
        r = self.r
        if d is None:
            d = 1
        x = r.random()
        if x < 0.12 and sc.of(lambda t: t[0] == "i"):
            k = self.iexpr(sc)[0]
            return r.choice([f"{k} > {r.randint(0, 3)}", f"{k} % 2 == 0",
                             f"{k} < {r.randint(1, 4)}"])
        if x < 0.2:
            return f"({self.cond(sc, 0)} {r.choice(['and', 'or'])} {self.cond(sc, 0)})"
        if x < 0.24:
            return f"(not {self.cond(sc, 0)})"
        a = self.fexpr(sc, max(d, 0))
        b = self.const() if r.random() < 0.6 else self.fexpr(sc, max(d - 1, 0))
        return f"{a} {r.choice(['>', '<', '>=', '<='])} {b}"

    def element(self, sc: _Scope, d: int) -> str:
        """A float read from an array: a[i], A[i, j], A[i][j]."""
        r = self.r
        arrs = sc.of(is_arr)
        if not arrs:
            return self.const()
        a = r.choice(arrs)
        shp = sc.names[a][1]
        if len(shp) == 1:
            return f"{a}[{self.index(sc, shp[0])}]"
        i, j = self.index(sc, shp[0]), self.index(sc, shp[1])
        return f"{a}[{i}, {j}]" if r.random() < 0.85 else f"{a}[{i}][{j}]"

    def reduction(self, sc: _Scope, d: int) -> str:
        r = self.r
        a = self.aexpr(sc, self.shape(), d)
        f = r.choice(["np.sum", "np.sum", "np.mean", "np.max", "np.min", "np.sum", "np.prod",
                      "np.var", "method"])
        if f == "method":
            return f"{a}.{r.choice(['sum', 'mean', 'max'])}()"
        return f"{f}({a})"

    # -- array expressions --------------------------------------------------------------

    def aexpr(self, sc: _Scope, shape: tuple, d: int | None = None) -> str:
        if d is None:
            d = self.cfg.max_expr_depth
        r = self.r
        if d <= 0 or r.random() < 0.25:
            return self.aatom(sc, shape)
        nd = len(shape)
        opts = [("unary", "unary"), ("binary", "binary"), ("binary", "scalar_binary"),
                ("maxmin", "maxmin"), ("abs", "abs"), ("power", "power"), ("div", "div"),
                ("where", "where"), ("cumsum", "cumsum"), ("matmul", "matmul"),
                ("reduce_axis", "reduce_axis"), ("broadcast", "broadcast"),
                ("clip", "clip"), ("cond_expr", "cond_expr")]
        if nd == 2:
            opts += [("transpose", "transpose"), ("outer", "outer")]
        kind = self.pick(opts)
        e = lambda s=shape: self.aexpr(sc, s, d - 1)  # noqa: E731
        if kind == "unary":
            return self.unary(e(), scalar=False)
        if kind == "binary":
            return f"({e()} {r.choice(['+', '-', '*'])} {e()})"
        if kind == "scalar_binary":
            s = self.fexpr(sc, d - 1) if r.random() < 0.5 else self.const()
            op = r.choice(["+", "-", "*"])
            return f"({e()} {op} {s})" if r.random() < 0.5 else f"({s} {op} {e()})"
        if kind == "maxmin":
            other = e() if r.random() < 0.5 else self.const()
            return f"{r.choice(['np.maximum', 'np.minimum'])}({e()}, {other})"
        if kind == "abs":
            return f"{r.choice(['np.abs', 'abs'])}({e()})"
        if kind == "power":
            return r.choice([f"({e()} ** 2)", f"np.square({e()})", f"(np.abs({e()}) ** 1.5)"])
        if kind == "div":
            b = e()
            return f"({e()} / (1.0 + {b} * {b}))"
        if kind == "clip":
            return f"np.clip({e()}, -1.0, 1.0)"
        if kind == "where":
            c = self.acond(sc, shape, d - 1)
            a = e() if r.random() < 0.8 else self.const()
            b = e() if r.random() < 0.8 else self.const()
            return f"np.where({c}, {a}, {b})"
        if kind == "cumsum":
            if nd == 1 or r.random() < 0.8:   # 2-D: the flattened cumsum, reshaped
                return f"np.cumsum({e()})" if nd == 1 else \
                    f"np.cumsum({e()}).reshape({shape[0]}, {shape[1]})"
            return f"np.cumsum({e()}, axis={r.randint(0, 1)})"
        if kind == "matmul":
            k = r.choice(self.dims)
            if nd == 1:
                if r.random() < 0.5:
                    A, v = e((shape[0], k)), e((k,))
                    return r.choice([f"({A} @ {v})", f"np.dot({A}, {v})"])
                v, A = e((k,)), e((k, shape[0]))
                return f"({v} @ {A})"
            A, B = e((shape[0], k)), e((k, shape[1]))
            return r.choice([f"({A} @ {B})", f"np.dot({A}, {B})"])
        if kind == "reduce_axis":
            k = r.choice(self.dims)
            f = r.choice(["np.sum", "np.sum", "np.mean", "np.max", "np.min"])
            if nd == 1:
                if r.random() < 0.5:
                    return f"{f}({e((shape[0], k))}, axis=1)"
                return f"{f}({e((k, shape[0]))}, axis=0)"
            if r.random() < 0.5:   # keepdims: (R, 1) or (1, C) broadcast against (R, C)
                return f"({e()} - {f}({e()}, axis={r.randint(0, 1)}, keepdims=True))"
            return f"({e()} * {f}({e()}))"
        if kind == "broadcast":
            if nd == 1:
                return f"({e()} * {self.fexpr(sc, d - 1)})"
            R, C = shape
            x = r.random()
            if x < 0.4:
                return f"({e()} {r.choice(['+', '*', '-'])} {e((C,))})"
            if x < 0.7:
                return f"({e((R,))}[:, None] {r.choice(['+', '*', '-'])} {e((C,))})"
            return f"({e((C,))} * {e()})"
        if kind == "transpose":
            return f"{self.paren(e((shape[1], shape[0])))}.T"
        if kind == "outer":
            return f"np.outer({e((shape[0],))}, {e((shape[1],))})"
        if kind == "cond_expr":
            return f"({e()} if {self.cond(sc, d - 1)} else {e()})"
        return self.aatom(sc, shape)

    @staticmethod
    def paren(text: str) -> str:
        return text if text.isidentifier() or text.startswith("(") and text.endswith(")") \
            and text.count("(") == 1 else f"({text})"

    def acond(self, sc: _Scope, shape: tuple, d: int) -> str:
        r = self.r
        a = self.aexpr(sc, shape, d)
        b = self.const() if r.random() < 0.5 else self.aexpr(sc, shape, d)
        return f"{a} {r.choice(['>', '<'])} {b}"

    def sources(self, sc: _Scope, shape: tuple) -> list[str]:
        """Slices and plain names of arrays in scope that have exactly ``shape``."""
        r = self.r
        out = []
        for n in sc.of(is_arr):
            s = sc.names[n][1]
            if s == shape:
                out += [n, n]
                if self.on("reverse") and len(s) == 1 and r.random() < 0.3:
                    out.append(f"{n}[::-1]")
            if not self.on("slice"):
                continue
            if len(shape) == 1:
                L = shape[0]
                if len(s) == 1 and s[0] > L:
                    a, b = self.span(s[0], L)
                    out.append(f"{n}[{a}:{b}]")
                if len(s) == 2 and s[1] == L:
                    out.append(f"{n}[{self.index(sc, s[0])}]")
                if len(s) == 2 and s[0] == L:
                    out.append(f"{n}[:, {self.index(sc, s[1])}]")
                if len(s) == 2 and s[1] > L:
                    a, b = self.span(s[1], L)
                    out.append(f"{n}[{self.index(sc, s[0])}, {a}:{b}]")
            elif len(s) == 2 and s[0] >= shape[0] and s[1] >= shape[1] and s != shape:
                a, b = self.span(s[0], shape[0])
                c, e = self.span(s[1], shape[1])
                if s[1] == shape[1] and r.random() < 0.5:
                    out.append(f"{n}[{a}:{b}]")
                else:
                    out.append(f"{n}[{a}:{b}, {c}:{e}]")
            if self.on("transpose") and len(s) == 2 and len(shape) == 2 and \
                    s == (shape[1], shape[0]):
                out.append(f"{n}.T")
        return out

    def aatom(self, sc: _Scope, shape: tuple) -> str:
        r = self.r
        srcs = self.sources(sc, shape)
        if srcs and (r.random() < 0.9 or not self.on("const_array")):
            return r.choice(srcs)
        shp = str(shape[0]) if len(shape) == 1 else f"({shape[0]}, {shape[1]})"
        same = [n for n in sc.of(is_arr) if sc.names[n][1] == shape]
        forms = [f"np.ones({shp})", f"np.full({shp}, {self.const()})",
                 f"({self.const()} * np.ones({shp}))"]
        if len(shape) == 1:
            forms.append(f"np.linspace(-1.0, 1.0, {shape[0]})")
        if same:
            forms.append(f"np.ones_like({r.choice(same)})")
        if not srcs:
            # a fresh array with some data in it, so that gradients flow
            floats = sc.of(lambda t: t == FLOAT)
            if floats:
                forms += [f"({r.choice(floats)} * np.ones({shp}))"] * 3
        return r.choice(forms)

    # -- statements ---------------------------------------------------------------------

    def block(self, sc: _Scope, ctx: dict, indent: int, n: int) -> None:
        """Emit about n statements at this indent (at least one)."""
        count = 0
        while count < max(n, 1) and (self.budget > 0 or count == 0):
            self.stmt(sc, ctx, indent)
            count += 1

    def stmt(self, sc: _Scope, ctx: dict, indent: int) -> None:
        self.budget -= 1
        nest = ctx["nest"]
        arrs = sc.of(is_arr)
        arrs2 = [a for a in arrs if len(sc.names[a][1]) == 2]
        floats = [n for n in sc.of(lambda t: t == FLOAT) if n not in sc.fixed]
        opts = [("assign", "assign"), ("assign_array", "assign_array")]
        if floats:
            opts.append(("aug_scalar", "aug_scalar"))
        if arrs:
            opts += [("elem_write", "elem_write"), ("aug_elem", "aug_elem"),
                     ("slice_write", "slice_write"), ("aug_slice", "aug_slice"),
                     ("aug_array", "aug_array"), ("alias", "alias"), ("copy", "copy"),
                     ("view", "view")]
        if arrs2:
            opts += [("row_write", "row_write"), ("col_write", "col_write")]
        if nest < self.cfg.max_nest and self.budget > 1:
            opts += [("if", "if"), ("for", "for"), ("while", "while")]
        if not ctx.get("helper"):
            opts.append(("helper_call", "helper_call"))
            if arrs:
                opts.append(("helper_write", "helper_write"))
        kind = self.pick(opts)
        getattr(self, "s_" + kind)(sc, ctx, indent)

    def s_assign(self, sc, ctx, ind):
        r = self.r
        floats = [n for n in sc.of(lambda t: t == FLOAT) if n not in sc.fixed]
        if floats and r.random() < 0.4:
            name = r.choice(floats)
        else:
            name = self.fresh("s")
        self.emit(ind, f"{name} = {self.fexpr(sc)}", "assign")
        sc.names[name] = FLOAT

    def s_assign_array(self, sc, ctx, ind):
        r = self.r
        arrs = [n for n in sc.of(is_arr) if n not in sc.fixed]
        if arrs and r.random() < 0.35:
            name = r.choice(arrs)
            shape = sc.names[name][1]
        else:
            shape = self.shape()
            name = self.fresh("v" if len(shape) == 1 else "M")
        self.emit(ind, f"{name} = {self.aexpr(sc, shape)}", "assign_array")
        sc.names[name] = ARR(*shape)

    def s_aug_scalar(self, sc, ctx, ind):
        r = self.r
        name = r.choice([n for n in sc.of(lambda t: t == FLOAT) if n not in sc.fixed])
        op = r.choice(["+=", "-=", "*=", "/=", "+="])
        e = self.fexpr(sc, 2)
        if op == "*=":
            e = r.choice([f"np.tanh({e})", f"np.cos({e})", "0.5", "1.5"])
        elif op == "/=":
            e = f"(1.0 + {e} * {e})"
        self.emit(ind, f"{name} {op} {e}", "aug_scalar")

    def _arr(self, sc, ndim=None):
        arrs = [a for a in sc.of(is_arr) if ndim is None or len(sc.names[a][1]) == ndim]
        a = self.r.choice(arrs)
        return a, sc.names[a][1]

    def s_elem_write(self, sc, ctx, ind, aug=False):
        r = self.r
        a, shp = self._arr(sc)
        idx = ", ".join(self.index(sc, n) for n in shp)
        op = r.choice(["+=", "-=", "*="]) if aug else "="
        e = self.fexpr(sc, 2)
        if op == "*=":
            e = r.choice([f"np.tanh({e})", "0.5", "-1.5", f"np.cos({e})"])
        self.emit(ind, f"{a}[{idx}] {op} {e}", "aug_elem" if aug else "elem_write")

    def s_aug_elem(self, sc, ctx, ind):
        self.s_elem_write(sc, ctx, ind, aug=True)

    def _rhs(self, sc, shape, scalar_ok=True):
        r = self.r
        if scalar_ok and r.random() < 0.3:
            return self.fexpr(sc, 1)
        return _own(self.aexpr(sc, shape, 2))

    def s_slice_write(self, sc, ctx, ind, aug=False):
        r = self.r
        a, shp = self._arr(sc)
        op = r.choice(["+=", "-=", "*="]) if aug else "="
        if len(shp) == 1:
            lo, hi = self.span(shp[0])
            target, tshape = f"{a}[{lo}:{hi}]", (hi - lo,)
            if r.random() < 0.15:
                target, tshape = f"{a}[:]", shp
        else:
            lo, hi = self.span(shp[0])
            c0, c1 = self.span(shp[1])
            if r.random() < 0.4:
                target, tshape = f"{a}[{lo}:{hi}]", (hi - lo, shp[1])
            else:
                target, tshape = f"{a}[{lo}:{hi}, {c0}:{c1}]", (hi - lo, c1 - c0)
        rhs = self._rhs(sc, tshape)
        if len(tshape) == 2 and r.random() < 0.25:
            rhs = self.aexpr(sc, tshape[1:], 2)     # a row broadcast over the block
        if op == "*=":
            rhs = r.choice(["0.5", "-1.5", f"np.tanh({self._rhs(sc, tshape)})"])
        self.emit(ind, f"{target} {op} {rhs}", "aug_slice" if aug else "slice_write")

    def s_aug_slice(self, sc, ctx, ind):
        r = self.r
        if r.random() < 0.3 and sc.of(lambda t: is_arr(t) and len(t[1]) == 2):
            a, shp = self._arr(sc, 2)
            op = r.choice(["+=", "-=", "*="])
            if r.random() < 0.5:
                target, tshape = f"{a}[:, {self.index(sc, shp[1])}]", (shp[0],)
            else:
                target, tshape = f"{a}[{self.index(sc, shp[0])}]", (shp[1],)
            rhs = self._rhs(sc, tshape) if op != "*=" else r.choice(["0.5", "2.0"])
            self.emit(ind, f"{target} {op} {rhs}", "aug_slice")
            return
        self.s_slice_write(sc, ctx, ind, aug=True)

    def s_row_write(self, sc, ctx, ind):
        r = self.r
        a, shp = self._arr(sc, 2)
        i = self.index(sc, shp[0])
        target = f"{a}[{i}]" if r.random() < 0.5 else f"{a}[{i}, :]"
        self.emit(ind, f"{target} = {self._rhs(sc, (shp[1],))}", "row_write")

    def s_col_write(self, sc, ctx, ind):
        a, shp = self._arr(sc, 2)
        j = self.index(sc, shp[1])
        self.emit(ind, f"{a}[:, {j}] = {self._rhs(sc, (shp[0],))}", "col_write")

    def s_aug_array(self, sc, ctx, ind):
        r = self.r
        a, shp = self._arr(sc)
        op = r.choice(["+=", "-=", "*=", "+="])
        if op == "*=":
            rhs = r.choice(["0.5", "1.5", f"np.tanh({self.fexpr(sc, 1)})",
                            f"np.cos({self.aexpr(sc, shp, 1)})"])
        else:
            rhs = self._rhs(sc, shp)
            if len(shp) == 2 and r.random() < 0.25:
                rhs = self.aexpr(sc, shp[1:], 1)
        self.emit(ind, f"{a} {op} {rhs}", "aug_array")

    def s_alias(self, sc, ctx, ind):
        r = self.r
        a, shp = self._arr(sc)
        b = self.fresh("al")
        self.emit(ind, f"{b} = {a}", "alias")
        sc.names[b] = ARR(*shp)
        # a write through one name, usually followed by reads of the other
        if r.random() < 0.7:
            w = r.choice([a, b])
            idx = ", ".join(self.index(sc, n) for n in shp)
            self.emit(ind, f"{w}[{idx}] = {self.fexpr(sc, 1)}", "alias")

    def s_view(self, sc, ctx, ind):
        a, shp = self._arr(sc)
        b = self.fresh("vw")
        if len(shp) == 1 and shp[0] > 1:
            lo, hi = self.span(shp[0])
            text, nshape = f"{a}[{lo}:{hi}]", (hi - lo,)
        elif len(shp) == 2:
            text, nshape = f"{a}[{self.index(sc, shp[0])}]", (shp[1],)
        else:
            text, nshape = f"{a}[::-1]", shp
        self.emit(ind, f"{b} = {text}", "view")
        sc.names[b] = ARR(*nshape)

    def s_copy(self, sc, ctx, ind):
        a, shp = self._arr(sc)
        b = self.fresh("cp")
        self.emit(ind, f"{b} = {a}.copy()", "copy")
        sc.names[b] = ARR(*shp)

    def _exit(self, sc, ctx, ind) -> bool:
        """Maybe end an if-body with break/continue/return."""
        r = self.r
        opts = []
        if ctx.get("loop"):
            opts += [("break", "break"), ("continue", "continue")]
        opts.append(("return", "return"))
        if r.random() > 0.35:
            return False
        kind = self.pick(opts)
        if kind is None:
            return False
        if kind == "return":
            if ctx.get("returns") == "none":
                self.emit(ind, "return", "return")
            else:
                self.emit(ind, f"return {self.result_expr(sc, ctx, small=True)}"
                          f"{ctx.get('also', '')}", "return")
        else:
            self.emit(ind, kind, kind)
        return True

    def s_if(self, sc, ctx, ind):
        r = self.r
        inner = dict(ctx, nest=ctx["nest"] + 1)
        self.emit(ind, f"if {self.cond(sc)}:", "if")
        self.block(sc.child(), inner, ind + 1, r.randint(1, 3))
        self._exit(sc, ctx, ind + 1)
        x = r.random()
        if x < 0.25:
            self.emit(ind, f"elif {self.cond(sc)}:", "if")
            self.block(sc.child(), inner, ind + 1, r.randint(1, 2))
            self._exit(sc, ctx, ind + 1)
        if x < 0.7:
            self.emit(ind, "else:", None)
            self.block(sc.child(), inner, ind + 1, r.randint(1, 2))
            self._exit(sc, ctx, ind + 1)

    def s_for(self, sc, ctx, ind):
        r = self.r
        i = self.fresh("i")
        k, lo, hi = self.iexpr(sc, small=True)
        x = r.random()
        if x < 0.55:
            head, ilo, ihi = f"range({k})", 0, max(hi - 1, 0)
        elif x < 0.75:
            s = r.randint(1, 2)
            head, ilo, ihi = f"range({s}, {k})", s, max(hi - 1, s)
        elif x < 0.9:
            c = r.randint(2, 4)
            head, ilo, ihi = f"range({c} - 1, -1, -1)", 0, c - 1
        else:
            c = r.randint(2, 5)
            head, ilo, ihi = f"range(0, {c}, 2)", 0, c - 1
        self.emit(ind, f"for {i} in {head}:", "for")
        body = sc.child()
        body.names[i] = INT(ilo, ihi)
        body.fixed.add(i)
        self.block(body, dict(ctx, nest=ctx["nest"] + 1, loop=True), ind + 1, r.randint(1, 4))

    def s_while(self, sc, ctx, ind):
        r = self.r
        j = self.fresh("j")
        T = r.randint(1, 5)
        self.emit(ind, f"{j} = 0", "while")
        cond = f"{j} < {T}"
        if r.random() < 0.5:
            cond += f" and ({self.cond(sc, 1)})"
        self.emit(ind, f"while {cond}:", "while")
        self.emit(ind + 1, f"{j} += 1", "while")
        body = sc.child()
        body.names[j] = INT(1, T)
        body.fixed.add(j)
        self.block(body, dict(ctx, nest=ctx["nest"] + 1, loop=True), ind + 1, r.randint(1, 3))

    # -- helpers ------------------------------------------------------------------------

    def _params(self, sc: _Scope, want_array: bool) -> list:
        """Argument expressions and parameter types for a helper call."""
        r = self.r
        args, types = [], []
        if want_array:
            a, shp = self._arr(sc)
            args.append(a)
            types.append(ARR(*shp))
        for _ in range(r.randint(1, 2)):
            x = r.random()
            if x < 0.55:
                args.append(self.fexpr(sc, 1))
                types.append(FLOAT)
            elif x < 0.8 and sc.of(is_arr):
                a, shp = self._arr(sc)
                if r.random() < 0.3:
                    args.append(self.aexpr(sc, shp, 1))
                else:
                    args.append(a)
                types.append(ARR(*shp))
            else:
                k, lo, hi = self.iexpr(sc, small=True)
                args.append(k)
                types.append(INT(lo, hi))
        return args, types

    def make_helper(self, types: list, kind: str) -> str:
        """Generate a helper with these parameter types; kind "value" returns a float,
        "write" writes into its first (array) parameter and returns nothing."""
        r = self.r
        name = self.fresh("h" if kind == "value" else "w")
        saved = (self.lines, self.budget)
        self.lines = []
        self.budget = r.randint(1, 4)
        sc = _Scope()
        params = []
        for t in types:
            p = self.fresh({"f": "p", "i": "q", "a": "P"}[t[0]])
            params.append(p)
            sc.names[p] = t
            if t[0] == "i":
                sc.fixed.add(p)
        self.emit(0, f"def {name}({', '.join(params)}):", None)
        ctx = {"nest": 1, "helper": True, "returns": "none" if kind == "write" else "float"}
        if kind == "write":
            a, shp = params[0], types[0][1]
            idx = ", ".join(self.index(sc, n) for n in shp)
            self.emit(1, f"{a}[{idx}] = {self.fexpr(sc, 2)}", "helper_write")
            self.block(sc, ctx, 1, r.randint(0, 3))
            if r.random() < 0.5:
                self.s_slice_write(sc, ctx, 1, aug=r.random() < 0.5)
                self.lines[-1] = self.lines[-1][:2] + ("helper_write",)
        else:
            self.block(sc, ctx, 1, r.randint(1, 3))
            self.emit(1, f"return {self.result_expr(sc, ctx, small=True)}", "helper_call")
        lines = self.lines
        self.lines, self.budget = saved
        self.helpers.append({"name": name, "kind": kind, "types": types, "lines": lines})
        return name

    def s_helper_call(self, sc, ctx, ind):
        r = self.r
        same = [h for h in self.helpers if h["kind"] == "value"]
        if same and (r.random() < 0.4 or len(self.helpers) >= self.cfg.max_helpers):
            h = r.choice(same)
            args = [self._arg_for(sc, t) for t in h["types"]]
            if None in args:
                return self.s_assign(sc, ctx, ind)
            name = h["name"]
        elif len(self.helpers) < self.cfg.max_helpers:
            args, types = self._params(sc, want_array=False)
            name = self.make_helper(types, "value")
        else:
            return self.s_assign(sc, ctx, ind)
        out = self.fresh("s")
        self.emit(ind, f"{out} = {name}({', '.join(args)})", "helper_call")
        sc.names[out] = FLOAT

    def s_helper_write(self, sc, ctx, ind):
        r = self.r
        same = [h for h in self.helpers if h["kind"] == "write"]
        if same and (r.random() < 0.4 or len(self.helpers) >= self.cfg.max_helpers):
            h = r.choice(same)
            args = [self._arg_for(sc, t, name_only=(k == 0)) for k, t in enumerate(h["types"])]
            if None in args:
                return self.s_elem_write(sc, ctx, ind)
            name = h["name"]
        elif len(self.helpers) < self.cfg.max_helpers:
            args, types = self._params(sc, want_array=True)
            name = self.make_helper(types, "write")
        else:
            return self.s_elem_write(sc, ctx, ind)
        self.emit(ind, f"{name}({', '.join(args)})", "helper_write")

    def _arg_for(self, sc: _Scope, t: tuple, name_only: bool = False):
        r = self.r
        if t == FLOAT:
            return self.fexpr(sc, 1)
        if t[0] == "i":
            ints = [(n, sc.names[n]) for n in sc.of(lambda u: u[0] == "i")]
            ok = [n for n, u in ints if t[1] <= u[1] and u[2] <= t[2]]
            if ok and r.random() < 0.6:
                return r.choice(ok)
            return str(r.randint(max(t[1], 0), max(t[2], 0))) if t[1] <= max(t[1], 0) <= t[2] \
                else str(t[1])
        same = [n for n in sc.of(is_arr) if sc.names[n][1] == t[1]]
        if name_only:
            return r.choice(same) if same else None
        if same and r.random() < 0.7:
            return r.choice(same)
        return self.aexpr(sc, t[1], 1)

    # -- results ------------------------------------------------------------------------

    def result_expr(self, sc: _Scope, ctx: dict, small: bool = False) -> str:
        """A float combining several names in scope (arrays reduced), so that writes and
        aliases are observable in the result."""
        r = self.r
        names = [n for n in sc.names if sc.names[n][0] != "i"]
        r.shuffle(names)
        keep = names[: (r.randint(1, 2) if small else r.randint(2, 5))]
        parts = []
        for n in keep:
            t = sc.names[n]
            if t == FLOAT:
                parts.append(n if r.random() < 0.7 else f"{self.const()} * {n}")
            else:
                parts.append(r.choice([f"np.sum({n} * {n})", f"np.sum(np.sin({n}))",
                                       f"np.mean({n})", f"np.sum({n})",
                                       f"np.sum(np.tanh({n}) * {n})"]))
        if not parts:
            parts = [self.const()]
        return " + ".join(parts)

    # -- the main function ----------------------------------------------------------------

    def program(self) -> Program:
        r = self.r
        sc = _Scope()
        params, args = [], []
        for name in ["x", "y", "z"][: r.randint(1, 3)]:
            params.append(name)
            sc.names[name] = FLOAT
        arr_names = iter(["a", "b", "c"])
        mat_names = iter(["A", "B", "C"])
        shapes = []
        for _ in range(r.choice([0, 1, 1, 2, 2, 3])):
            s = self.shape()
            name = next(arr_names) if len(s) == 1 else next(mat_names)
            params.append(name)
            sc.names[name] = ARR(*s)
            shapes.append(s)
        for name in ["n", "k"][: r.choice([0, 0, 1, 1, 2])]:
            lo = r.randint(0, 1)
            hi = lo + r.randint(1, 4)
            params.append(name)
            sc.names[name] = INT(lo, hi)
            sc.fixed.add(name)
        r.shuffle(params)
        self.lines = []
        self.emit(0, f"def f({', '.join(params)}):", None)
        self.budget = r.randint(self.cfg.min_stmts, self.cfg.max_stmts) - 1
        ctx = {"nest": 0, "returns": "float"}
        arrs = sc.of(is_arr)
        if arrs and r.random() < 0.3 * self.w.get("tuple_return", 0.0):
            ctx["also"] = f", {r.choice(arrs)}"     # every return gives (float, that array)
        while self.budget > 0:
            self.stmt(sc, ctx, 1)
        self.emit(1, f"return {self.result_expr(sc, ctx)}{ctx.get('also', '')}", "return")
        main = self.lines
        # arguments (from a second stream, so that changing the args keeps the program)
        ar = np.random.default_rng(self.seed)
        for p in params:
            t = sc.names[p]
            if t == FLOAT:
                args.append(float(np.round(ar.uniform(-1.5, 1.5), 6)))
            elif t[0] == "i":
                args.append(int(ar.integers(t[1], t[2] + 1)))
            else:
                args.append(np.round(ar.uniform(-1.5, 1.5, t[1]), 6))
        text, tags = render(self.helpers, main)
        return Program(self.seed, text, tuple(args), tags)


HEADER = "import math\n\nimport numpy as np\n\n"


def render(helpers: list, main: list) -> tuple:
    out = HEADER.splitlines()
    tags = {}
    for lines in [h["lines"] for h in helpers] + [main]:
        out.append("")
        for indent, text, tag in lines:
            out.append("    " * indent + text)
            if tag:
                tags[len(out)] = tag
    return "\n".join(out) + "\n", tags


def generate(seed: int, config: Config | None = None) -> Program:
    return Generator(seed, config).program()
