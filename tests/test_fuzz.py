"""Random programs through srcad (issue 13; the fuzzer is ``tests/fuzz``).

The default run checks a fixed sample (the same seeds every time): programs through the IR
interpreter (the frontend, AD and passes, no Numba) and a few dozen compiled with Numba, and
every minimized failure in ``tests/fuzz/regressions.py``.  ``pytest -m fuzz`` runs many new
programs: ``SRCAD_FUZZ_N`` (default 2000), ``SRCAD_FUZZ_SEED`` (default: from the clock; the
failure message says which), ``SRCAD_FUZZ_BACKEND`` (interpret, compiled or both).

A crash, a wrong value or a wrong gradient fails; a located ``srcad.SrcadError`` is fine.  The
state of argument arrays after the primal call (Python writes into them, so must srcad) is
checked by tests of its own, so that it does not hide the other failures.
"""
from __future__ import annotations

import functools
import os
import re
import time

import numpy as np
import pytest

import srcad
from tests.fuzz import harness
from tests.fuzz.gen import Config, Generator, Program, generate
from tests.fuzz.harness import check
from tests.fuzz.minimize import minimize
from tests.fuzz.regressions import REGRESSIONS

SAMPLE_SEED = 13_000_000
INTERPRET_CHUNKS, INTERPRET_PER_CHUNK = 12, 25        # 300 programs
COMPILED_CHUNKS, COMPILED_PER_CHUNK = 8, 3            # 24 programs
# compiled programs are smaller (each costs three Numba compiles: primal, vjp, jvp; grad is
# compiled by the regressions and in the -m fuzz run)
COMPILED_CONFIG = Config(max_stmts=12)
COMPILED_CHECKS = tuple(c for c in harness.CHECKS if c != "grad")


def _failures(results, arg_state: bool = False) -> str:
    bad = [r for r in results if (r.arg_state is not None if arg_state else r.failed)]
    return "\n\n".join(r.report() for r in bad)


@functools.cache
def _chunk(backend: str, k: int) -> tuple:
    if backend == "interpret":
        seeds = range(SAMPLE_SEED + k * INTERPRET_PER_CHUNK,
                      SAMPLE_SEED + (k + 1) * INTERPRET_PER_CHUNK)
        return tuple(check(generate(s), "interpret", timeout=60) for s in seeds)
    base = SAMPLE_SEED + 500_000
    seeds = range(base + k * COMPILED_PER_CHUNK, base + (k + 1) * COMPILED_PER_CHUNK)
    return tuple(check(generate(s, COMPILED_CONFIG), "compiled", checks=COMPILED_CHECKS,
                       timeout=600) for s in seeds)


def _group(backend, k):
    return pytest.mark.xdist_group(f"fuzz-{backend}-{k}")


@pytest.mark.parametrize("k", [pytest.param(k, marks=_group("interpret", k))
                               for k in range(INTERPRET_CHUNKS)])
def test_interpret_sample(k):
    results = _chunk("interpret", k)
    assert not any(r.failed for r in results), _failures(results)


@pytest.mark.parametrize("k", [pytest.param(k, marks=_group("interpret", k))
                               for k in range(INTERPRET_CHUNKS)])
def test_interpret_sample_argument_state(k):
    """After a primal call, argument arrays hold what CPython leaves in them."""
    results = _chunk("interpret", k)
    assert not any(r.arg_state for r in results), _failures(results, arg_state=True)


@pytest.mark.parametrize("k", [pytest.param(k, marks=_group("compiled", k))
                               for k in range(COMPILED_CHUNKS)])
def test_compiled_sample(k):
    results = _chunk("compiled", k)
    assert not any(r.failed for r in results), _failures(results)


@pytest.mark.parametrize("k", [pytest.param(k, marks=_group("compiled", k))
                               for k in range(COMPILED_CHUNKS)])
def test_compiled_sample_argument_state(k):
    results = _chunk("compiled", k)
    assert not any(r.arg_state for r in results), _failures(results, arg_state=True)


def test_sample_is_mostly_checked():
    """The generator makes programs srcad mostly accepts and CPython runs: a sample where
    most programs are refused or invalid would check little."""
    results = [r for k in range(3) for r in _chunk("interpret", k)]
    outcomes = [r.outcome for r in results]
    assert outcomes.count("invalid") <= 0.05 * len(results)
    assert outcomes.count("refused") <= 0.35 * len(results)


# ----------------------------------------------------------------------------- regressions

def _regression_params():
    for reg in REGRESSIONS:
        for backend in reg.backends:
            yield pytest.param(reg, backend, id=f"{reg.name}-{backend}")


@pytest.mark.parametrize("reg, backend", list(_regression_params()))
def test_regression(reg, backend):
    """Minimized programs the fuzzer found srcad getting wrong (see regressions.py)."""
    res = check(reg.program(), backend, checks=reg.checks, timeout=600)
    detail = f"{reg.name} ({reg.known or 'found by the fuzzer'}): {reg.expect}\n{res.report()}"
    assert not res.failed, detail
    if not reg.refusal_ok:
        assert res.outcome != "refused", detail
    if "arg_state" in reg.checks:
        assert res.arg_state is None, detail


# ----------------------------------------------------------------------------- many programs

@pytest.mark.fuzz
def test_fuzz_many():
    n = int(os.environ.get("SRCAD_FUZZ_N", "2000"))
    seed = int(os.environ.get("SRCAD_FUZZ_SEED", str(int(time.time()) % 10**6 * 1000)))
    which = os.environ.get("SRCAD_FUZZ_BACKEND", "interpret")
    backends = harness.BACKENDS if which == "both" else (which,)
    bad = []
    for backend in backends:
        for s in range(seed, seed + n):
            r = check(generate(s), backend, timeout=60 if backend == "interpret" else 600)
            if r.failed:
                bad.append(r)
    assert not bad, (f"SRCAD_FUZZ_SEED={seed} SRCAD_FUZZ_N={n}: {len(bad)} failures; "
                     "minimize with python -m tests.fuzz --show SEED, or see below\n\n"
                     + "\n\n".join(r.report() for r in bad[:10]))


# ----------------------------------------------------------------------------- the tools

def test_generator_is_deterministic():
    for seed in (0, 1, 12345):
        a, b = generate(seed), generate(seed)
        assert a.source == b.source and a.tags == b.tags
        for x, y in zip(a.args, b.args):
            np.testing.assert_array_equal(x, y)
    assert generate(1).source != generate(2).source


def test_generated_programs_run_in_cpython():
    """Programs are valid Python by construction: no exception (the rare overflow of a
    program that multiplies in a loop is an ``invalid`` outcome, not an error)."""
    overflow = 0
    for seed in range(SAMPLE_SEED, SAMPLE_SEED + 150):
        p = generate(seed)
        fn = harness.load(p)
        with harness.quiet():
            out = fn(*p.fresh_args())       # raises if the generator made an invalid program
        overflow += not np.all(np.isfinite(harness.flat(out)))
    assert overflow <= 5


def test_constructs_can_be_turned_off():
    off = ("for", "while", "if", "helper_call", "helper_write", "aug_array")
    cfg = Config().without(*off)
    for seed in range(40):
        p = generate(seed, cfg)
        assert not set(p.constructs()) & set(off), p.source
        assert not re.search(r"^\s*(for|while|if|elif) ", p.source, re.MULTILINE), p.source
    with pytest.raises(KeyError):
        Config().without("no_such_construct")


def test_generator_covers_the_constructs():
    """Over a few hundred seeds every construct of the default mix appears."""
    seen = set()
    text = ""
    for seed in range(300):
        p = generate(seed)
        seen |= p.constructs()
        text += p.source
    statements = {"assign", "assign_array", "aug_scalar", "elem_write", "aug_elem",
                  "slice_write", "row_write", "col_write", "aug_slice", "aug_array", "alias",
                  "view", "copy", "if", "for", "while", "helper_call", "helper_write", "break",
                  "continue", "return"}
    assert statements <= seen, statements - seen
    for form in ("np.where(", "np.cumsum(", " @ ", "np.dot(", "np.maximum(", "np.minimum(",
                 "abs(", "np.sum(", "np.mean(", "np.max(", "axis=", "keepdims=True",
                 "[:, None]", ".T", "[::-1]", "elif ", "break", "continue", "math."):
        assert form in text, form


def test_harness_reports_a_wrong_value(monkeypatch):
    """The checks can fail: a primal off by one ulp-free amount is a wrong value, a scaled
    tangent a wrong gradient (srcad patched here to lie)."""
    p = Program(1, "import numpy as np\n\ndef f(x, a):\n    return np.sum(np.sin(a) * x)\n",
                (0.7, np.array([0.1, 0.2, 0.3])))
    assert check(p, "interpret").outcome == "ok"
    real_interpret, real_jvp = srcad.interpret, srcad.jvp
    monkeypatch.setattr(srcad, "interpret", lambda f, *a: real_interpret(f, *a) + 1e-9)
    assert check(p, "interpret").outcome == "wrong_value"
    monkeypatch.setattr(srcad, "interpret", real_interpret)

    def bad_jvp(f, primals, tangents, **kw):
        out, t = real_jvp(f, primals, tangents, **kw)
        return out, t * 1.001
    monkeypatch.setattr(srcad, "jvp", bad_jvp)
    res = check(p, "interpret")
    assert res.outcome == "wrong_grad"
    assert {f.check for f in res.findings} == {"jvp", "fwd_rev"}


def test_harness_reports_argument_state_and_refusals():
    writes = Program(2, "import numpy as np\n\ndef f(x, a):\n    a[0] = x\n"
                        "    return np.sum(a)\n", (0.5, np.array([1.0, 2.0])))
    res = check(writes, "interpret")
    assert res.writes_args
    if res.arg_state is not None:      # srcad today works on a copy of the caller's array
        assert "argument 1" in res.arg_state.detail
    refused = Program(3, "def f(x):\n    try:\n        y = x\n    except Exception:\n"
                         "        y = 0.0\n    return y\n", (0.5,))
    res = check(refused, "interpret")
    assert res.outcome == "refused" and res.refusal[0] == "?"


def test_minimizer_keeps_the_failure():
    """With a stand-in checker that 'fails' on every program calling np.cumsum, the minimizer
    shrinks a generated program to a few lines that still call it."""
    seed = next(s for s in range(1000) if "np.cumsum(" in generate(s).source
                and generate(s).source.count("\n") > 20)
    program = generate(seed)

    def fake_check(p, backend, checks=harness.CHECKS, timeout=None):
        res = harness.Result(p, backend)
        try:
            fn = harness.load(p)
            harness.reference(fn, p)
        except harness.InvalidProgram:
            res.outcome = "invalid"
            return res
        if "np.cumsum(" in p.source:
            res.outcome = "crash"
            res.findings = [harness.Finding("crash", "primal", backend, "cumsum", "crash:x")]
        return res
    start = fake_check(program, "interpret")
    small = minimize(start, budget_s=60, checker=fake_check)
    assert "np.cumsum(" in small.program.source
    assert small.program.source.count("\n") < 8, small.program.source
    assert len(small.program.source) < len(program.source) / 3


def test_generator_class_is_the_entry_point():
    assert Generator(5).program().source == generate(5).source
