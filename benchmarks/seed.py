"""Workload 1 -- the seed example.

Gradient of ``f(x1, x2) = log(x1) + x1*x2 - sin(x2)`` at (2.0, 5.0), one call
at a time from Python. The baseline is a hand-written ``numba.njit``
derivative returning ``(1/x1 + x2, x1 - cos(x2))``.

Run: ``python -m benchmarks seed``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from benchmarks import _timing as T

X1, X2 = 2.0, 5.0
ARGS = (X1, X2)
ARGNUMS = (0, 1)
REF = (1.0 / X1 + X2, X1 - math.cos(X2))
TARGET_VS_NUMBA = 1.5


def f(x1, x2):
    return np.log(x1) + x1 * x2 - np.sin(x2)


@numba.njit
def grad_f_numba(x1, x2):
    return (1.0 / x1 + x2, x1 - np.cos(x2))


def _make_f(lib):
    """``f`` written against another array library (jax.numpy, autograd.numpy, torch)."""

    def f_lib(x1, x2):
        return lib.log(x1) + x1 * x2 - lib.sin(x2)

    return f_lib


# ----------------------------------------------------------- implementations
def build_numba():
    return grad_f_numba


def build_srcad():
    import srcad

    return srcad.grad(f, argnums=ARGNUMS)


def build_jax():
    jax = T.optional_import("jax")
    if jax is None:
        return T.NOT_INSTALLED
    g = jax.jit(jax.grad(_make_f(jax.numpy), argnums=ARGNUMS))

    def call(x1, x2):
        return jax.block_until_ready(g(x1, x2))

    return call


def build_autograd():
    autograd = T.optional_import("autograd")
    if autograd is None:
        return T.NOT_INSTALLED
    import autograd.numpy as anp

    return autograd.grad(_make_f(anp), argnum=ARGNUMS)


def build_torch():
    torch = T.optional_import("torch")
    if torch is None:
        return T.NOT_INSTALLED
    f_t = _make_f(torch)

    def call(x1, x2):
        a = torch.tensor(x1, dtype=torch.float64, requires_grad=True)
        b = torch.tensor(x2, dtype=torch.float64, requires_grad=True)
        f_t(a, b).backward()
        return a.grad, b.grad

    return call


IMPLEMENTATIONS = [
    ("numba hand-written", build_numba),
    ("srcad.grad", build_srcad),
    ("jax jit(grad)", build_jax),
    ("autograd grad", build_autograd),
    ("torch backward", build_torch),
]


def main() -> None:
    print("=" * 78)
    print(f"seed: grad of f(x1, x2) = log(x1) + x1*x2 - sin(x2) at {ARGS}, per call from Python")
    cells = T.measure_all(
        [{"build": build, "args": ARGS, "ref": REF, "rtol": 1e-12} for _, build in IMPLEMENTATIONS]
    )
    rows = [(label, {"": cell}) for (label, _), cell in zip(IMPLEMENTATIONS, cells)]
    T.print_table(
        "seed -- gradient per call",
        [""],
        rows,
        baseline="numba hand-written",
        ratio_label="vs numba",
    )
    cold, warm, floor = T.cold_warm_startup("benchmarks.seed", "f", ARGNUMS, ARGS)
    T.print_startup(cold, warm, floor)
    print("  (numba floor: plain Numba loads the same cached generated module in a new process "
          "and calls it; its 'import srcad' column is 'import numba', and its first call includes "
          "importing the module's runtime helpers, srcad.codegen.rt)")
    srcad_t, numba_t = rows[1][1][""], rows[0][1][""]
    ratio = srcad_t / numba_t if isinstance(srcad_t, float) else srcad_t
    T.print_targets([("srcad.grad vs hand-written numba", ratio, TARGET_VS_NUMBA, "x")])


if __name__ == "__main__":
    main()
