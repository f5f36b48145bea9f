"""NumPy-style ufuncs for math functions NumPy lacks (erf, erfc), used by generated array code.
Kept apart from rt.py: building ufuncs costs time at import, paid only by code that uses them."""
from __future__ import annotations

import math

import numba


@numba.vectorize(["float64(float64)", "float32(float32)"], cache=True)
def verf(x):
    """math.erf over arrays."""
    return math.erf(x)


@numba.vectorize(["float64(float64)", "float32(float32)"], cache=True)
def verfc(x):
    """math.erfc over arrays."""
    return math.erfc(x)
