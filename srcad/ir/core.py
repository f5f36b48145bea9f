"""SSA values, ops, regions and functions, plus the Builder used by every pass.

Control flow is structured: an op may own regions.  ``if`` has two regions (then, else) that
yield its results; ``for`` has one region whose params are (index, *carries) and which yields the
next carries; ``while`` has a condition region (params = carries, yields a bool) and a body
region (params = carries, yields the next carries).  Regions may use values of enclosing regions.
Tape ops ``push``/``pop`` have effects; every other op is pure.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator

from ..errors import Loc
from .types import Type

_ids = itertools.count()


NOCONST = object()


def mark() -> int:
    """A number below the id of every Value made from now on (ids only grow): a value whose id
    is below the mark existed before it."""
    return next(_ids)


class Value:
    """An SSA value.  ``const`` holds the Python value when a ``const`` op defines it."""

    __slots__ = ("const", "id", "name", "type")

    def __init__(self, type: Type, name: str | None = None):
        self.type = type
        self.name = name
        self.id = next(_ids)
        self.const = NOCONST

    @property
    def is_const(self) -> bool:
        return self.const is not NOCONST

    def __repr__(self) -> str:
        return f"%{self.name or 't'}#{self.id}:{self.type}"


class Op:
    __slots__ = ("inputs", "loc", "outputs", "params", "prim", "regions")

    def __init__(self, prim: str, inputs, outputs, params=None, regions=(), loc: Loc | None = None):
        self.prim = prim
        self.inputs: list[Value] = list(inputs)
        self.outputs: list[Value] = list(outputs)
        self.params: dict = dict(params or {})
        self.regions: list[Region] = list(regions)
        self.loc = loc

    def __repr__(self) -> str:
        return f"Op({self.prim}, {self.inputs} -> {self.outputs})"


class Region:
    __slots__ = ("ops", "params", "yields")

    def __init__(self, params=(), ops=(), yields=()):
        self.params: list[Value] = list(params)
        self.ops: list[Op] = list(ops)
        self.yields: list[Value] = list(yields)

    def walk(self) -> Iterator[Op]:
        """All ops of this region and of nested regions, in program order."""
        for op in self.ops:
            yield op
            for r in op.regions:
                yield from r.walk()

    def defined(self) -> set[Value]:
        """Values defined directly in this region (params and op outputs, not nested ones)."""
        out = set(self.params)
        for op in self.ops:
            out.update(op.outputs)
        return out

    def uses(self) -> Iterator[Value]:
        """Every value used in this region or nested regions (op inputs and yields)."""
        for op in self.ops:
            yield from op.inputs
            for r in op.regions:
                yield from r.uses()
        yield from self.yields


class Function:
    """A typed IR function.  ``body.params`` are the arguments, ``body.yields`` the results."""

    def __init__(self, name: str, body: Region, arg_names=None, filename: str = "<srcad>",
                 source_lines: dict[int, str] | None = None):
        self.name = name
        self.body = body
        self.arg_names = list(arg_names or [p.name for p in body.params])
        self.filename = filename
        self.source_lines = source_lines or {}

    @property
    def params(self) -> list[Value]:
        return self.body.params

    @property
    def outputs(self) -> list[Value]:
        return self.body.yields

    def __str__(self) -> str:
        from .printer import format_function
        return format_function(self)


class Builder:
    """Appends ops to a region.  Primitive ops are built with ``b.emit(prim, *inputs)`` or,
    for registered primitives, ``b.sin(x)``, ``b.mul(a, b)``, ...  The smart constructors in
    ``srcad.primitives`` fold constants and trivial identities (x*1, x+0) as they build."""

    def __init__(self, region: Region, loc: Loc | None = None):
        self.region = region
        self.loc = loc

    def append(self, op: Op) -> Op:
        if op.loc is None:
            op.loc = self.loc
        self.region.ops.append(op)
        return op

    def emit(self, prim: str, *inputs: Value, name: str | None = None, **params):
        from ..primitives import registry
        return registry.build(self, prim, list(inputs), params, name)

    def const(self, value, type: Type | None = None) -> Value:
        from ..primitives import registry
        return registry.const(self, value, type)

    def __getattr__(self, prim: str):
        if prim.startswith("_"):
            raise AttributeError(prim)
        return lambda *inputs, name=None, **params: self.emit(prim, *inputs, name=name, **params)


def clone_region(region: Region, vmap: dict[Value, Value]) -> Region:
    """Deep copy with fresh values; ``vmap`` maps old values to new (outer values map to themselves
    unless already present in vmap)."""
    params = []
    for p in region.params:
        q = Value(p.type, p.name)
        vmap[p] = q
        params.append(q)
    ops = [clone_op(op, vmap) for op in region.ops]
    return Region(params, ops, [vmap.get(v, v) for v in region.yields])


def clone_op(op: Op, vmap: dict[Value, Value]) -> Op:
    inputs = [vmap.get(v, v) for v in op.inputs]
    regions = [clone_region(r, vmap) for r in op.regions]
    outputs = []
    for o in op.outputs:
        q = Value(o.type, o.name)
        vmap[o] = q
        outputs.append(q)
        q.const = o.const
    return Op(op.prim, inputs, outputs, op.params, regions, op.loc)


def clone_function(fn: Function) -> Function:
    vmap: dict[Value, Value] = {}
    body = clone_region(fn.body, vmap)
    return Function(fn.name, body, fn.arg_names, fn.filename, fn.source_lines)


def substitute(region: Region, vmap: dict[Value, Value]) -> None:
    """Replace uses of values (in place, recursively) according to ``vmap``."""
    for op in region.ops:
        op.inputs = [vmap.get(v, v) for v in op.inputs]
        for r in op.regions:
            substitute(r, vmap)
    region.yields = [vmap.get(v, v) for v in region.yields]
