"""Public transforms: ``differentiate`` and JAX-compatible ``grad``, ``value_and_grad``, ``jvp``,
``vjp``, ``jacfwd``, ``jacrev``, ``hessian``, ``hvp``.

Each transform compiles once per (function, transform, argument types): lower -> AD ->
optimize -> Python source -> ``numba.njit(cache=True)``.  The per-call path is a generated
wrapper doing one dictionary lookup on the argument types and the compiled call.
"""
from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .ad import jvp_function, vjp_function
from .codegen import generate_module, load_function
from .errors import SrcadTypeError, SrcadValueError
from .frontend import lower_function, parse_function
from .frontend.snapshot import fresh
from .ir.core import Function, clone_function
from .ir.types import Type, type_of_python_value
from .passes import optimize
from .passes.inplace import make_inplace_safe


@dataclass(frozen=True)
class Spec:
    """What to compile: the transform and its options (hashable; part of the cache key)."""
    kind: str  # "primal" | "grad" | "jvp" | "vjp" | "hvp"
    argnums: object = None  # int | tuple[int, ...] | None (all params)
    has_aux: bool = False
    with_value: bool = False
    report_tape: bool = False
    checkpoint: object = None
    arg_writes: bool = False  # primal: write into the caller's arrays as Python does
    same: tuple = ()  # ((j, i), ...): argument j is the same array as argument i


class Differentiable:
    """A function compiled by srcad (use the ``differentiate`` decorator to make one).

    Example::

        >>> import numpy as np
        >>> from srcad import differentiate
        >>> @differentiate
        ... def f(x1, x2):
        ...     return np.log(x1) + x1 * x2 - np.sin(x2)
        >>> f.grad(2.0, 5.0)
        (5.5, 1.7163378145367738)
    """

    def __init__(self, fn: Callable, wrt=None, checkpoint=None, parallel: bool = False,
                 boundscheck: bool | None = None):
        if isinstance(fn, Differentiable):
            parallel = parallel or fn.parallel
            boundscheck = fn.boundscheck if boundscheck is None else boundscheck
            fn = fn.fn
        self.fn = fn
        self.info = parse_function(fn)  # syntax errors surface now, before anything runs
        functools.update_wrapper(self, fn)
        self.signature = inspect.signature(fn)
        self.param_names = [p.name for p in self.signature.parameters.values()]
        self.wrt = self._positions(wrt)
        self.checkpoint = _checkpoint_arg(checkpoint)
        self.parallel = bool(parallel)  # numba.njit(parallel=True): fused loops use prange
        self.boundscheck = boundscheck  # None: $SRCAD_BOUNDSCHECK (codegen/checks.py)
        self._ir: dict[tuple, Function] = {}
        self._compiled: dict[tuple, Callable] = {}
        self._entries: dict[Spec, Callable] = {}
        # f(...) goes straight to the generated entry: a per-function subclass holds it as
        # __call__ (special methods are looked up on the type, not the instance).
        self.__class__ = type(type(self).__name__, (type(self),),
                              {"__call__": staticmethod(self._entry(_CALL))})
        self.grad = self._entry(Spec("grad", self.wrt, ))
        self.value_and_grad = self._entry(Spec("grad", self.wrt, with_value=True))

    def __call__(self, *args, **kwargs):  # replaced per instance, see __init__
        return self._entry(_CALL)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<srcad.differentiate {self.fn.__module__}.{self.fn.__qualname__}>"

    def _positions(self, wrt):
        """Normalize names/positions; an int or a single name stays a bare int."""
        if wrt is None:
            return None
        def pos(w):
            if isinstance(w, str):
                if w not in self.param_names:
                    raise SrcadTypeError(f"{self.fn.__name__} has no parameter {w!r}")
                return self.param_names.index(w)
            return int(w)
        if isinstance(wrt, (str, int)):
            return pos(wrt)
        return tuple(pos(w) for w in wrt)

    # -- methods mirroring the free functions ---------------------------------------------

    def jvp(self, primals: Sequence, tangents: Sequence):
        return jvp(self, primals, tangents)

    def vjp(self, *primals):
        return vjp(self, *primals)

    def jacobian(self, *args, mode: str = "rev"):
        """Jacobian w.r.t. ``wrt`` (default: every argument, ``None`` for int ones, as in
        ``.grad``), by "rev" or "fwd" mode."""
        argnums = self.wrt if self.wrt is not None else tuple(range(len(args)))
        if mode == "rev":
            return jacrev(self, argnums)(*args)
        return jacfwd(self, argnums, _ints_as_none=self.wrt is None)(*args)

    def hessian(self, *args):
        """Hessian w.r.t. ``wrt`` (default: the float arguments)."""
        return hessian(self, self._method_argnums(args))(*args)

    def _method_argnums(self, args):
        if self.wrt is not None:
            return self.wrt
        floats = tuple(_float_positions(self, args))
        return floats[0] if len(floats) == 1 else floats

    def show(self, *args, mode: str = "reverse") -> str:
        return show(self, *args, mode=mode)

    # -- compilation -----------------------------------------------------------------------

    def bind(self, args, kwargs) -> tuple:
        if not kwargs and len(args) == len(self.param_names):
            return tuple(args)
        try:
            ba = self.signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self.fn.__name__}(): {e}") from None
        ba.apply_defaults()
        return tuple(ba.arguments[n] for n in self.param_names)

    def lower(self, types: tuple[Type, ...], arg_writes: bool = False,
              same: tuple = ()) -> Function:
        """The optimized IR of the function for these argument types and the current values
        of the globals and closure cells it folds (shared: transforms clone it, never mutate
        it).  ``arg_writes``: the IR of a call with Python's effects, which also returns the
        final contents of the argument arrays it writes into (``ir.arg_writes``: their
        positions).  ``same``: pairs (j, i) of arguments that are one array."""
        variants = self._ir.setdefault((types, arg_writes, same), [])
        ir = _fresh_variant(variants)
        if ir is None:
            if arg_writes and not same and not self.lower(types).writes_in_place:
                ir = self.lower(types)
            else:
                ir = lower_function(self.fn, list(types), self.param_names, arg_writes, same)
                facts = ir.out_tree, ir.arg_writes, ir.writes_in_place, ir.reads
                optimize(ir)  # AD then sees no dead carries or duplicate work
                ir.out_tree, ir.arg_writes, ir.writes_in_place, ir.reads = facts
            _add_variant(variants, ir.reads, ir)
        return ir

    def compiled(self, spec: Spec, args: tuple) -> Callable:
        """The compiled function for ``spec`` and these (bound) arguments."""
        return self.compiled_with_reads(spec, args)[0]

    def compiled_with_reads(self, spec: Spec, args: tuple) -> tuple[Callable, tuple]:
        """The compiled function and the outside values it was built for
        (``frontend.snapshot.Read``s: it is valid while they hold)."""
        try:
            types = tuple(type_of_python_value(a) for a in args)
        except TypeError as e:
            raise SrcadTypeError(f"{self.fn.__name__}(): {e}") from None
        variants = self._compiled.setdefault((spec, types), [])
        hit = _fresh_variant(variants, with_reads=True)
        if hit is None:
            fn, reads = self._build(spec, types)
            hit = (self._same_arrays(spec, types, fn, self.compiled), reads)
            _add_variant(variants, hit[1], hit[0])
        return _zero_d(hit[0], spec, args), hit[1]

    def _same_arrays(self, spec: Spec, types, fn: Callable, get: Callable) -> Callable:
        """``fn`` for arguments that share no memory.  A function that writes into arrays
        in place can see the same array passed for two parameters (Python: a write through one
        name is seen through the other): such calls go to code built for that aliasing
        (``get(spec with same, args)``)."""
        arrays = [i for i, t in enumerate(types) if t.ndim]
        if spec.same or len(arrays) < 2 or not self.lower(types).writes_in_place:
            return fn

        def call(*args):
            same = _shared_arrays(self, args, arrays)
            if not same:
                return fn(*args)
            if spec.kind != "primal":
                (j, i), = same[:1]
                raise SrcadValueError(
                    f"{self.fn.__name__} writes into its arrays in place and is given the same "
                    f"array for '{self.param_names[i]}' and '{self.param_names[j]}': a "
                    "derivative with respect to one of them alone is not defined",
                    self.info.loc(self.info.tree),
                    f"pass a copy for one of them ({self.param_names[j]}="
                    f"{self.param_names[i]}.copy())")
            return get(replace(spec, same=same), args)(*args)
        return call

    def interpreted(self, spec: Spec, args: tuple) -> Callable:
        """Like ``compiled`` but runs the transformed IR in the NumPy interpreter (the test
        oracle for code generation; no Numba involved)."""
        from .ir.interpreter import interpret as run
        types = tuple(type_of_python_value(a) for a in args)
        built = build_ir(self, spec, types)

        def call(*a):
            outs = run(built.ir, *a)
            return _structure(built.out_struct, [_item(o) for o in outs])
        return _zero_d(self._same_arrays(spec, types, _writing_back(call, built.arg_writes),
                                         self.interpreted), spec, args)

    def _build(self, spec: Spec, types) -> tuple[Callable, tuple]:
        built = build_ir(self, spec, types)
        src = generate_module(built.ir, built.name, built.out_struct, built.what,
                             report_tape=spec.report_tape, adjoint_from=built.adjoint_from,
                             decorator=_decorator(self.parallel), boundscheck=self.boundscheck)
        return _writing_back(load_function(src, built.name), built.arg_writes), built.reads

    def _entry(self, spec: Spec) -> Callable:
        entry = self._entries.get(spec)
        if entry is None:
            entry = _make_entry(self, spec)
            self._entries[spec] = entry
        return entry


def _shared_arrays(d: Differentiable, args: tuple, arrays: list[int]) -> tuple:
    """Pairs (j, i), i < j, of array arguments that are one array (the same object, or views
    of the same memory with the same shape and strides).  Arrays that overlap otherwise are an
    error: which elements a write through one changes in the other is not tracked."""
    same = []
    for k, j in enumerate(arrays):
        for i in arrays[:k]:
            a, b = args[i], args[j]
            if a is not b and not np.may_share_memory(a, b):
                continue
            if a is b or (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
                          and a.shape == b.shape and a.strides == b.strides
                          and a.dtype == b.dtype):
                same.append((j, i))
                break
            if np.shares_memory(a, b):
                raise SrcadValueError(
                    f"{d.fn.__name__} writes into its arrays in place and is given overlapping "
                    f"views of one array for '{d.param_names[i]}' and '{d.param_names[j]}': "
                    "srcad cannot tell which elements of one a write through the other "
                    "changes", d.info.loc(d.info.tree),
                    f"pass a copy for one of them ({d.param_names[j]}=....copy())")
    return tuple(same)


_CALL = Spec("primal", arg_writes=True)  # f(...) itself: Python's effects on its arguments


def _writing_back(fn: Callable, positions: list[int]) -> Callable:
    """``fn`` returns (results, final contents of the argument arrays at ``positions``): copy
    those into the caller's arrays, as the Python function would have written them."""
    if not positions:
        return fn

    def call(*args):
        out, finals = fn(*args)
        for i, v in zip(positions, finals):
            args[i][...] = v
        return out
    return call


def _item(o):
    """A NumPy scalar or 0-d result as a Python number (the interpreter's outputs)."""
    return o.item() if np.ndim(o) == 0 and hasattr(o, "item") else o


_VARIANTS = 8  # per argument types: IR / compiled code for this many sets of global values


def _fresh_variant(variants: list, with_reads: bool = False):
    """The most recent (reads, item) whose reads still hold, moved to the front; None if none
    (``with_reads``: the pair, else the item)."""
    for k, (reads, item) in enumerate(variants):
        if fresh(reads):
            if k:
                variants.insert(0, variants.pop(k))
            return (item, reads) if with_reads else item
    return None


def _add_variant(variants: list, reads: tuple, item) -> None:
    variants.insert(0, (reads, item))
    del variants[_VARIANTS:]


def _structure(s, outs):
    if s is None:
        return None
    if isinstance(s, int):
        return outs[s]
    return tuple(_structure(x, outs) for x in s)


@dataclass
class Built:
    ir: Function
    name: str
    out_struct: object
    what: str
    adjoint_from: int | None = None
    arg_writes: list[int] = field(default_factory=list)  # see _writing_back
    reads: tuple = ()  # outside values folded in (frontend/snapshot.py)


def _decorator(parallel: bool) -> str:
    extra = ", parallel=True" if parallel else ""
    return f'@numba.njit(cache=True, error_model="numpy"{extra})'


def _checkpoint_arg(checkpoint):
    if checkpoint is None or checkpoint is False:
        return None
    if checkpoint is True:
        return 0
    if isinstance(checkpoint, int) and checkpoint > 0:
        return checkpoint
    raise ValueError("checkpoint must be True (sqrt(n) segments) or a segment length > 0")


def _float_wrt(d: Differentiable, types, argnums):
    """Positions to differentiate and the output structure of the cotangents."""
    if argnums is None:  # method form: every parameter; ints get None
        positions = tuple(range(len(types)))
        wrt = [i for i in positions if types[i].is_float]
        bare = len(types) == 1
        return wrt, positions, bare
    bare = isinstance(argnums, int)
    positions = (argnums,) if bare else tuple(argnums)
    for i in positions:
        if not 0 <= i < len(types):
            raise SrcadTypeError(f"argnums {i} is out of range for {d.fn.__name__} with "
                                 f"{len(types)} arguments")
        if not types[i].is_float:
            raise SrcadTypeError(
                f"cannot differentiate {d.fn.__name__} with respect to argument "
                f"{d.param_names[i]!r} of type {types[i]}: only float arguments are "
                "differentiable", hint="pass a float (e.g. 2.0 instead of 2)")
    return list(positions), positions, bare


def _grad_struct(wrt, positions, bare, base: int):
    idx = {p: base + k for k, p in enumerate(wrt)}
    if bare:
        return idx.get(positions[0])
    return tuple(idx.get(p) for p in positions)


def _check_scalar_output(d: Differentiable, ir: Function, has_aux: bool):
    tree = getattr(ir, "out_tree", None)
    if has_aux:
        if tree is None or tree < 2:
            raise SrcadTypeError(f"{d.fn.__name__} must return (value, aux) with has_aux=True")
    elif tree is not None:
        raise SrcadTypeError(f"grad requires {d.fn.__name__} to return one scalar, it returns "
                             f"a tuple of {tree}", hint="use jacrev/vjp, or has_aux=True")
    if not ir.outputs[0].type.is_float or ir.outputs[0].type.ndim:
        raise SrcadTypeError(f"grad requires a float scalar output, {d.fn.__name__} returns "
                             f"{ir.outputs[0].type}", hint="return a float")


def _out_struct(ir: Function, base: int = 0):
    tree = getattr(ir, "out_tree", None)
    return base if tree is None else tuple(range(base, base + tree))


def build_ir(d: Differentiable, spec: Spec, types) -> Built:
    """Lower and transform for ``spec``; returns optimized IR and its output structure."""
    built = _build_ir(d, spec, types)
    built.reads = d.lower(types, spec.arg_writes, spec.same).reads
    _prune_outputs(built)
    optimize(built.ir)
    make_inplace_safe(built.ir)  # copies where an in-place write would clobber a live array
    built.adjoint_from = _adjoint_start(built.ir)
    return built


def _prune_outputs(built: Built) -> None:
    """Keep only the outputs the result structure returns (e.g. grad drops the value)."""
    used: list[int] = []

    def walk(s):
        if isinstance(s, int):
            used.append(s)
        elif isinstance(s, tuple):
            for x in s:
                walk(x)
    walk(built.out_struct)
    keep = sorted(set(used))
    remap = {old: new for new, old in enumerate(keep)}

    def rebuild(s):
        if isinstance(s, int):
            return remap[s]
        if isinstance(s, tuple):
            return tuple(rebuild(x) for x in s)
        return s
    built.ir.body.yields = [built.ir.outputs[k] for k in keep]
    built.out_struct = rebuild(built.out_struct)


def _build_ir(d: Differentiable, spec: Spec, types) -> Built:
    ir = d.lower(types)
    name = d.fn.__name__
    nout = len(ir.outputs)
    checkpoint = spec.checkpoint if spec.checkpoint is not None else d.checkpoint
    if spec.kind == "primal":
        if spec.arg_writes:
            ir = d.lower(types, arg_writes=True, same=spec.same)
            n = len(ir.outputs) - len(ir.arg_writes)
            return Built(clone_function(ir), f"{name}_primal",
                         (_out_struct(ir), tuple(range(n, len(ir.outputs))))
                         if ir.arg_writes else _out_struct(ir), "primal",
                         arg_writes=list(ir.arg_writes))
        return Built(clone_function(ir), f"{name}_primal", _out_struct(ir), "primal")
    if spec.kind in ("grad", "hvp"):
        _check_scalar_output(d, ir, spec.has_aux)
        wrt, positions, bare = _float_wrt(d, types, spec.argnums)
        seeds = [1.0] + [None] * (nout - 1)
        vj = vjp_function(ir, wrt, seeds=seeds, checkpoint=checkpoint)
        if spec.kind == "hvp":
            fwd = jvp_function(optimize(vj), wrt)
            # outputs: outs, grads, d outs, d grads
            n = nout + len(wrt)
            struct = _grad_struct(wrt, positions, bare, n + nout)
            return Built(fwd, f"{name}_hvp", struct, "Hessian-vector product "
                         "(forward over reverse)")
        grads = _grad_struct(wrt, positions, bare, nout)
        value = 0
        if spec.has_aux:
            aux = 1 if nout == 2 else tuple(range(1, nout))
            value = (0, aux)
            out = ((value, grads) if spec.with_value else (grads, aux))
        else:
            out = (value, grads) if spec.with_value else grads
        return Built(vj, f"{name}_grad", out, "gradient (reverse mode)")
    if spec.kind == "jvp":
        wrt = [i for i, t in enumerate(types) if t.is_float]
        fw = jvp_function(ir, wrt)
        return Built(fw, f"{name}_jvp", (_out_struct(ir), _out_struct(ir, nout)),
                     "Jacobian-vector product (forward mode)")
    if spec.kind == "vjp":
        wrt = [i for i, t in enumerate(types) if t.is_float]
        vj = vjp_function(ir, wrt, seeds=None, checkpoint=checkpoint)
        grads = tuple(range(nout, nout + len(wrt)))
        return Built(vj, f"{name}_vjp", (_out_struct(ir), grads),
                     "vector-Jacobian product (reverse mode)")
    raise ValueError(spec.kind)


def _adjoint_start(vj: Function) -> int | None:
    """Index of the first top-level op of the adjoint sweep (for the generated comments)."""
    marks = getattr(vj, "adjoint_ops", set())
    return next((k for k, op in enumerate(vj.body.ops) if id(op) in marks), None)


# ----------------------------------------------------------------------------- 0-d arrays

def _zero_d(fn: Callable, spec: Spec, args: tuple) -> Callable:
    """``fn`` for arguments that include 0-d arrays (``np.array(2.0)``): they are scalars of
    their dtype to srcad (``type_of_python_value``), so the call passes ``a[()]``, and the
    gradient of such an argument is a 0-d array of its dtype (the cotangent has the
    argument's shape, as in JAX; a float argument's gradient stays a float)."""
    zero_d = {i: a.dtype for i, a in enumerate(args) if type(a) is np.ndarray and a.ndim == 0}
    if not zero_d:
        return fn
    positions = _cotangent_positions(spec, args)

    def wrap(grads, pos):
        if isinstance(pos, int):
            return grads if pos not in zero_d or grads is None else \
                np.asarray(grads, zero_d[pos])
        return tuple(wrap(g, p) for g, p in zip(grads, pos))

    def call(*a):
        out = fn(*(x[()] if type(x) is np.ndarray and x.ndim == 0 else x for x in a))
        if positions is None:
            return out
        if spec.kind == "vjp" or (spec.kind == "grad" and spec.with_value):
            return out[0], wrap(out[1], positions)
        if spec.kind == "grad" and spec.has_aux:
            return wrap(out[0], positions), out[1]
        return wrap(out, positions)
    return call


def _cotangent_positions(spec: Spec, args: tuple):
    """The argument position of each gradient in a transform's result, in its structure (an
    int for a bare gradient); None for transforms without gradients."""
    if spec.kind == "vjp":
        return tuple(i for i, a in enumerate(args) if type_of_python_value(a).is_float)
    if spec.kind not in ("grad", "hvp"):
        return None
    if spec.argnums is None:
        return 0 if len(args) == 1 else tuple(range(len(args)))
    return spec.argnums


# ----------------------------------------------------------------------------- dispatch

def _make_entry(d: Differentiable, spec: Spec) -> Callable:
    """A wrapper with the user function's own signature (names, defaults, keyword-only), so
    Python binds the arguments.  The hot path checks the argument types against the last
    types seen (a monomorphic inline cache) and that each global, closure cell or attribute
    folded into that code is still the object it was (``_srcad_w0['SCALE'] is _srcad_v0``),
    and calls the compiled function; anything else goes to ``slow``: one dictionary lookup on
    the argument types, a check of the folded values by value, and a compile on a miss (a
    changed value gets code built for it)."""
    table: dict[tuple, tuple] = {}
    params = list(d.signature.parameters.values())
    names = [p.name for p in params]
    ns: dict[str, object] = {}
    installed: list = [None]  # slots of the reads the hot path checks now

    def slow(*args):
        key = tuple((a.dtype, a.ndim) if type(a) is np.ndarray else type(a) for a in args)
        hit = table.get(key)
        if hit is None or not fresh(hit[1]):
            hit = d.compiled_with_reads(spec, args)
            table[key] = hit
        fn, reads = hit
        if not any(type(a) is np.ndarray for a in args):
            # arrays of another dtype or rank share the Python type: they keep the dict path
            for i, a in enumerate(args):
                ns[f"_srcad_t{i}"] = type(a)
            ns["_srcad_fn"] = fn
            install(reads)
        return fn(*args)

    def install(reads):
        slots = [r.slot() for r in reads]
        if slots != installed[0]:
            scope = dict(ns)  # the same signature, so entry's defaults still apply
            exec(_entry_source(sig, names, [r.check(i) for i, r in enumerate(reads)]), scope)
            entry.__code__ = scope["entry"].__code__
            installed[0] = slots
        for i, r in enumerate(reads):  # the objects there now (equal to those compiled for)
            ns[f"_srcad_w{i}"], ns[f"_srcad_v{i}"] = r.where, r.current()

    sig = []
    for i, p in enumerate(params):
        text = p.name
        if p.default is not inspect.Parameter.empty:
            ns[f"_srcad_d{i}"] = p.default
            text += f"=_srcad_d{i}"
        if p.kind is inspect.Parameter.KEYWORD_ONLY and "*" not in sig:
            sig.append("*")
        sig.append(text)
    ns.update({"_srcad_slow": slow, "_srcad_fn": None})
    ns.update({f"_srcad_t{i}": None for i in range(len(names))})
    exec(_entry_source(sig, names, []), ns)
    entry = ns["entry"]
    entry.__name__ = f"{d.fn.__name__}_{spec.kind}"
    entry.__qualname__ = entry.__name__
    entry.__doc__ = f"srcad {spec.kind} of {d.fn.__qualname__}"
    return entry


def _entry_source(sig: list[str], names: list[str], checks: list[str]) -> str:
    """The entry: the type checks, then the checks of the folded values (a read that fails,
    e.g. of a deleted global, sends the call to the slow path)."""
    argl = ", ".join(names)
    test = " and ".join([f"type({n}) is _srcad_t{i}" for i, n in enumerate(names)] + checks)
    if not checks:
        body = (f"    if {test or 'True'}:\n"
                f"        return _srcad_fn({argl})\n")
    else:
        body = (f"    try:\n"
                f"        hot = {test}\n"
                f"    except Exception:\n"
                f"        hot = False\n"
                f"    if hot:\n"
                f"        return _srcad_fn({argl})\n")
    return f"def entry({', '.join(sig)}):\n{body}    return _srcad_slow({argl})\n"


# ----------------------------------------------------------------------------- free functions

_wrapped: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def as_differentiable(f) -> Differentiable:
    if isinstance(f, Differentiable):
        return f
    d = _wrapped.get(f)
    if d is None:
        d = Differentiable(f)
        _wrapped[f] = d
    return d


def differentiate(fn=None, *, wrt=None, checkpoint=None, parallel: bool = False,
                  boundscheck: bool | None = None):
    """Compile ``fn`` with srcad.  Usable as ``@differentiate`` or
    ``@differentiate(wrt=("x1",), checkpoint=True)``.

    ``wrt``: parameter names or positions that ``.grad``/``.value_and_grad`` differentiate
    (default: all; int arguments then get ``None``).  ``checkpoint``: True to checkpoint every
    top-level for loop in reverse mode (O(sqrt(n)) tape), or a segment length.
    ``parallel``: compile with ``numba.njit(parallel=True)``: array statements and fused
    elementwise loops run on all cores (worth it for large arrays only).
    ``boundscheck``: False leaves out the checks that make an index out of range raise
    ``SrcadIndexError`` and shapes NumPy refuses to broadcast raise ``SrcadValueError``
    (located, like Python's IndexError and NumPy's ValueError): such code then reads or writes
    stray memory.  Default: on, unless the environment sets ``SRCAD_BOUNDSCHECK=0``.
    """
    kw = {"wrt": wrt, "checkpoint": checkpoint, "parallel": parallel, "boundscheck": boundscheck}
    if fn is None:
        return lambda f: Differentiable(f, **kw)
    return Differentiable(fn, **kw)


def grad(f, argnums=0, has_aux: bool = False) -> Callable:
    """Gradient of a scalar function (``jax.grad`` semantics).

    >>> import srcad, math
    >>> def f(x, y): return x * math.sin(y)
    >>> srcad.grad(f, argnums=(0, 1))(2.0, 0.0)
    (0.0, 2.0)
    """
    return as_differentiable(f)._entry(Spec("grad", _argnums(argnums), has_aux))


def value_and_grad(f, argnums=0, has_aux: bool = False) -> Callable:
    """Like ``grad`` but returns ``(value, grad)`` (``((value, aux), grad)`` with has_aux)."""
    return as_differentiable(f)._entry(Spec("grad", _argnums(argnums), has_aux, True))


def _argnums(argnums):
    if isinstance(argnums, int):
        return argnums
    return tuple(argnums)


def _float_positions(d: Differentiable, args) -> list[int]:
    return [i for i, a in enumerate(args) if type_of_python_value(a).is_float]


def _get(d: Differentiable, spec: Spec, args: tuple, backend: str) -> Callable:
    return d.compiled(spec, args) if backend == "numba" else d.interpreted(spec, args)


def jvp(f, primals: Sequence, tangents: Sequence, *, backend: str = "numba"):
    """Forward mode: ``(f(*primals), J @ tangents)``.  Tangents of int arguments are ignored.
    ``backend="interpret"`` runs the derivative IR in the NumPy interpreter instead."""
    d = as_differentiable(f)
    if len(tangents) != len(primals):
        raise TypeError("jvp: primals and tangents must have the same length")
    tangents = list(tangents) + [0.0] * (len(d.param_names) - len(primals))
    primals = d.bind(tuple(primals), {})  # defaults fill the rest (with zero tangents)
    fn = _get(d, Spec("jvp"), primals, backend)
    ts = [_like(primals[i], tangents[i]) for i in _float_positions(d, primals)]
    return fn(*primals, *ts)


def _like(primal, tangent):
    """A tangent/cotangent in the primal's form (float, or an array of its dtype)."""
    if isinstance(primal, np.ndarray):
        if primal.ndim == 0:  # a scalar to srcad (np.ascontiguousarray would make it 1-d)
            return np.asarray(tangent, primal.dtype)[()]
        return np.ascontiguousarray(np.broadcast_to(tangent, primal.shape), primal.dtype)
    return float(tangent)


def vjp(f, *primals, has_aux: bool = False, backend: str = "numba"):
    """Reverse mode: returns ``(f(*primals), pullback)``; ``pullback(ct)`` gives one
    cotangent per primal (None for int arguments)."""
    d = as_differentiable(f)
    given = len(primals)
    primals = d.bind(tuple(primals), {})  # defaults fill the rest
    prim_fn = _get(d, Spec("primal"), primals, backend)
    fn = _get(d, Spec("vjp"), primals, backend)
    out = prim_fn(*primals)
    floats = _float_positions(d, primals)

    def pullback(ct):
        cts = ct if isinstance(out, tuple) else (ct,)
        if len(cts) != (len(out) if isinstance(out, tuple) else 1):
            raise TypeError("pullback: the cotangent must have the structure of the output")
        for c, o in zip(cts, out if isinstance(out, tuple) else (out,)):
            if np.shape(c) != np.shape(o):
                raise SrcadValueError(f"pullback: a cotangent of shape {np.shape(c)} for an "
                                      f"output of shape {np.shape(o)}",
                                      hint="pass a cotangent of the output's shape")
        _, grads = fn(*primals, *cts)
        result = [None] * len(primals)
        for i, g in zip(floats, grads):
            result[i] = g
        return tuple(result[:given])

    if has_aux:
        raise NotImplementedError("vjp(has_aux=True) is not supported yet")
    return out, pullback


def _basis(x):
    """Unit directions in the space of x: 1.0 for a number, unit arrays (row-major) for an
    array."""
    if not isinstance(x, np.ndarray):
        return [1.0]
    out = []
    for i in range(x.size):
        e = np.zeros(x.size, x.dtype)
        e[i] = 1.0
        out.append(e.reshape(x.shape))
    return out


def _stack(cols: list, in_shape: tuple, lead: bool = False):
    """Derivatives along each unit direction of an input of shape ``in_shape`` -> one array of
    shape out_shape + in_shape (``lead``: in_shape + out_shape, for reverse-mode rows);
    tuples (several outputs/arguments) are stacked item by item."""
    if isinstance(cols[0], tuple):
        return tuple(_stack([c[k] for c in cols], in_shape, lead) for k in range(len(cols[0])))
    if not in_shape:
        return cols[0]
    a = np.stack([np.asarray(c) for c in cols], axis=0 if lead else -1)
    if lead:
        return a.reshape(tuple(in_shape) + np.shape(cols[0]))
    return a.reshape(np.shape(cols[0]) + tuple(in_shape))


def jacrev(f, argnums=0) -> Callable:
    """Jacobian by reverse mode: one pullback per output element.  Shapes follow JAX:
    output shape + argument shape."""
    d = as_differentiable(f)

    def jac(*args):
        out, pb = vjp(d, *args)
        outs = out if isinstance(out, tuple) else (out,)
        rows = []
        for k, o in enumerate(outs):
            gs = []
            for e in _basis(o):
                ct = tuple(e if j == k else _like(outs[j], 0.0) for j in range(len(outs)))
                gs.append(_select(pb(ct if isinstance(out, tuple) else ct[0]), argnums, d, args))
            rows.append(_stack(gs, np.shape(o), lead=True))
        return tuple(rows) if isinstance(out, tuple) else rows[0]
    return jac


def jacfwd(f, argnums=0, *, _ints_as_none: bool = False) -> Callable:
    """Jacobian by forward mode: one JVP per input element.  Shapes follow JAX: output shape
    + argument shape."""
    d = as_differentiable(f)

    def jac(*args):
        positions = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        cols = []
        for p in positions:
            if not type_of_python_value(args[p]).is_float:
                if _ints_as_none:
                    cols.append(None)
                    continue
                raise SrcadTypeError(f"cannot differentiate with respect to int argument {p}")
            per = []
            for e in _basis(args[p]):
                t = [e if i == p else 0.0 for i in range(len(args))]
                per.append(jvp(d, args, t)[1])
            col = _stack(per, np.shape(args[p]))
            cols.append(_as_0d(col) if type(args[p]) is np.ndarray and not args[p].ndim else col)
        out_is_tuple = any(isinstance(c, tuple) for c in cols)
        if isinstance(argnums, int):
            return cols[0]
        if out_is_tuple:
            n = len(next(c for c in cols if c is not None))
            return tuple(tuple(None if c is None else c[k] for c in cols) for k in range(n))
        return tuple(cols)
    return jac


def _as_0d(x):
    """Scalars (in tuples) as 0-d arrays: derivatives with respect to a 0-d array argument."""
    return tuple(_as_0d(v) for v in x) if isinstance(x, tuple) else np.asarray(x)


def _select(g, argnums, d, args):
    if isinstance(argnums, int):
        if g[argnums] is None:
            raise SrcadTypeError(f"cannot differentiate with respect to int argument {argnums}")
        return g[argnums]
    return tuple(g[i] for i in argnums)


def hvp(f, primals: Sequence, tangents: Sequence, *, backend: str = "numba"):
    """Hessian-vector product by forward-over-reverse: H(primals) @ tangents, for every float
    argument (a tuple, or a bare value for a one-argument function)."""
    d = as_differentiable(f)
    primals = tuple(primals)
    floats = _float_positions(d, primals)
    argnums = floats[0] if len(primals) == 1 else tuple(floats)
    fn = _get(d, Spec("hvp", argnums), primals, backend)
    return fn(*primals, *[_like(primals[i], tangents[i]) for i in floats])


def hessian(f, argnums=0) -> Callable:
    """Hessian of a scalar function (forward over reverse), JAX's nesting of results."""
    d = as_differentiable(f)

    def hess(*args):
        positions = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        fn = d.compiled(Spec("hvp", argnums), tuple(args))
        cols = {}
        for p in positions:  # one Hessian-vector product per unit direction of each argument
            cols[p] = _stack([fn(*args, *[e if i == p else _like(args[i], 0.0)
                                          for i in positions]) for e in _basis(args[p])],
                             np.shape(args[p]))
        if isinstance(argnums, int):
            return cols[argnums]
        return tuple(tuple(cols[q][k] for q in positions) for k in range(len(positions)))
    return hess


# ----------------------------------------------------------------------------- inspection

_MODES = {"primal": Spec("primal"), "forward": Spec("jvp"), "fwd": Spec("jvp"),
          "reverse": Spec("grad", None), "rev": Spec("grad", None), "vjp": Spec("vjp")}


def show(f, *args, mode: str = "reverse", argnums=None) -> str:
    """The optimized IR and the generated Python source of a transform of ``f`` at these
    argument types (``mode``: "primal", "forward", "reverse", "vjp"; ``argnums`` narrows
    "reverse" to what ``grad(f, argnums)`` compiles)."""
    d = as_differentiable(f)
    spec = _MODES[mode]
    if argnums is not None and spec.kind == "grad":
        spec = Spec("grad", _argnums(argnums))
    bound = d.bind(args, {})
    types = tuple(type_of_python_value(a) for a in bound)
    built = build_ir(d, spec, types)
    src = generate_module(built.ir, built.name, built.out_struct, built.what,
                          adjoint_from=built.adjoint_from, decorator=_decorator(d.parallel),
                          boundscheck=d.boundscheck)
    return f"# --- IR ({built.what}) ---\n{built.ir}\n\n# --- generated Python ---\n{src}"


def interpret(f, *args):
    """Run srcad's IR of ``f`` in the NumPy interpreter (the test oracle)."""
    from .ir.interpreter import interpret as run
    d = as_differentiable(f)
    bound = d.bind(args, {})
    types = tuple(type_of_python_value(a) for a in bound)
    arrays = [i for i, t in enumerate(types) if t.ndim]
    same = (_shared_arrays(d, bound, arrays)
            if len(arrays) > 1 and d.lower(types).writes_in_place else ())
    ir = d.lower(types, arg_writes=True, same=same)
    outs = [_item(o) for o in run(ir, *bound)]
    for i, v in zip(ir.arg_writes, outs[len(outs) - len(ir.arg_writes):]):
        bound[i][...] = v  # Python's writes into the caller's arrays
    outs = outs[:len(outs) - len(ir.arg_writes)]
    return outs[0] if getattr(ir, "out_tree", None) is None else tuple(outs)


def tape_size(f, *args, argnums=None, checkpoint=None) -> int:
    """Bytes of reverse-mode tape allocated by the gradient at these arguments."""
    d = as_differentiable(f)
    bound = d.bind(args, {})
    if argnums is None:
        argnums = tuple(_float_positions(d, bound))
    spec = Spec("grad", _argnums(argnums), report_tape=True,
                checkpoint=_checkpoint_arg(checkpoint))
    out = d.compiled(spec, bound)(*bound)
    return int(out[-1])
