"""Make in-place writes safe: the last pass before code generation.

In the IR an array write ``x2 = put(x1, v, i)`` is functional: x1 keeps its value.  Generated
code writes into x1's buffer (the ``inplace`` templates), which is right only when nothing reads
x1 afterwards.  This pass inserts ``copy`` ops where that is not so:

* x1 (or a view of it) is used later on some path (path-sensitive for ``if`` branches);
* x1 is defined outside the loop whose body writes it (each iteration needs the original);
* x1 is not owned by the function: a parameter (the caller's array: derivative calls never
  modify their arguments), a view into another array (or an ``unbroadcast`` result, which is
  its operand when no summing is needed), or an array popped from a tape;
* x1 was pushed onto a tape (the tape keeps a reference).

"x1" includes every value that may be x1's very buffer on some path (``versions``): the yields
an ``if`` result merges, a loop result's initial value and last yield, and (for the tape check)
a loop carry's yield of the previous iteration.  A branch that pushes the array
it yields, or a branch that yields an older array unchanged, shares that buffer with the
``if``'s result, and a write into the result must not change what the tape or the older name
holds.

A loop whose body writes its carry in place destroys the carry's initial value, and an ``if``
whose branch writes an outer array destroys it: the same rules apply to those ops' inputs.
Reverse-mode adjoint buffers (``index_add``/``slice_add``/``put_add``) are owned by construction
and not handled here.
"""
from __future__ import annotations

from ..ir.core import Builder, Function, Op, Region, Value, substitute
from .shapes import shape_only_inputs

_VIEWS = ("getslice", "take", "transpose", "reshape", "expand_dims", "flip")


def is_view(op: Op) -> bool:
    """Does op return an array that looks into its first input's memory (a NumPy view)?"""
    return (op.prim in _VIEWS or op.prim == "getitem") and op.outputs[0].type.ndim > 0


def may_alias(op: Op) -> bool:
    """A view, or an op whose generated code may return its first input itself:
    ``_rt.unbroadcast(c, x)`` is ``c`` when the shapes already agree, ``_rt.same_shape(v, x)`` is
    always ``v``."""
    return is_view(op) or (op.prim in ("unbroadcast", "fits") and op.outputs[0].type.ndim > 0)


class _Inplace:
    def __init__(self, fn: Function):
        self.fn = fn
        self.producer: dict[Value, Op] = {}
        self.parent: dict[int, tuple[Region, Op]] = {}  # id(region) -> (enclosing region, op)
        self.home: dict[Value, Region] = {}  # where a value is defined
        self.views: dict[Value, list[Value]] = {}  # base -> views of it
        self.pushed: set[Value] = set()
        self.params = set(fn.params)
        self._scan(fn.body)

    def _scan(self, r: Region) -> None:
        for p in r.params:
            self.home[p] = r
        for op in r.ops:
            for o in op.outputs:
                self.producer[o] = op
                self.home[o] = r
            if may_alias(op):
                self.views.setdefault(op.inputs[0], []).append(op.outputs[0])
            if op.prim == "push" and op.inputs[0].type.ndim:
                self.pushed.add(op.inputs[0])
            for reg in op.regions:
                self.parent[id(reg)] = (r, op)
                self._scan(reg)

    # -- facts ---------------------------------------------------------------------------------

    def aliases(self, v: Value) -> set[Value]:
        """v and every view into it (transitively)."""
        out, todo = {v}, [v]
        while todo:
            for w in self.views.get(todo.pop(), ()):
                if w not in out:
                    out.add(w)
                    todo.append(w)
        return out

    def merged(self, v: Value, carried: bool) -> list[Value]:
        """The values v is, on some path: an ``if`` result's yields, a loop result's initial
        value and last yield, and for a loop carry, when ``carried``, the yield of the
        iteration before.  (A carry's initial value is the loop's business: a loop whose body
        writes its carry in place destroys the initial value, see ``destroys``.)"""
        op = self.producer.get(v)
        if op is not None:
            if op.prim == "if":
                k = op.outputs.index(v)
                return [r.yields[k] for r in op.regions]
            if op.prim in ("for", "while"):
                k = op.outputs.index(v)
                init = op.inputs[3 + k] if op.prim == "for" else op.inputs[k]
                return [init, op.regions[-1].yields[k]]
            return []
        r = self.home.get(v)
        if r is None or id(r) not in self.parent:
            return []
        _, lop = self.parent[id(r)]
        if lop.prim not in ("for", "while"):
            return []
        k = r.params.index(v) - (1 if lop.prim == "for" else 0)
        if k < 0:
            return []
        return [lop.regions[-1].yields[k]] if carried else []

    def versions(self, v: Value, carried: bool = False) -> set[Value]:
        """v and every value that may be v's buffer holding v's contents, with their views."""
        out, todo = {v}, [v]
        while todo:
            for w in self.merged(todo.pop(), carried):
                if w not in out:
                    out.add(w)
                    todo.append(w)
        return set().union(*(self.aliases(w) for w in out))

    def loop_param(self, v: Value) -> bool:
        r = self.home.get(v)
        return (v not in self.producer and r is not None and id(r) in self.parent and
                self.parent[id(r)][1].prim in ("for", "while"))

    def owned(self, v: Value, assume: frozenset = frozenset()) -> bool:
        """Does the function own v's buffer (so writing it affects nothing outside)?"""
        if v in assume:
            return True
        if v in self.params:
            return False
        op = self.producer.get(v)
        if op is None:  # a region parameter
            r = self.home.get(v)
            if r is None or id(r) not in self.parent:
                return False
            _, lop = self.parent[id(r)]
            if lop.prim not in ("for", "while"):
                return False
            k = r.params.index(v) - (1 if lop.prim == "for" and r is lop.regions[-1] else 0)
            if k < 0:
                return False
            init = lop.inputs[3 + k] if lop.prim == "for" else lop.inputs[k]
            body = lop.regions[-1]
            return self.owned(init, assume) and self.owned(body.yields[k], assume | {v})
        if op.prim == "pop" or may_alias(op):
            return False
        if op.prim == "put":
            return self.owned(op.inputs[0], assume)
        if op.prim in ("for", "while"):
            k = op.outputs.index(v)
            init = op.inputs[3 + k] if op.prim == "for" else op.inputs[k]
            body = op.regions[-1]
            p = body.params[1 + k] if op.prim == "for" else body.params[k]
            return self.owned(init, assume) and self.owned(body.yields[k], assume | {p})
        if op.prim == "if":
            k = op.outputs.index(v)
            return all(self.owned(r.yields[k], assume) for r in op.regions)
        return True  # every other op makes a new array

    @staticmethod
    def _uses(ops, yields, vals: set[Value]) -> bool:
        """Do ops or yields read a value of vals?  Shape-only operands do not count: a write
        never changes a shape."""
        for op in ops:
            skip = shape_only_inputs(op)
            if any(x in vals for k, x in enumerate(op.inputs) if k not in skip):
                return True
            for reg in op.regions:
                if _Inplace._uses(reg.ops, reg.yields, vals):
                    return True
        return any(y in vals for y in yields)

    def live_after(self, v: Value, r: Region, k: int) -> bool:
        """Is v (or a view of it, or a value that may be its buffer) read after op k of region
        r, on any path that ran op k?"""
        vals = self.versions(v)
        while True:
            if self._uses(r.ops[k + 1:], r.yields, vals):
                return True
            if self.home.get(v) is r or id(r) not in self.parent:
                return False
            outer, op = self.parent[id(r)]
            if op.prim in ("for", "while"):
                return True  # the next iteration needs the original
            r, k = outer, outer.ops.index(op)

    # -- the pass ------------------------------------------------------------------------------

    def region(self, r: Region) -> set[Value]:
        """Insert the copies region r needs; return the values from outside r (or r's params)
        that r writes in place."""
        destroyed: set[Value] = set()
        k = 0
        while k < len(r.ops):
            op = r.ops[k]
            inner = [self.region(reg) for reg in op.regions]
            for v in self.destroys(op, inner):
                if self.needs_copy(v, r, k):
                    k += self.copy_before(r, k, op, v)
                    op = r.ops[k]
                elif v in r.params or self.home.get(v) is not r:  # not one of r's own values
                    destroyed.add(v)
            k += 1
        return destroyed

    def destroys(self, op: Op, inner: list[set[Value]]) -> list[Value]:
        if op.prim == "put":
            return [op.inputs[0]]
        if op.prim in ("for", "while"):
            body = op.regions[-1]
            params = body.params[1:] if op.prim == "for" else body.params
            init = op.inputs[3:] if op.prim == "for" else op.inputs
            gone = set().union(*inner)
            out = []
            for j, p in enumerate(params):
                if p in gone or (op.prim == "while" and op.regions[0].params[j] in gone):
                    if not self.owned(body.yields[j], frozenset({p})):
                        self.copy_yield(body, j)
                    out.append(init[j])
            return list(dict.fromkeys(out))
        if op.prim == "if":
            return list(dict.fromkeys(v for s in inner for v in s))
        return []

    def needs_copy(self, v: Value, r: Region, k: int) -> bool:
        # a loop's carry is owned inside its body: the loop copies its initial value if needed
        owned = self.loop_param(v) or self.owned(v)
        return (not owned or bool(self.versions(v, carried=True) & self.pushed) or
                self.live_after(v, r, k) or self.read_by_loop(v, r.ops[k]))

    def read_by_loop(self, v: Value, op: Op) -> bool:
        """Does loop op, which writes its carry v in place, also read v (or a value that may be
        its buffer) directly in its body, where a later iteration would see the writes?"""
        if op.prim not in ("for", "while"):
            return False
        vals = self.versions(v)
        return any(self._uses(reg.ops, reg.yields, vals) for reg in op.regions)

    def copy_before(self, r: Region, k: int, op: Op, v: Value) -> int:
        """Write into a copy of v: insert ``c = copy(v)`` before op k; returns 1."""
        tmp = Region()
        c = Builder(tmp, op.loc).copy(v, name=v.name)
        cop = tmp.ops[0]
        self.producer[c] = cop
        self.home[c] = r
        if op.prim == "put":
            op.inputs = [c] + op.inputs[1:]
        elif op.prim in ("for", "while"):
            head = 3 if op.prim == "for" else 0
            op.inputs = op.inputs[:head] + [c if x is v else x for x in op.inputs[head:]]
        else:  # an if: its branches read the copy
            for reg in op.regions:
                substitute(reg, {v: c})
        r.ops.insert(k, cop)
        return 1

    def copy_yield(self, body: Region, j: int) -> None:
        y = body.yields[j]
        c = Builder(body).copy(y, name=y.name)
        self.producer[c] = body.ops[-1]
        self.home[c] = body
        body.yields[j] = c


def make_inplace_safe(fn: Function) -> Function:
    """Insert the copies that make the in-place templates of ``put`` correct (see above)."""
    if not any(op.prim == "put" for op in fn.body.walk()):
        return fn
    _Inplace(fn).region(fn.body)
    return fn
