"""srcad on every (case, point) of the corpora in ``functions.py`` and ``corpus_control.py``.

Primal results are checked against CPython, derivatives against central finite differences
(``fd.py``) in both modes, and forward mode against reverse mode. Results are cached per
(case, point) so that each srcad transformation runs once per point, and srcad is handed the
same function object for every point, so it can reuse compiled code across points.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import srcad
from srcad import differentiate
from tests import corpus_check, fd
from tests.registry import Case

PRIMAL_RTOL, PRIMAL_ATOL = 1e-12, 1e-13
FD_RTOL, FD_ATOL = 1e-5, 1e-7
MODES_RTOL, MODES_ATOL = 1e-10, 1e-12

corpus_points = pytest.mark.parametrize(
    "case, k",
    [
        pytest.param(case, k, id=f"{case.name}[{k}]", marks=[pytest.mark.slow] if case.slow else [])
        for case in corpus_check.all_cases()
        for k in range(len(case.points))
    ],
)

# Caches are keyed by (case, point index), not by the point: (1, 2.0) == (1.0, 2) in Python.


@functools.cache
def compiled(case: Case) -> Callable[..., Any]:
    return differentiate(case.fn)


@functools.cache
def reference(case: Case, k: int) -> Any:
    return case.fn(*case.points[k])


@functools.cache
def fd_jacobian(case: Case, k: int) -> np.ndarray:
    return fd.jacobian(case.fn, case.points[k])


@functools.cache
def cotangent(case: Case, k: int) -> float | tuple[float, ...]:
    """1.0 for a scalar result; fixed pseudo-random weights, one per output, for a tuple."""
    out = reference(case, k)
    if not isinstance(out, tuple):
        return 1.0
    return tuple(float(w) for w in np.random.default_rng(0).uniform(-1.5, 1.5, len(out)))


@functools.cache
def reverse(case: Case, k: int) -> tuple[Any, tuple[Any, ...]]:
    """srcad.vjp's primal result and the pullback of ``cotangent(case, k)``."""
    out, pullback = srcad.vjp(case.fn, *case.points[k])
    return out, pullback(cotangent(case, k))


@functools.cache
def forward(case: Case, k: int) -> dict[int, tuple[Any, Any]]:
    """srcad.jvp's (result, tangent) for a unit tangent on each float argument, by position."""
    point = case.points[k]
    results = {}
    for i in fd.float_indices(point):
        tangents = tuple(
            (1.0 if j == i else 0.0) if isinstance(arg, float) else 0 for j, arg in enumerate(point)
        )
        results[i] = srcad.jvp(case.fn, point, tangents)
    return results


def assert_like_reference(actual: Any, expected: Any, rtol: float, atol: float, what: str) -> None:
    """Same structure (float or tuple of the same length) and values close to ``expected``."""
    assert isinstance(actual, tuple) == isinstance(expected, tuple), (
        f"{what}: got {actual!r}, CPython returns {expected!r}"
    )
    np.testing.assert_allclose(
        fd.as_vector(actual), fd.as_vector(expected), rtol=rtol, atol=atol, err_msg=what
    )


@corpus_points
def test_point_is_sound(case: Case, k: int) -> None:
    """The corpus point itself is a valid reference: finite results, stable differences."""
    assert not corpus_check.sound_point_problems(case, case.points[k])


@corpus_points
def test_interpret(case: Case, k: int) -> None:
    out = srcad.interpret(case.fn, *case.points[k])
    assert_like_reference(out, reference(case, k), PRIMAL_RTOL, PRIMAL_ATOL, "interpreted result")


@corpus_points
def test_compiled_primal(case: Case, k: int) -> None:
    out = compiled(case)(*case.points[k])
    assert_like_reference(out, reference(case, k), PRIMAL_RTOL, PRIMAL_ATOL, "compiled result")


@corpus_points
def test_reverse_vs_fd(case: Case, k: int) -> None:
    point = case.points[k]
    out, cts = reverse(case, k)
    assert_like_reference(out, reference(case, k), PRIMAL_RTOL, PRIMAL_ATOL, "vjp primal result")
    assert len(cts) == len(point), f"one cotangent per primal expected, got {cts!r}"
    for i, (arg, ct) in enumerate(zip(point, cts)):
        if isinstance(arg, int):
            assert ct is None, f"int argument {i} got cotangent {ct!r}, expected None"
        else:
            assert ct is not None, f"float argument {i} got no cotangent"
    floats = fd.float_indices(point)
    expected = fd.as_vector(cotangent(case, k)) @ fd_jacobian(case, k)[:, floats]
    actual = np.array([float(cts[i]) for i in floats])
    np.testing.assert_allclose(actual, expected, rtol=FD_RTOL, atol=FD_ATOL, err_msg="vjp vs FD")


@corpus_points
def test_forward_vs_fd(case: Case, k: int) -> None:
    expected_out = reference(case, k)
    jac = fd_jacobian(case, k)
    for i, (out, tangent) in forward(case, k).items():
        assert_like_reference(out, expected_out, PRIMAL_RTOL, PRIMAL_ATOL, "jvp primal result")
        assert isinstance(tangent, tuple) == isinstance(expected_out, tuple), (
            f"tangent {tangent!r} does not match the structure of {expected_out!r}"
        )
        np.testing.assert_allclose(
            fd.as_vector(tangent),
            jac[:, i],
            rtol=FD_RTOL,
            atol=FD_ATOL,
            err_msg=f"jvp vs FD, unit tangent on argument {i}",
        )


@corpus_points
def test_forward_matches_reverse(case: Case, k: int) -> None:
    weights = fd.as_vector(cotangent(case, k))
    _, cts = reverse(case, k)
    for i, (_, tangent) in forward(case, k).items():
        np.testing.assert_allclose(
            weights @ fd.as_vector(tangent),
            float(cts[i]),
            rtol=MODES_RTOL,
            atol=MODES_ATOL,
            err_msg=f"forward vs reverse, argument {i}",
        )
