"""Values from outside a function that lowering folds into its IR: module globals, closure
cells and attributes of objects (``SCALE``, ``k`` of an enclosing function, ``cfg.gain``, an
inlined helper).  Each read is recorded with the value seen; code built from the IR is valid
while every read still gives that value (``fresh``), so a rebound constant (a notebook cell
rerun) gets code built for its new value instead of the old one.

Library modules (``np``, ``math``, ...) and builtins are not recorded: rebinding ``np.sin`` or
shadowing ``max`` after compiling is not supported.
"""
from __future__ import annotations

import math
import types
from dataclasses import dataclass

import numpy as np

_LIBRARIES = frozenset({"numpy", "math", "cmath", "builtins", "srcad", "scipy", "numba"})


@dataclass(frozen=True, eq=False)
class Read:
    """``where[name]`` (kind "global": a module's globals dict), ``where.cell_contents``
    (kind "cell") or ``getattr(where, name)`` (kind "attr") gave ``value``."""
    kind: str
    where: object
    name: str
    value: object

    def current(self):
        """The value now; raises LookupError/AttributeError/ValueError if it is gone."""
        if self.kind == "global":
            return self.where[self.name]
        if self.kind == "cell":
            return self.where.cell_contents
        return getattr(self.where, self.name)

    def slot(self) -> tuple:
        """What is read, not the value (reads of one function at two times compare equal)."""
        return self.kind, id(self.where), self.name

    def check(self, i: int) -> str:
        """Python source testing the read against ``_srcad_v{i}`` by identity (the entry's
        hot path; ``_srcad_w{i}`` holds ``where``)."""
        if self.kind == "global":
            return f"_srcad_w{i}[{self.name!r}] is _srcad_v{i}"
        if self.kind == "cell":
            return f"_srcad_w{i}.cell_contents is _srcad_v{i}"
        return f"_srcad_w{i}.{self.name} is _srcad_v{i}"


def _library(obj) -> bool:
    name = getattr(obj, "__name__", "") if isinstance(obj, types.ModuleType) else ""
    return name.split(".")[0] in _LIBRARIES


def should_record(kind: str, where, value) -> bool:
    if kind == "attr" and (_library(where) or _internal(where)):
        return False  # np.sin, math.pi; methods of the frontend's own objects (x[mask].sum)
    if isinstance(value, (types.MethodType, types.BuiltinMethodType)) and \
            not isinstance(getattr(value, "__self__", None), types.ModuleType):
        return False  # a bound method is a new object per read, and never inlined
    return not _library(value)  # the np / math modules themselves


def _internal(obj) -> bool:
    return not isinstance(obj, types.ModuleType) and \
        type(obj).__module__.split(".")[0] == "srcad"


def _key(v):
    """Equality of folded values: numbers by type and exact value (-0.0 is not 0.0, NaN is
    NaN), tuples item by item, anything else by identity."""
    if isinstance(v, (bool, int, np.integer, np.bool_)):
        return type(v), int(v)
    if isinstance(v, (float, np.floating)):
        return type(v), float(v).hex() if not math.isnan(v) else "nan"
    if isinstance(v, tuple):
        return tuple, tuple(_key(x) for x in v)
    return "id", id(v)


def same(a, b) -> bool:
    return a is b or _key(a) == _key(b)


def fresh(reads) -> bool:
    """Every read still gives the value it gave when the code was built."""
    for r in reads:
        try:
            now = r.current()
        except (LookupError, AttributeError, ValueError):
            return False
        if not same(now, r.value):
            return False
    return True
