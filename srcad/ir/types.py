"""IR types: scalars and (later) arrays of a dtype and rank.  Shapes stay symbolic."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_NP = {"f64": np.float64, "f32": np.float32, "i64": np.int64, "bool": np.bool_}


@dataclass(frozen=True)
class Type:
    dtype: str  # "f64" | "f32" | "i64" | "bool"
    ndim: int = 0

    def __str__(self) -> str:
        if self.ndim == 0:
            return self.dtype
        return f"{self.dtype}[{','.join('?' * self.ndim)}]"

    __repr__ = __str__

    @property
    def is_float(self) -> bool:
        return self.dtype in ("f64", "f32")

    @property
    def is_scalar(self) -> bool:
        return self.ndim == 0

    @property
    def np_dtype(self):
        return _NP[self.dtype]


F64 = Type("f64")
F32 = Type("f32")
I64 = Type("i64")
BOOL = Type("bool")

_RANK = {"bool": 0, "i64": 1, "f32": 2, "f64": 3}


def promote(*types: Type) -> Type:
    """NumPy-like promotion for the dtypes srcad knows (bool < i64 < f32 < f64)."""
    dtype = max((t.dtype for t in types), key=_RANK.__getitem__)
    if dtype == "f32" and any(t.dtype == "i64" for t in types):
        dtype = "f64"
    return Type(dtype, max(t.ndim for t in types))


_FROM_NP = {np.dtype(np.float64): "f64", np.dtype(np.float32): "f32",
            np.dtype(np.int64): "i64", np.dtype(np.bool_): "bool"}


def type_of_python_value(v) -> Type:
    """The IR type of a Python/NumPy argument value; raises TypeError for anything else."""
    if isinstance(v, np.ndarray):
        dtype = _FROM_NP.get(v.dtype)
        if dtype is None:
            raise TypeError(f"srcad takes arrays of float64, float32, int64 or bool, not {v.dtype}")
        return Type(dtype, v.ndim)
    if isinstance(v, (bool, np.bool_)):
        return BOOL
    if isinstance(v, (int, np.integer)):
        return I64
    if isinstance(v, np.float32):
        return F32
    if isinstance(v, (float, np.floating)):
        return F64
    raise TypeError(f"srcad cannot take an argument of type {type(v).__name__} yet")
