"""Runtime helpers called by generated code (all Numba-compiled, all tiny)."""
from __future__ import annotations

import numba
import numpy as np

TAPE_INIT = 64


@numba.njit(cache=True, inline="always")
def trip_count(start, stop, step):
    """len(range(start, stop, step)) without building the range."""
    if step > 0:
        n = (stop - start + step - 1) // step
    else:
        n = (start - stop - step - 1) // (-step)
    return max(n, 0)


@numba.njit(cache=True)
def grow(tape, need):
    """A copy of ``tape`` with capacity >= need, growing geometrically (x2)."""
    cap = max(tape.shape[0] * 2, need, 16)
    out = np.empty(cap, tape.dtype)
    out[: tape.shape[0]] = tape
    return out


@numba.njit(cache=True)
def reserve(tape, need):
    """``tape`` itself if it holds ``need`` entries, else a larger copy."""
    if tape.shape[0] >= need:
        return tape
    return grow(tape, need)
