"""Run-time checks in generated code: an index out of range raises ``errors.OutOfBounds`` (an
``IndexError``), shapes NumPy refuses to combine raise ``errors.ShapeMismatch`` (a
``ValueError``), both naming the user's source line of the op, with NumPy's message and the
run-time index and extents.  Without them Numba reads stray memory for ``x[5]`` on a length-3
array and ``_rt.unbroadcast`` sums a cotangent into a made-up shape.

Where the checks sit (emitted by ``pysource.PySource`` through :class:`Checks`):

* indices: before every ``getitem``, ``take``, ``put``, ``put_add``, ``index_add`` (int
  indices; slices are clamped by the frontend, as NumPy does), ``gather`` and
  ``scatter_add_rows`` (int arrays, one pass over the index array);
* shapes: before every unfused elementwise op with two array operands, ``bcast_like``,
  ``expand_like``, ``unbroadcast``, a ``put`` of an array value, ``dot``, ``matmul3``,
  ``concatenate`` and ``reshape``.
  Fused loop nests need none: their shape guard sends any other shape to the unfused
  function, which checks.

Hoisting: an index check of an op that runs in every iteration of a ``for`` loop (it stands
in the loop body itself, not under an ``if``) whose index is affine in the loop index
(``i``, ``i - 1``, ``n - 1 - k``: +-index plus constants and loop-invariant ints) on an array
whose shape is loop-invariant (:func:`shape_roots`) becomes one check of the first and last
index before the loop.  Raising there instead of in the failing iteration is not observable:
generated functions write no argument.  Under an ``if`` in the loop body, the check before
the loop sets a flag instead (every index in range) and the op's own check tests the flag
first: a loop-invariant branch that LLVM unswitches, so a branch the loop would if-convert
stays branch-free (a per-access check there made a loop 4x slower).  A loop
``for i in range(start, len(x))`` reading ``x[i + c]`` (``-2 start - 1 <= c <= 0``) needs
no check at all.  A check of the same index on
the same extent as an earlier one that dominates it is dropped (the adjoint of ``x[i]``
writes ``x_bar[i]``).

``SRCAD_BOUNDSCHECK=0`` or ``differentiate(boundscheck=False)`` emits no checks (the
generated source, hence the cache key, differs).
"""
from __future__ import annotations

import os

from ..ir.core import Function, Op, Region, Value
from ..ir.types import BOOL

BOUNDSCHECK = os.environ.get("SRCAD_BOUNDSCHECK", "1") != "0"

# Ops whose result has the shape of input 0 (in-place updates and copies), or of input 1.
_SAME_SHAPE = ("put", "put_add", "index_add", "slice_add", "copy", "zeros_like", "mask")
_LIKE_SHAPE = ("unbroadcast", "expand_like")
_LOOPS = ("for", "while")


def shape_roots(fn: Function) -> dict[int, Value]:
    """For each array value, a value of provably the same shape (itself when nothing better
    is known): through in-place updates, copies, ``zeros_like``, elementwise ops whose
    full-rank operands share a root, ``if`` results whose branches agree, and loop carries
    whose yield keeps the initial value's root (optimistic, then corrected to a fixpoint)."""
    from .fuse import is_elementwise
    from ..primitives import REGISTRY
    root: dict[int, Value] = {}
    demoted: set[int] = set()  # loop params whose yield does not keep the init's root

    def get(v: Value) -> Value:
        return root.get(v.id, v)

    def carries(op: Op):
        """(param, init, yield, output) of a loop's carried arrays, and the while's
        condition params (they see the carries too)."""
        if op.prim == "for":
            body = op.regions[0]
            return list(zip(body.params[1:], op.inputs[3:], body.yields, op.outputs)), []
        body, cond = op.regions[1], op.regions[0]
        return list(zip(body.params, op.inputs, body.yields, op.outputs)), cond.params

    def visit(r: Region) -> bool:
        stable = True
        for op in r.ops:
            loop = carries(op) if op.prim in _LOOPS else ([], [])
            for k, (p, init, _, _) in enumerate(loop[0]):
                if p.type.ndim:  # optimistic: the carry keeps the initial value's shape
                    root[p.id] = p if p.id in demoted else get(init)
                    if loop[1]:
                        root[loop[1][k].id] = root[p.id]
            for sub in op.regions:
                stable &= visit(sub)
            for p, _, y, o in loop[0]:
                if not p.type.ndim:
                    continue
                if p.id not in demoted and get(y) is not root[p.id]:
                    demoted.add(p.id)
                    stable = False
                root[o.id] = o if p.id in demoted else root[p.id]
            if op.prim == "if":
                for k, o in enumerate(op.outputs):
                    rs = {id(get(reg.yields[k])): get(reg.yields[k]) for reg in op.regions}
                    if o.type.ndim and len(rs) == 1:
                        root[o.id] = next(iter(rs.values()))
            elif not op.regions and len(op.outputs) == 1 and op.outputs[0].type.ndim:
                out = op.outputs[0]
                if op.prim in _SAME_SHAPE:
                    root[out.id] = get(op.inputs[0])
                elif op.prim in _LIKE_SHAPE:
                    root[out.id] = get(op.inputs[1])
                elif op.prim in REGISTRY and is_elementwise(REGISTRY[op.prim]):
                    full = {id(get(x)): get(x) for x in op.inputs
                            if x.type.ndim == out.type.ndim}
                    if len(full) == 1:
                        root[out.id] = next(iter(full.values()))
        return stable

    for _ in range(20):  # each pass demotes at least one carry or stops
        if visit(fn.body):
            break
    return root


class Checks:
    """Emits the checks of one generated function into a :class:`PySource`."""

    def __init__(self, ps, fn: Function, enabled: bool = True):
        self.ps = ps
        self.enabled = enabled
        self.fn = fn
        self.loc = None  # the last located op seen: the location of unlocated derivative ops
        if not enabled:
            return
        self.root = shape_roots(fn)
        self.defop: dict[int, Op] = {}
        self.loops: dict[int, tuple] = {}  # value id -> enclosing loop ops (outermost first)
        self._scan(fn.body, ())
        self.hoisted: set[int] = set()  # ids of ops whose index checks sit before their loop
        # keys of checks dominating the current position (-> the flag name of a hoisted one)
        self.scopes: list[dict] = [{}]
        self.flags: dict[int, dict] = {}  # id(op) -> axis -> flag (None: proven in range)

    def _scan(self, r: Region, loops: tuple) -> None:
        for p in r.params:
            self.loops[p.id] = loops
        for op in r.ops:
            inner = loops + (op,) if op.prim in _LOOPS else loops
            for sub in op.regions:
                self._scan(sub, inner)
            for o in op.outputs:
                self.defop[o.id] = op
                self.loops[o.id] = loops

    # -- emission helpers ----------------------------------------------------------------------

    def _where(self, op: Op) -> str:
        loc = op.loc or self.loc
        if loc is None:
            return f"{self.fn.filename!r}, 0, 0"
        return f"{loc.filename!r}, {loc.line}, {loc.col}"

    def _key_seen(self, key) -> bool:
        return any(key in s for s in self.scopes)

    def enter(self) -> None:
        if self.enabled:
            self.scopes.append({})

    def leave(self) -> None:
        if self.enabled:
            self.scopes.pop()

    def _index(self, indent: int, op: Op, x: Value, axis: int, i: Value) -> None:
        flags = self.flags.get(id(op))
        if flags is not None and axis in flags and flags[axis] is None:
            return  # proven in range
        key = ("ix", i.id if not i.is_const else ("c", i.const),
               self.root.get(x.id, x).id, axis)
        if self._key_seen(key):
            return
        self.scopes[-1][key] = None
        v = self.ps.v
        n = f"{v(x)}.shape[{axis}]"
        d = self.defop.get(x.id)
        if d is not None and d.prim == "transpose" and x.type.ndim == 2:
            axis = 1 - axis  # a column x[:, j] reads row j of x.T: NumPy's axis is x's
        if i.is_const:
            cond = f"{n} <= {i.const}" if i.const >= 0 else f"{n} < {-i.const}"
        else:
            cond = f"{v(i)} >= {n} or {v(i)} < -{n}"
        if flags is not None and axis in flags:
            cond = f"not {flags[axis]} and ({cond})"
        self.ps.w(indent, f"if {cond}: raise _rt.OutOfBounds({v(i)}, {n}, {axis}, "
                          f"{self._where(op)})")

    def _index_array(self, indent: int, op: Op, x: Value, idx: Value) -> None:
        if idx.type.ndim == 0:
            self._index(indent, op, x, 0, idx)
            return
        v = self.ps.v
        n = f"{v(x)}.shape[0]"
        self.ps.w(indent, f"if _rt.any_out_of_bounds({v(idx)}, {n}): raise _rt.OutOfBounds("
                          f"_rt.first_out_of_bounds({v(idx)}, {n}), {n}, 0, {self._where(op)})")

    def _shapes(self, indent: int, op: Op, kind: int, test: str, a: Value, b: Value) -> None:
        v = self.ps.v
        self.ps.w(indent, f"if not {test}: raise _rt.ShapeMismatch({kind}, {v(a)}.shape, "
                          f"{v(b)}.shape, {self._where(op)})")

    # -- per op --------------------------------------------------------------------------------

    def before(self, op: Op, indent: int) -> None:
        """The checks of ``op``, written just before it."""
        if op.loc is not None:
            self.loc = op.loc
        if not self.enabled or op.regions:
            return
        from .fuse import is_elementwise
        from ..primitives import REGISTRY
        v, p, ins = self.ps.v, op.params, op.inputs
        prim = op.prim
        if prim in ("getitem", "index_add") and id(op) not in self.hoisted:
            idx = ins[1:] if prim == "getitem" else ins[1:-1]
            for k, i in enumerate(idx):
                self._index(indent, op, ins[0], k, i)
        elif prim in ("take", "put", "put_add"):
            idx = ins[1:] if prim == "take" else ins[2:]
            if id(op) not in self.hoisted:
                for axis, i in _spec_ints(p["spec"], idx):
                    self._index(indent, op, ins[0], axis, i)
            target = _target_shape(v, ins[0], p["spec"], idx)
            if prim == "put" and ins[1].type.ndim and target != "()":
                self.ps.w(indent, f"if not _rt.fits({v(ins[1])}.shape, {target}): raise "
                                  f"_rt.ShapeMismatch(1, {target}, {v(ins[1])}.shape, "
                                  f"{self._where(op)})")
        elif prim == "gather":
            self._index_array(indent, op, ins[0], ins[1])
        elif prim == "scatter_add_rows":
            self._index_array(indent, op, ins[1], ins[2])
        elif prim in ("bcast_like", "expand_like"):
            a, b = ins
            if a.type.ndim and b.type.ndim:
                test = (f"_rt.broadcastable({v(a)}.shape, {v(b)}.shape)" if prim == "bcast_like"
                        else f"_rt.fits({v(a)}.shape, {v(b)}.shape)")
                self._shapes(indent, op, 0, test, b if prim == "expand_like" else a,
                             a if prim == "expand_like" else b)
        elif prim == "unbroadcast":
            c, like = ins
            if like.type.ndim:
                self._shapes(indent, op, 0, f"_rt.reduces_to({v(c)}.shape, {v(like)}.shape)",
                             like, c)
        elif prim in ("dot", "matmul3"):
            a, b = ins
            bax = 0 if b.type.ndim == 1 else b.type.ndim - 2
            self._shapes(indent, op, 2, f"{v(a)}.shape[{a.type.ndim - 1}] == "
                                        f"{v(b)}.shape[{bax}]", a, b)
        elif prim == "concatenate":
            a, ax = ins[0], p["axis"]
            for b in ins[1:]:
                same = " and ".join(f"{v(a)}.shape[{j}] == {v(b)}.shape[{j}]"
                                    for j in range(a.type.ndim) if j != ax)
                if same:
                    self._shapes(indent, op, 3, f"({same})", a, b)
        elif prim == "reshape":
            dims = "(" + ", ".join(v(d) for d in ins[1:]) + ("," if len(ins) == 2 else "") + ")"
            self.ps.w(indent, f"if not _rt.reshapes({v(ins[0])}.size, {dims}): raise "
                              f"_rt.ShapeMismatch(4, {v(ins[0])}.shape, {dims}, "
                              f"{self._where(op)})")
        elif prim in REGISTRY and is_elementwise(REGISTRY[prim]):
            arrays = list(dict.fromkeys(x for x in ins if x.type.ndim))
            for a, b in zip(arrays, arrays[1:]):
                if self.root.get(a.id, a) is not self.root.get(b.id, b):
                    self._shapes(indent, op, 0, f"_rt.broadcastable({v(a)}.shape, "
                                                f"{v(b)}.shape)", a, b)

    # -- hoisting out of for loops --------------------------------------------------------------

    def hoist(self, loop: Op, indent: int) -> None:
        """Before ``for``: the index checks of the body's ops whose index is affine in the
        loop index, on an array of loop-invariant shape.  For an op that runs in every
        iteration, the check itself; for one under an ``if``, a flag saying that every index
        of the loop is in range, which the op's own check tests first (a loop-invariant
        branch LLVM unswitches, so the conditional code stays branch-free when it can)."""
        if not self.enabled:
            return
        start, stop, step = loop.inputs[:3]
        if not (step.is_const and step.const in (1, -1)):
            return
        for op, conditional in _accesses(loop.regions[0], False):
            x = op.inputs[0]
            if op.prim in ("getitem", "index_add"):
                pairs = list(enumerate(op.inputs[1:] if op.prim == "getitem" else
                                       op.inputs[1:-1]))
            else:
                pairs = list(_spec_ints(op.params["spec"],
                                        op.inputs[1:] if op.prim == "take" else op.inputs[2:]))
            root = self.root.get(x.id, x)
            if not self._outside(root, loop):
                continue
            forms = [self._affine(i, loop) for _, i in pairs]
            if any(f is None for f in forms):
                continue
            flags = {}
            for (axis, _), form in zip(pairs, forms):
                flags[axis] = self._hoisted_check(indent, op, loop, root, axis, form,
                                                  conditional)
            if conditional:
                self.flags[id(op)] = flags
            else:
                self.hoisted.add(id(op))

    def _outside(self, v: Value, loop: Op) -> bool:
        return loop not in self.loops.get(v.id, ()) and self.defop.get(v.id) is not loop

    def _affine(self, i: Value, loop: Op):
        """i as (coef, const, terms) with coef in (-1, 0, 1) of the loop index, terms
        ((sign, loop-invariant value), ...); None when it is not of that form."""
        if i.is_const:
            return (0, int(i.const), ())
        if i is loop.regions[0].params[0]:
            return (1, 0, ())
        if self._outside(i, loop):
            return (0, 0, ((1, i),))
        op = self.defop.get(i.id)
        if op is None or op.prim not in ("add", "sub") or op.regions:
            return None
        a, b = (self._affine(x, loop) for x in op.inputs)
        if a is None or b is None:
            return None
        s = 1 if op.prim == "add" else -1
        coef = a[0] + s * b[0]
        if coef not in (-1, 0, 1):
            return None
        return (coef, a[1] + s * b[1], a[2] + tuple((s * sg, t) for sg, t in b[2]))

    def _hoisted_check(self, indent, op, loop, root, axis, form, flag: bool):
        """The check (``flag``: the name of a flag, true when every index is in range) of
        index ``form`` over the loop; None when nothing is left to check."""
        v = self.ps.v
        start, stop, step = loop.inputs[:3]
        coef, c, terms = form
        n_text = f"{v(root)}.shape[{axis}]"
        if self._proven(loop, root, axis, form):
            return None
        def at(i: Value, shift: int) -> str:
            """The index at loop index i + shift (folded where constant)."""
            const = c + (coef * (int(i.const) + shift) if i.is_const and coef else 0)
            parts = [] if coef == 0 or i.is_const else [f"{'-' if coef < 0 else ''}{v(i)}"]
            if coef and not i.is_const and shift:
                const += coef * shift
            parts += [f"{'-' if sg < 0 else '+'} {v(t)}" for sg, t in terms]
            if const or not parts:
                parts.append(f"{'-' if const < 0 else '+'} {abs(const)}")
            text = " ".join(parts)
            text = text[2:] if text.startswith("+ ") else text
            return text if " " not in text else f"({text})"

        first, last = at(start, 0), at(stop, -step.const)
        runs = (f"{v(start)} < {v(stop)}" if step.const == 1 else f"{v(start)} > {v(stop)}")
        key = ("flag" if flag else "hoist", first, last, root.id, axis)
        for scope in self.scopes:
            if key in scope:
                return scope[key]
        if flag:
            name = self.ps.fresh("in_range", BOOL)
            self.ps.w(indent, f"{name} = not ({runs} and _rt.range_out_of_bounds({first}, "
                              f"{last}, {n_text}))")
        else:
            name = None
            self.ps.w(indent, f"if {runs} and _rt.range_out_of_bounds({first}, {last}, "
                              f"{n_text}): raise _rt.OutOfBounds(_rt.first_out_of_range("
                              f"{first}, {last}, {n_text}), {n_text}, {axis}, "
                              f"{self._where(op)})")
        self.scopes[-1][key] = name
        return name

    def _proven(self, loop, root, axis, form) -> bool:
        """for i in range(s, len(x)) reading x[i + c] with -2 s - 1 <= c <= 0."""
        start, stop, step = loop.inputs[:3]
        coef, c, terms = form
        d = self.defop.get(stop.id)
        return (coef == 1 and not terms and step.const == 1 and start.is_const
                and start.const >= 0 and d is not None and d.prim == "dim"
                and d.params["axis"] == axis
                and self.root.get(d.inputs[0].id, d.inputs[0]) is root
                and -2 * start.const - 1 <= c <= 0)


def _accesses(r: Region, conditional: bool):
    """(op, whether it runs under an ``if``) of the indexing ops of a loop body, not
    descending into inner loops."""
    for op in r.ops:
        if op.prim == "if":
            for sub in op.regions:
                yield from _accesses(sub, True)
        elif op.prim in ("getitem", "index_add", "take", "put", "put_add"):
            yield op, conditional


def _spec_ints(spec, idx):
    """(axis, index value) of the int entries of a take/put spec."""
    k = 0
    for axis, s in enumerate(spec):
        if s == "i":
            yield axis, idx[k]
            k += 1
        else:
            k += 3


def _target_shape(v, x: Value, spec, idx) -> str:
    """The shape of x[spec] as a tuple expression (slice lengths by trip count)."""
    dims, k = [], 0
    for axis, s in enumerate(spec):
        if s == "i":
            k += 1
        else:
            a, b, c = idx[k:k + 3]
            dims.append(f"_rt.trip_count({v(a)}, {v(b)}, {v(c)})")
            k += 3
    dims += [f"{v(x)}.shape[{j}]" for j in range(len(spec), x.type.ndim)]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
