"""Minimized programs on which the fuzzer found srcad wrong (tests/test_fuzz.py runs them all).

Each entry is source text plus arguments, the backends it failed in, the reproducer in
``../shared/bugs`` it is an instance of (``known``; None: found by the fuzzer), and what goes
wrong.  They fail until srcad is fixed; when one is fixed it stays here as a regression test.
``checks`` limits the run to the checks that matter (a compiled entry then costs one or two
Numba compiles); ``refusal_ok=False`` where a located refusal is itself the bug.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gen import Program
from .harness import CHECKS


@dataclass(frozen=True)
class Regression:
    name: str
    source: str
    args: tuple
    expect: str
    known: str | None = None
    backends: tuple = ("interpret",)
    checks: tuple = CHECKS
    refusal_ok: bool = True
    seed: int = 1          # the random direction and cotangent of the derivative checks

    def program(self) -> Program:
        return Program(self.seed, "import math\n\nimport numpy as np\n\n" + self.source,
                       tuple(a.copy() if isinstance(a, np.ndarray) else a for a in self.args))


REGRESSIONS: list[Regression] = [
    # --- found by the fuzzer (new) -------------------------------------------------------
    Regression(
        "interpret_float_output",
        "def f(z):\n    return z\n",
        (-0.2,),
        "srcad.vjp/jvp(..., backend='interpret') crash with AttributeError: 'float' object "
        "has no attribute 'item' (srcad/api.py, Differentiable.interpreted) when an output is "
        "a Python float (a parameter returned as is, a loop that runs no iteration); "
        "srcad.interpret handles it.  Masks the derivative checks of ~10% of programs.",
        checks=("vjp", "jvp")),
    Regression(
        "where_scalar_branches_sum",
        "def f(x, a):\n    return np.sum(np.where(a > x, 1.0, 2.0)) * x\n",
        (0.4, np.array([0.1, 0.5, 0.9])),
        "np.where(array condition, float, float) is typed as a float, not an array: np.sum of "
        "it is dropped and srcad returns the array [0.8, 0.4, 0.4] where CPython gives 1.6 "
        "(silent wrong value, compiled too)."),
    Regression(
        "where_scalar_branches_compiled",
        "def f(x, a):\n    return np.sum(np.where(a > x, 1.0, 2.0)) * x\n",
        (0.4, np.array([0.1, 0.5, 0.9])),
        "The same compiled: the primal returns an array where CPython returns 1.6 (other "
        "programs: Numba TypingError 'Cannot unify array(float64, 1d, C) and float64' in the "
        "primal, e.g. np.prod(np.where(c, -0.5, 0.25)) + x).",
        backends=("compiled",), checks=("primal",)),
    Regression(
        "where_scalar_branches_nested",
        "def f(A):\n    A[1] = np.where(np.where(1.0 > A[1], 0.5, 0.5) < 0.3, 0.66, 0.3)\n"
        "    return np.sum(A)\n",
        (np.array([[-1.2, 0.7, 1.2], [0.7, -0.6, 1.2]]),),
        "The same typing of np.where(array, float, float): the interpreter's primal fails "
        "with 'The truth value of an array with more than one element is ambiguous'."),
    Regression(
        "where_scalar_branches_vjp",
        "def f(A):\n    v2 = np.where(A > A, 0.09, 0.3) * A[1, 0]\n    return np.sum(v2)\n",
        (np.array([[-0.2, -0.5], [0.7, -0.1]]),),
        "The same typing of np.where(array, float, float): the primal returns the 2x2 "
        "array (np.sum dropped) and reverse mode fails with 'setting an array element with "
        "a sequence' (srcad/primitives/arrays.py)."),
    Regression(
        "where_broadcast_cotangent_shape",
        "def f(A, a, b):\n    return np.sum(np.where(A < b, 3, a) * A)\n",
        (np.array([[1.1, 0.7, 1.0], [1.3, -1.1, 0.9], [-0.8, -0.6, 0.3]]),
         np.array([-0.5, -0.8, -0.3]), np.array([0.6, -1.1, -1.1])),
        "np.where(2-D condition, int, 1-D a): the cotangent of a has shape (3, 3) instead of "
        "(3,): the adjoint of np.where is not summed back over the broadcast axes."),
    Regression(
        "jvp_constant_minus_keepdims",
        "def f(x):\n    return np.ones((5, 2)) - np.min(x * np.ones((5, 2)), axis=0, "
        "keepdims=True)\n",
        (0.2,),
        "Forward mode: the tangent of constant(5, 2) - t(1, 2) keeps t's shape (1, 2) "
        "instead of broadcasting to (5, 2) (wrong tangent shape; with @ after it the JVP "
        "crashes with 'shapes (5,1) and (5,) not aligned')."),
    Regression(
        "jvp_constant_minus_keepdims_write",
        "def f(n, A):\n    A = np.ones_like(A) - np.sum(A, axis=0, keepdims=True)\n"
        "    A[2] = n\n    return np.sum(A * A)\n",
        (1, np.array([[-0.7, -0.2, 1.3], [0.5, 0.8, 0.2], [-1.1, -1.5, 1.4]])),
        "The same broadcast tangent in forward mode: then writing row 2 of it fails with "
        "IndexError 'index 2 is out of bounds for axis 0 with size 1' "
        "(srcad/primitives/arrays.py)."),
    Regression(
        "cumsum_2d_flat_vjp",
        "def f(A):\n    return np.sum(np.sin(np.cumsum(A).reshape(3, 3)))\n",
        (np.array([[-0.9, -0.9, 0.3], [-1.1, -0.9, 0.0], [1.2, -1.1, -0.1]]),),
        "np.cumsum of a 2-D array (no axis: the flattened cumsum, 1-D): reverse mode treats "
        "it as 2-D: IndexError 'tuple index out of range' (srcad/primitives/arrays.py) in the "
        "interpreter, Numba TypingError 'tuple index out of range' on t.shape[1] compiled.",
        backends=("interpret", "compiled"), checks=("vjp",)),
    # --- instances of the reproducers in ../shared/bugs ------------------------------------
    Regression(
        "aug_assign_helper_param",
        "def w1(P2, q3):\n    P2 *= P2\n\ndef f(n, a):\n    w1(a, n)\n    return a\n",
        (2, np.array([0.1, -1.1, -0.4])),
        "CPython squares the caller's array in place ([0.01, 1.21, 0.16]); srcad rebinds "
        "the helper's parameter and returns a unchanged.",
        known="aug_assign_alias.py"),
    Regression(
        "aug_assign_alias",
        "def f(A):\n    al5 = A\n    al5 += 1.0\n    return np.sum(A * A)\n",
        (np.array([[1.0, -0.8, 0.0], [-1.2, -0.8, -1.1]]),),
        "al5 += 1.0 writes into the array A is bound to; srcad rebinds al5 (A unchanged).",
        known="aug_assign_alias.py"),
    Regression(
        "internal_overwritten_loop_branch",
        "def f(y, A):\n    for i1 in range(0):\n        if y >= 1.5:\n"
        "            A += 1.0\n        else:\n            A[1] = y\n    return np.sum(A)\n",
        (1.5, np.array([[-0.5, -1.2], [-0.6, 1.4]])),
        "Reverse mode refuses with the internal error \"reverse mode needs 'A' after it was "
        "overwritten in place ... please report this\" (a loop with a branch that writes A "
        "element-wise on one side and whole on the other).",
        known="located_internal_overwritten.py", checks=("vjp",)),
    Regression(
        "branch_write_in_loop_keyerror",
        "def f(A, x):\n    for i3 in range(2, 1, -1):\n        if x > 0.65:\n"
        "            A[0] = x\n            x /= A[2, i3]\n        else:\n            pass\n"
        "    return x\n",
        (np.array([[0.9, -0.9], [-0.5, -0.1], [0.0, 0.4]]), -1.4),
        "Reverse mode of a loop whose branch writes a row and then reads the array: the "
        "interpreter fails with KeyError (a value used on a path where it is not defined, in "
        "srcad/ir/interpreter.py); probably the root cause of grad_undefined_adjoint.py's "
        "Numba NotDefinedError.",
        known="grad_undefined_adjoint.py", checks=("vjp",)),
    # --- the state of the caller's arrays after the primal call -----------------------------
    Regression(
        "argument_state_after_write",
        "def f(b):\n    b[0] -= 2.0\n    return np.sum(b * b)\n",
        (np.array([0.3, -0.1, -0.9, 0.1]),),
        "CPython leaves b = [-1.7, -0.1, -0.9, 0.1]; srcad's primal works on a copy and "
        "leaves the caller's b unchanged (by design today: README and tests/test_writes.py "
        "say so; issue 13 asks for CPython's state).",
        known="issue 13 (the test that keeps it so)", checks=("primal", "arg_state")),
]
