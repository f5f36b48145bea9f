"""Run one program through srcad and compare with CPython and finite differences.

``check(program, backend)`` returns a :class:`Result`.  For the backend ``"interpret"`` every
transform runs in srcad's NumPy IR interpreter (``srcad.interpret``, ``srcad.vjp(...,
backend="interpret")``, ...: the frontend, AD and passes, no Numba); for ``"compiled"`` through
Numba (``srcad.differentiate(f)(...)``, ``srcad.vjp``, ``srcad.jvp``, ``srcad.grad``).

Checks, in order:
  primal     the result equals CPython's (and ``srcad.interpret``'s);
  arg_state  the caller's arrays after the primal call equal CPython's after the same call
             (Python writes into argument arrays; reported separately, see ``Result``);
  vjp, jvp, grad  derivatives equal central finite differences along a random direction
             (two step sizes; points where the two estimates disagree, near a kink or a branch
             switch, are skipped), and the value each returns equals CPython's;
  fwd_rev    forward == reverse (``<ct, J u>`` both ways), at every point;
  untouched  derivative calls leave the caller's arrays untouched.

Outcome classes: ``ok``; ``refused`` (a ``srcad.SrcadError`` naming file:line:col: fine, but
counted per construct and message); ``wrong_value``; ``wrong_grad``; ``crash`` (any other
exception, a ``SrcadError`` without a location, or one that says "internal"/"please report");
``invalid`` (the program itself fails or overflows in CPython: a generator problem, not srcad's).
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import re
import signal
import tempfile
import threading
import traceback
import warnings
from dataclasses import dataclass, field

import numpy as np

import srcad
from srcad.api import Spec
from srcad.testing import _unflatten  # a cotangent in the output's structure

from .gen import Program

BACKENDS = ("interpret", "compiled")
CHECKS = ("primal", "arg_state", "vjp", "jvp", "grad", "fwd_rev", "untouched")
FAIL_CLASSES = ("crash", "wrong_value", "wrong_grad")


@dataclass(frozen=True)
class Tolerances:
    value_rtol: float = 1e-12      # srcad.interpret vs CPython (the same NumPy operations)
    compiled_rtol: float = 1e-9    # compiled: fused sums reorder, vmath is within 1-3 ulp
    fd_rtol: float = 1e-5          # AD vs central differences
    fd_atol: float = 1e-6          # ... times max(1, |fd|)
    modes_rtol: float = 1e-9       # forward vs reverse mode
    steps: tuple = (1e-6, 1e-5)    # the two finite-difference steps
    max_abs: float = 1e6           # programs whose result is larger are "invalid"


TOL = Tolerances()


@dataclass
class Finding:
    cls: str          # crash / wrong_value / wrong_grad / arg_state
    check: str        # primal, vjp, jvp, grad, fwd_rev, untouched, arg_state, ...
    backend: str
    detail: str       # expected vs actual, or the exception
    signature: str    # what groups findings by root cause

    def __str__(self) -> str:
        return f"[{self.cls} {self.backend}/{self.check}] {self.detail}"


@dataclass
class Result:
    program: Program
    backend: str
    outcome: str = "ok"
    findings: list = field(default_factory=list)   # every failed check (not arg_state)
    arg_state: Finding | None = None               # Python wrote into an argument, srcad not
    refusal: tuple | None = None                   # (construct, message signature, text)
    fd_skipped: bool = False                       # derivatives not compared with FD here
    writes_args: bool = False                      # CPython wrote into an argument array

    @property
    def failed(self) -> bool:
        return self.outcome in FAIL_CLASSES

    @property
    def signature(self) -> str:
        return self.findings[0].signature if self.findings else self.outcome

    def report(self) -> str:
        lines = [f"seed {self.program.seed} backend {self.backend}: {self.outcome}"]
        lines += [f"  {f}" for f in self.findings]
        if self.arg_state:
            lines.append(f"  {self.arg_state}")
        if self.refusal:
            lines.append(f"  refused: {self.refusal[2]}")
        lines.append(self.program.source)
        lines.append(f"args = {format_args(self.program.args)}")
        return "\n".join(lines)


def format_args(args) -> str:
    def one(a):
        if isinstance(a, np.ndarray):
            return f"np.array({np.array2string(a, separator=', ', precision=17, floatmode='unique', max_line_width=10**6)})"  # noqa: E501
        return repr(a)
    return "(" + ", ".join(one(a) for a in args) + ("," if len(args) == 1 else "") + ")"


# ----------------------------------------------------------------------------- loading

_TMP: str | None = None


def _tmpdir() -> str:
    global _TMP
    if _TMP is None:
        _TMP = tempfile.mkdtemp(prefix="srcad_fuzz_")
    return _TMP


def load(program: Program):
    """Write the program to a .py file (srcad reads source with inspect) and import it.  The
    file name hashes the source, so a changed program never reads a stale cached line."""
    digest = hashlib.sha1(program.source.encode()).hexdigest()[:12]
    name = f"fuzz_{digest}"
    path = os.path.join(_tmpdir(), name + ".py")
    if not os.path.exists(path):
        with open(path, "w") as fh:
            fh.write(program.source)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)   # minimizer variants: 1.0[0]
            spec.loader.exec_module(mod)
        return getattr(mod, program.name)
    except Exception as e:  # noqa: BLE001
        raise InvalidProgram(f"import: {type(e).__name__}: {e}") from None


# ----------------------------------------------------------------------------- utilities

class Timeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise Timeout after ``seconds`` (main thread on Unix only; else no limit)."""
    if not seconds or threading.current_thread() is not threading.main_thread() or \
            not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise Timeout(f"no result after {seconds} s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def quiet():
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def flat(out) -> np.ndarray:
    parts = out if isinstance(out, tuple) else (out,)
    return np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts])


def same_structure(a, b) -> bool:
    if isinstance(a, tuple) != isinstance(b, tuple):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same_structure(x, y) for x, y in zip(a, b))
    return np.shape(a) == np.shape(b)


def close(a, b, rtol: float, atol: float) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(both_nan | (np.abs(a - b) <= atol + rtol * np.abs(b))))


def short(v) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(short(x) for x in v) + ")"
    if isinstance(v, np.ndarray):
        return np.array2string(v, precision=8, max_line_width=200)
    if isinstance(v, float):
        return f"{v:.12g}"
    return repr(v)


_NUM = re.compile(r"(?<![\w.])[-+]?\d+(\.\d+)?(e[-+]?\d+)?")
_QUOTED = re.compile(r"'[^']*'")
_PATH = re.compile(r"\S+\.py:\d+:\d+")


def normalize(message: str) -> str:
    """A message with names, numbers and locations abstracted, for grouping."""
    m = _PATH.sub("FILE", message)
    m = _QUOTED.sub("'X'", m)
    m = _NUM.sub("N", m)
    return m.strip()[:160]


def crash_message(e: BaseException) -> str:
    """The informative line of an exception (Numba's first line is generic)."""
    text = str(e)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return type(e).__name__
    if "Failed in" in lines[0] and len(lines) > 1:   # Numba: the reason is on the next line
        for ln in lines[1:]:
            if "NameError" in ln or "not defined" in ln:
                return ln[:200]
        return lines[1][:200]
    return lines[0][:200]


def is_located(e: BaseException) -> bool:
    if not isinstance(e, srcad.SrcadError) or e.loc is None:
        return False
    words = f"{e.reason} {e.hint or ''}".lower()
    return "please report" not in words and "internal" not in words


# ----------------------------------------------------------------------------- reference

@dataclass
class Reference:
    """CPython's results for one program: value, argument state after the call, and finite
    differences along one random direction."""
    out: object
    args_after: tuple
    floats: list
    u: list                  # direction per float argument
    ct: object               # cotangent, in the output's structure
    fd: np.ndarray | None    # J u by central differences (None when the two steps disagree)
    fd_small: np.ndarray
    fd_large: np.ndarray


def _shift(args, floats, u, eps):
    out = list(args)
    for i, ui in zip(floats, u):
        out[i] = args[i] + eps * ui
    return out


def reference(fn, program: Program, tol: Tolerances = TOL) -> Reference:
    """Raises ``InvalidProgram`` when CPython fails or the result is not finite/too large."""
    rng = np.random.default_rng([program.seed or 0, 7])
    args = program.fresh_args()
    with quiet():
        try:
            out = fn(*args)
        except Exception as e:  # noqa: BLE001
            raise InvalidProgram(f"CPython: {type(e).__name__}: {e}") from None
    vals = flat(out)
    if not np.all(np.isfinite(vals)) or np.max(np.abs(vals)) > tol.max_abs:
        raise InvalidProgram("CPython: result not finite or too large")
    floats = [i for i, a in enumerate(program.args)
              if isinstance(a, float) or isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    u = [rng.standard_normal(np.shape(program.args[i])) if isinstance(program.args[i], np.ndarray)
         else float(rng.standard_normal()) for i in floats]
    ct = _unflatten(rng.standard_normal(vals.size), out)

    def fd(eps):
        base = program.args
        try:
            with quiet():
                plus = flat(fn(*_shift(tuple(a.copy() if isinstance(a, np.ndarray) else a
                                             for a in base), floats, u, eps)))
                minus = flat(fn(*_shift(tuple(a.copy() if isinstance(a, np.ndarray) else a
                                              for a in base), floats, u, -eps)))
        except Exception as e:  # noqa: BLE001
            raise InvalidProgram(f"CPython near the point: {type(e).__name__}: {e}") from None
        if plus.shape != vals.shape or minus.shape != vals.shape:
            raise InvalidProgram("CPython: the output shape changes near the point")
        return (plus - minus) / (2 * eps)
    small, large = fd(tol.steps[0]), fd(tol.steps[1])
    scale = max(1.0, float(np.max(np.abs(small))))
    agree = np.all(np.isfinite(small)) and close(small, large, tol.fd_rtol / 10,
                                                 tol.fd_atol / 10 * scale)
    return Reference(out, args, floats, u, ct, small if agree else None, small, large)


class InvalidProgram(Exception):
    pass


# ----------------------------------------------------------------------------- the checks

class _Run:
    def __init__(self, fn, program: Program, backend: str, ref: Reference, tol: Tolerances,
                 result: Result, checks):
        self.fn, self.p, self.backend, self.ref, self.tol = fn, program, backend, ref, tol
        self.res = result
        self.checks = checks
        self.d = srcad.differentiate(fn)
        self.interp = backend == "interpret"
        self.api_backend = "interpret" if self.interp else "numba"

    def fail(self, cls: str, check: str, detail: str, sig: str | None = None):
        sig = sig or f"{cls}:{check}"
        f = Finding(cls, check, self.backend, detail, f"{sig}")
        if cls == "arg_state":
            self.res.arg_state = f
        else:
            self.res.findings.append(f)

    def value_check(self, check: str, got, args_after=None):
        ref = self.ref
        rtol = self.tol.value_rtol if self.interp else self.tol.compiled_rtol
        scale = max(1.0, float(np.max(np.abs(flat(ref.out)))))
        if not same_structure(got, ref.out) or not close(flat(got), flat(ref.out), rtol,
                                                         rtol * scale):
            self.fail("wrong_value", check, f"{check}: CPython {short(ref.out)}, srcad "
                      f"{short(got)}")
            return False
        return True

    def untouched(self, check: str, given: tuple):
        for k, (a, b) in enumerate(zip(given, self.p.args)):
            if isinstance(a, np.ndarray) and not np.array_equal(a, b):
                self.fail("wrong_value", "untouched", f"{check} changed the caller's argument "
                          f"{k}: {short(b)} -> {short(a)}")
                return

    def guard(self, check: str, step) -> None:
        """Run one check; a located refusal or a crash is recorded, the other checks go on."""
        try:
            step()
        except (KeyboardInterrupt, SystemExit, Timeout):
            raise
        except srcad.SrcadError as e:
            if is_located(e):
                if self.res.refusal is None:
                    self.res.refusal = (construct_at(self.p, e), normalize(e.reason),
                                        str(e).splitlines()[0])
                return
            self.fail("crash", check, f"{type(e).__name__}: {str(e).splitlines()[0]}",
                      f"crash:{type(e).__name__}:{normalize(e.reason)}")
        except Exception as e:  # noqa: BLE001
            msg = crash_message(e)
            self.fail("crash", check, f"{type(e).__name__} at {_where(e)}: {msg}",
                      f"crash:{type(e).__name__}:{normalize(msg)}")

    def run(self):
        want = set(self.checks)
        if "primal" in want:
            self.guard("primal", self.primal)
        if not self.ref.floats:
            return
        if want & {"vjp", "fwd_rev"}:
            self.guard("vjp", self.vjp)
        if want & {"jvp", "fwd_rev"}:
            self.guard("jvp", self.jvp)
        if "fwd_rev" in want and self.jv is not None and self.vj is not None:
            fr = float(flat(self.ref.ct) @ self.jv)
            scale = max(1.0, abs(fr), abs(self.vj))
            if not abs(fr - self.vj) <= self.tol.modes_rtol * scale:
                self.fail("wrong_grad" if np.isfinite(fr) and np.isfinite(self.vj) else
                          "singular", "fwd_rev", f"reverse <vjp(ct), u> = {self.vj!r}, "
                          f"forward <ct, jvp(u)> = {fr!r}")
        if "grad" in want and not isinstance(self.ref.out, tuple) and np.ndim(self.ref.out) == 0:
            self.guard("grad", self.grad)

    jv = vj = None

    def primal(self):
        args = self.p.fresh_args()
        got = srcad.interpret(self.fn, *args) if self.interp else self.d(*args)
        if self.value_check("primal", got) and "arg_state" in self.checks:
            rtol = self.tol.value_rtol if self.interp else self.tol.compiled_rtol
            for k, (a, b) in enumerate(zip(args, self.ref.args_after)):
                if isinstance(a, np.ndarray) and not (
                        a.shape == b.shape and
                        close(a, b, rtol, rtol * max(1.0, float(np.max(np.abs(b), initial=0))))):
                    self.fail("arg_state", "arg_state", f"argument {k} after the call: "
                              f"CPython {short(b)}, srcad {short(a)}")
                    break

    def vjp(self):
        ref = self.ref
        args = self.p.fresh_args()
        out, pullback = srcad.vjp(self.d, *args, backend=self.api_backend)
        self.value_check("vjp_value", out)
        g = pullback(ref.ct)
        self.untouched("vjp", args)
        for i in ref.floats:
            if np.shape(g[i]) != np.shape(self.p.args[i]):
                self.fail("wrong_grad", "vjp", f"the cotangent of argument {i} has shape "
                          f"{np.shape(g[i])}, the argument {np.shape(self.p.args[i])}")
                return
        self.vj = sum(float(np.sum(np.asarray(g[i], dtype=np.float64) * ui))
                      for i, ui in zip(ref.floats, ref.u))
        target = float(flat(ref.ct) @ ref.fd) if ref.fd is not None else None
        if "vjp" in self.checks and target is not None and not self.grad_close(self.vj, target):
            self.fail(self.grad_class(self.vj, target), "vjp", f"<vjp(ct), u> = {self.vj!r}, "
                      f"finite differences <ct, J u> = {target!r}")

    def jvp(self):
        ref = self.ref
        args = self.p.fresh_args()
        tangents = [0.0] * len(args)
        for i, ui in zip(ref.floats, ref.u):
            tangents[i] = ui
        out, t = srcad.jvp(self.d, args, tangents, backend=self.api_backend)
        self.untouched("jvp", args)
        self.value_check("jvp_value", out)
        if not same_structure(t, ref.out):
            self.fail("wrong_grad", "jvp", f"the tangent {short(t)} does not have the "
                      f"structure of the output {short(ref.out)}")
            return
        self.jv = flat(t)
        if "jvp" in self.checks and ref.fd is not None and not self.grad_close(self.jv, ref.fd):
            self.fail(self.grad_class(self.jv, ref.fd), "jvp", f"J u = {short(self.jv)}, "
                      f"finite differences {short(ref.fd)}")

    def grad(self):
        ref = self.ref
        args = self.p.fresh_args()
        argnums = tuple(ref.floats)
        if self.interp:
            g = self.d.interpreted(Spec("grad", argnums), args)(*args)
        else:
            g = srcad.grad(self.d, argnums=argnums)(*args)
        self.untouched("grad", args)
        if not isinstance(g, tuple) or any(np.shape(gi) != np.shape(self.p.args[i])
                                           for gi, i in zip(g, ref.floats)):
            self.fail("wrong_grad", "grad", f"grad returned {short(g)} for arguments "
                      f"{ref.floats}")
            return
        gu = sum(float(np.sum(np.asarray(gi, dtype=np.float64) * ui))
                 for gi, ui in zip(g, ref.u))
        if ref.fd is not None and not self.grad_close(gu, float(ref.fd[0])):
            self.fail(self.grad_class(gu, ref.fd), "grad", f"<grad, u> = {gu!r}, finite "
                      f"differences {float(ref.fd[0])!r}")

    @staticmethod
    def grad_class(got, fd) -> str:
        """A derivative that is NaN or inf where finite differences are finite comes from a
        primitive evaluated where its own derivative is undefined (arctan2(0, 0) after
        a - a, sqrt(0)): ``singular``, counted apart (JAX and PyTorch give NaN there too);
        any other disagreement is a wrong gradient."""
        if not np.all(np.isfinite(got)) and np.all(np.isfinite(fd)):
            return "singular"
        return "wrong_grad"

    def grad_close(self, got, fd) -> bool:
        scale = max(1.0, float(np.max(np.abs(fd))))
        return close(got, fd, self.tol.fd_rtol, self.tol.fd_atol * scale)


def check(program: Program, backend: str = "interpret", tol: Tolerances = TOL,
          checks=CHECKS, timeout: float | None = None) -> Result:
    """Run the checks on ``program`` in one backend; never raises (but KeyboardInterrupt)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}")
    res = Result(program, backend)
    try:
        with time_limit(timeout):
            fn = load(program)
            ref = reference(fn, program, tol)
            res.writes_args = any(isinstance(a, np.ndarray) and not np.array_equal(a, b)
                                  for a, b in zip(ref.args_after, program.args))
            res.fd_skipped = ref.fd is None
            with quiet():
                _Run(fn, program, backend, ref, tol, res, checks).run()
    except InvalidProgram as e:
        res.outcome = "invalid"
        res.findings = [Finding("invalid", "cpython", backend, str(e), "invalid")]
        return res
    except srcad.SrcadError as e:   # differentiate(f) parses the source: syntax refusals
        if is_located(e):
            res.refusal = (construct_at(program, e), normalize(e.reason), str(e).splitlines()[0])
        else:
            res.findings.append(Finding("crash", "parse", backend,
                                        f"{type(e).__name__}: {str(e).splitlines()[0]}",
                                        f"crash:{type(e).__name__}:{normalize(e.reason)}"))
    except Timeout as e:
        res.findings.append(Finding("crash", "timeout", backend, str(e), "crash:timeout"))
    classes = [f.cls for f in res.findings]
    res.outcome = next((c for c in FAIL_CLASSES + ("singular",) if c in classes),
                       "refused" if res.refusal else "ok")
    return res


def _where(e: BaseException) -> str:
    """The srcad module an exception came from (for the report)."""
    tb = traceback.extract_tb(e.__traceback__)
    for frame in reversed(tb):
        if f"{os.sep}srcad{os.sep}" in frame.filename:
            return os.path.relpath(frame.filename, os.path.dirname(os.path.dirname(
                srcad.__file__))) + f":{frame.lineno}"
    return tb[-1].filename.rsplit(os.sep, 1)[-1] if tb else "?"


def construct_at(program: Program, e: srcad.SrcadError) -> str:
    """The generator construct of the line a located error names."""
    line = e.loc.line if e.loc else None
    return program.tags.get(line, "?")

