"""Workload 4 -- vectorizable elementary functions (``srcad.codegen.vmath``).

For each function, the time over 65,536 float64 elements of

* ``numpy``      -- the NumPy ufunc into a preallocated output (``sigmoid``:
  ``1 / (1 + np.exp(-x))``, three passes),
* ``numba math`` -- an ``numba.njit`` loop ``out[i] = math.f(x[i])`` (libm per element;
  sigmoid via ``math.exp``),
* ``numba vmath`` -- the same loop over ``vmath.f`` (branch-free, auto-vectorized),

plus the max ulp error of the vmath loop against NumPy on the timed inputs, and whether
the vmath loop's machine code is packed SIMD (``zmm`` / ``ymm`` registers in
``inspect_asm``). Implementations are timed round-robin (see ``_timing``).

Run: ``python -m benchmarks vmath``.
"""

from __future__ import annotations

import math
import re

import numba
import numpy as np

from benchmarks import _timing as T

N = 65_536
TIMING = {"repeat": 7, "min_time": 0.05, "budget": 1.5}


def _np_sigmoid(x, out):
    np.negative(x, out=out)
    np.exp(out, out=out)
    out += 1.0
    np.divide(1.0, out, out=out)


def _math_sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


_math_sigmoid_jit = numba.njit(error_model="numpy")(_math_sigmoid)


def _ufunc(f):
    return lambda x, out: f(x, out=out)


def _loop(f):
    @numba.njit(error_model="numpy")
    def run(x, out):
        for i in range(x.size):
            out[i] = f(x[i])

    return run


def inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    wide = rng.uniform(-10.0, 10.0, N)
    return {
        "exp": rng.uniform(-700.0, 700.0, N), "log": np.exp(rng.uniform(-700.0, 700.0, N)),
        "tanh": wide, "sigmoid": wide, "sin": rng.uniform(-100.0, 100.0, N),
        "cos": rng.uniform(-100.0, 100.0, N), "log1p": rng.uniform(-0.9, 10.0, N),
        "expm1": rng.uniform(-5.0, 5.0, N),
    }


def simd_width(fn) -> str:
    asm = fn.inspect_asm(fn.signatures[0])
    if re.search(r"%zmm\d+", asm) and re.search(r"v\w+pd\s+%zmm", asm):
        return "zmm (AVX-512)"
    if re.search(r"v\w+pd\s+%ymm", asm):
        return "ymm (AVX2)"
    return "NO (scalar)"


def max_ulp(got: np.ndarray, ref: np.ndarray) -> float:
    def ordered(a):
        i = a.view(np.int64)
        return np.where(i < 0, np.int64(-(2**63)) - i, i)

    return float(np.max(np.abs((ordered(got) - ordered(ref)).astype(np.float64))))


def main() -> None:
    from srcad.codegen import vmath

    print("=" * 78)
    print(f"vmath: elementwise f(x) over {N:,} float64 (preallocated output)")
    xs = inputs()
    rows_np, rows_math, rows_vm, ulps, simd = {}, {}, {}, {}, {}
    for name, vf in vmath.FUNCS.items():
        x = xs[name]
        out = np.empty_like(x)
        np_fn = _np_sigmoid if name == "sigmoid" else _ufunc(getattr(np, name))
        math_fn = _loop(_math_sigmoid_jit if name == "sigmoid" else getattr(math, name))
        vm_fn = _loop(vf)
        ref = np.empty_like(x)
        np_fn(x, ref)
        vm_fn(x, out)
        ulps[name] = f"{max_ulp(out, ref):.0f}"
        simd[name] = simd_width(vm_fn)
        timers = [T.TimedCall(f, (x, np.empty_like(x)), **TIMING) for f in (np_fn, math_fn, vm_fn)]
        T.sample_round_robin(timers)
        rows_np[name], rows_math[name], rows_vm[name] = (t.best for t in timers)
    cols = list(vmath.FUNCS)
    print(f"{'function':9} {'numpy':>10} {'math loop':>10} {'vmath loop':>10} "
          f"{'vm/np':>6} {'math/vm':>8} {'ulp vs np':>9}  vectorized")
    for name in cols:
        a, b, c = rows_np[name], rows_math[name], rows_vm[name]
        print(f"{name:9} {T.fmt_time(a):>10} {T.fmt_time(b):>10} {T.fmt_time(c):>10} "
              f"{c / a:6.2f} {b / c:8.1f} {ulps[name]:>9}  {simd[name]}")
    print("(vm/np < 1: the vmath loop beats the NumPy ufunc; sigmoid's 'numpy' is three passes)")


if __name__ == "__main__":
    main()
