"""Checks that corpus points are sound references, using plain CPython + NumPy only.

``python -m tests.corpus_check`` runs every check on both corpora; ``test_corpus.py`` runs the
cheap ones (:func:`sound_point_problems`) as part of the suite. A point is sound when

* the function returns a finite float, or a tuple of finite floats;
* central differences are stable: steps h/10 and 10h agree with h (``fd.REL_STEP``);
* (full check) it keeps a margin from every switch: moving any float argument by 1e-3 relative
  executes the same bytecode path, and for ``kinks`` cases a 1e-3 relative difference quotient
  still agrees with the fine one (this catches kinks inside abs/min/max/clip/floor/...).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import numpy as np

from tests import corpus_control, fd, functions
from tests.registry import Case, Point

CORPORA = (functions, corpus_control)
STABLE_RTOL = 1e-5
STABLE_ATOL = 1e-8
MARGIN = 1e-3
WIDE_RTOL = 1e-3
WIDE_ATOL = 1e-6


def all_cases() -> list[Case]:
    return [c for corpus in CORPORA for c in corpus.CASES]


def _is_float_result(v: Any) -> bool:
    return isinstance(v, (float, np.floating)) and np.isfinite(v)


def _disagreement(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> float:
    """Largest violation ratio of |a - b| <= atol + rtol * max(|a|, |b|); <= 1 means agreement."""
    bound = atol + rtol * np.maximum(np.abs(a), np.abs(b))
    return float(np.max(np.abs(a - b) / bound, initial=0.0))


def sound_point_problems(case: Case, point: Point) -> list[str]:
    """Problems found by the cheap checks (result type/finiteness and FD stability)."""
    if not fd.float_indices(point):
        return ["no float argument to differentiate"]
    out = case.fn(*point)
    values = out if isinstance(out, tuple) else (out,)
    if not all(_is_float_result(v) for v in values):
        return [f"result is not a (tuple of) finite float(s): {out!r}"]
    problems = []
    base = fd.jacobian(case.fn, point)
    for factor in (0.1, 10.0):
        other = fd.jacobian(case.fn, point, fd.REL_STEP * factor)
        bad = _disagreement(base, other, STABLE_RTOL, STABLE_ATOL)
        if bad > 1:
            problems.append(f"FD unstable (step x{factor}: {bad:.3g} x tolerance)\n{base}\n{other}")
    return problems


def _path_signature(fn: Callable[..., Any], args: Point) -> int:
    """Hash of the bytecode offsets executed in corpus code while running ``fn(*args)``."""
    files = {corpus.__file__ for corpus in CORPORA}
    sig = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal sig
        if event == "opcode":
            sig = hash((sig, frame.f_code.co_name, frame.f_lasti))
        return local

    def global_(frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename not in files:
            return None
        frame.f_trace_opcodes = True
        return local

    sys.settrace(global_)
    try:
        fn(*args)
    finally:
        sys.settrace(None)
    return sig


def margin_problems(case: Case, point: Point) -> list[str]:
    """Problems found by the switch-margin checks (expensive: traces every opcode)."""
    problems = []
    reference = _path_signature(case.fn, point)
    for i in fd.float_indices(point):
        for sign in (-1.0, 1.0):
            moved = list(point)
            moved[i] = point[i] + sign * fd.step(point[i], MARGIN)
            if _path_signature(case.fn, tuple(moved)) != reference:
                problems.append(f"argument {i} moved by {sign * MARGIN:+g} rel changes the path")
    if case.kinks:
        wide = fd.jacobian(case.fn, point, MARGIN)
        bad = _disagreement(fd.jacobian(case.fn, point), wide, WIDE_RTOL, WIDE_ATOL)
        if bad > 1:
            problems.append(f"a kink lies within {MARGIN:g} rel ({bad:.3g} x tolerance)")
    return problems


def main() -> int:
    n_bad = 0
    for corpus in CORPORA:
        print(
            f"{corpus.__name__}: {len(corpus.CASES)} cases, "
            f"{sum(len(c.points) for c in corpus.CASES)} points"
        )
    names = [c.name for c in all_cases()]
    for name in {n for n in names if names.count(n) > 1}:
        print(f"duplicate case name {name}")
        n_bad += 1
    for case in all_cases():
        for k, point in enumerate(case.points):
            try:
                problems = sound_point_problems(case, point)
                problems = problems or margin_problems(case, point)
            except Exception as exc:  # noqa: BLE001 - report and continue
                problems = [f"raised {type(exc).__name__}: {exc}"]
            for p in problems:
                print(f"{case.name}[{k}] {point}: {p}")
            n_bad += bool(problems)
    print("all points sound" if not n_bad else f"{n_bad} unsound points")
    return int(bool(n_bad))


if __name__ == "__main__":
    sys.exit(main())
