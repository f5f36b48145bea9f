"""Shared helpers for the benchmark workloads.

* :class:`TimedCall` / :func:`time_call` -- per-call wall time: min over
  repeats of the mean of a timed loop whose length is chosen like ``timeit``'s
  autorange; :func:`measure_all` builds, checks and times a workload's
  implementations, sampling them round-robin.
* :func:`optional_import` / :func:`guard` -- peers (jax, autograd, torch) and
  srcad itself may be missing or broken; a failing column prints a note
  instead of crashing the run.
* :func:`print_table` / :func:`print_targets` -- side-by-side tables with
  ratios against a baseline row.
* :func:`cold_warm_startup` -- srcad's first-call cost in fresh processes,
  cold (empty cache dir) and warm (same cache dir again).
* :func:`check_close` -- gradients (scalars, NumPy / JAX / torch arrays)
  against a reference; :func:`nrt_allocations` -- Numba runtime allocations
  made by one call of a compiled function.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import timeit
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NOT_INSTALLED = "n/a (not installed)"


# --------------------------------------------------------------------- timing
class TimedCall:
    """Per-call wall time of ``fn(*args)``: min over repeats of the mean of a
    timed loop.

    The loop length is picked like ``timeit``'s autorange (the smallest of
    1, 2, 5, 10, 20, ... loops taking >= ``min_time`` seconds); each
    :meth:`sample` then times the loop once more, up to ``repeat`` samples or
    until ``budget`` seconds are spent. ``best`` is the minimum per-call mean
    seen so far. The call is compiled into the timeit loop as
    ``fn(a0, a1, ...)``, so there is no lambda or ``*args`` overhead.

    ``settle``: seconds to sleep before the autorange and before each sample,
    so that worker threads another implementation left spinning (OpenBLAS
    keeps its threads busy-waiting ~0.1 s after a call) are idle again when
    the loop starts; not counted in ``budget``.
    """

    def __init__(
        self,
        fn: Callable,
        args: Sequence[Any] = (),
        *,
        repeat: int = 5,
        min_time: float = 0.2,
        budget: float = 6.0,
        settle: float = 0.0,
    ) -> None:
        names = [f"a{i}" for i in range(len(args))]
        ns: dict[str, Any] = dict(zip(names, args))
        ns["fn"] = fn
        self.timer = timeit.Timer(f"fn({', '.join(names)})", globals=ns)
        self.left = repeat
        self.budget = budget
        self.settle = settle
        time.sleep(settle)
        start = time.perf_counter()
        base = 1
        while True:
            for mult in (1, 2, 5):
                self.loops = base * mult
                elapsed = self.timer.timeit(self.loops)
                if elapsed >= min_time:
                    break
            else:
                base *= 10
                continue
            break
        self.best = elapsed / self.loops
        self.spent = time.perf_counter() - start

    def sample(self) -> bool:
        """Time the loop once more; False (and nothing timed) when done."""
        if self.left <= 0 or self.spent > self.budget:
            return False
        time.sleep(self.settle)
        elapsed = self.timer.timeit(self.loops)
        self.spent += elapsed
        self.left -= 1
        self.best = min(self.best, elapsed / self.loops)
        return True


def time_call(fn: Callable, args: Sequence[Any] = (), **timing: Any) -> float:
    """Seconds per call of ``fn(*args)`` (see :class:`TimedCall` for ``timing``)."""
    timed = TimedCall(fn, args, **timing)
    while timed.sample():
        pass
    return timed.best


def sample_round_robin(timers: Iterable[TimedCall]) -> None:
    """Sample several :class:`TimedCall` s in turn until all are done, so that a
    burst of background load hits every implementation alike."""
    timers = list(timers)
    busy = True
    while busy:
        busy = False
        for t in timers:
            busy = t.sample() or busy


# -------------------------------------------------------- optional components
def optional_import(name: str):
    """Return the module, or ``None`` when it cannot be imported."""
    if name == "jax":
        # Scalar workloads: stay on CPU and keep jax quiet about accelerators.
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        mod = importlib.import_module(name)
    except Exception:  # noqa: BLE001 - ImportError, but also broken installs
        return None
    if name == "jax":
        mod.config.update("jax_enable_x64", True)
    return mod


def error_note(exc: BaseException) -> str:
    """One-line description of an exception, for a table cell."""
    msg = str(exc).strip().splitlines()
    first = msg[0] if msg else ""
    if len(first) > 90:
        first = first[:87] + "..."
    return f"error: {type(exc).__name__}: {first}" if first else f"error: {type(exc).__name__}"


def guard(thunk: Callable[[], Any], *, verbose: bool = False) -> Any:
    """Run ``thunk``; on any exception return an ``"error: ..."`` string."""
    try:
        return thunk()
    except Exception as exc:  # noqa: BLE001 - we want every failure as a note
        if verbose or os.environ.get("BENCH_TRACEBACK"):
            traceback.print_exc()
        return error_note(exc)


def as_floats(values: Any) -> np.ndarray:
    """Gradients from any framework -> one flat float64 array.

    ``values`` is a tuple/list of components (Python floats, NumPy / JAX
    arrays, torch tensors) or a single scalar or array."""
    if not isinstance(values, (tuple, list)):
        values = (values,)
    parts = []
    for v in values:
        if hasattr(v, "detach"):  # torch
            v = v.detach().cpu().numpy()
        parts.append(np.ravel(np.asarray(v, dtype=np.float64)))
    return np.concatenate(parts) if parts else np.zeros(0)


def check_close(got: Any, ref: Any, rtol: float) -> str | None:
    """``None`` if ``got`` matches ``ref`` to ``rtol`` (each component relative
    to itself, but to no less than 1e-3 of the largest reference component),
    else a note describing the mismatch. Both may hold arrays (:func:`as_floats`)."""
    g, r = as_floats(got), as_floats(ref)
    if g.size != r.size:
        return f"wrong: {g.size} components, expected {r.size}"
    if not np.all(np.isfinite(g)):
        return "WRONG (non-finite components)"
    if g.size == 0:
        return None
    scale = float(np.max(np.abs(r))) or 1.0
    err = float(np.max(np.abs(g - r) / np.maximum(np.abs(r), scale * 1e-3)))
    if err > rtol:
        return f"WRONG (rel err {err:.1e} > {rtol:.0e})"
    return None


def nrt_allocations(fn: Callable, args: Sequence[Any] = ()) -> int | str:
    """``srcad.testing.nrt_allocations`` (allocations of one call of the compiled ``fn``), or
    "n/a" where Numba's runtime statistics cannot be read."""
    try:
        from srcad.testing import nrt_allocations as count
        return count(fn, args)
    except ImportError:
        return "n/a"


# ------------------------------------------------------------------ printing
def fmt_time(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(value: Any, base: Any) -> str:
    if isinstance(value, float) and isinstance(base, float) and base > 0:
        r = value / base
        return f"{r:.2f}x" if r < 100 else f"{r:.0f}x"
    return ""


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[tuple[str, dict]],
    baseline: str,
    ratio_label: str = "ratio",
    extra: Sequence[tuple[str, dict]] = (),
) -> None:
    """Print rows x columns; each column shows time and ratio vs ``baseline``.

    ``rows`` is a list of ``(label, {column: seconds_or_note})``. ``extra``
    adds plain columns after those: ``(header, {label: text})``. Notes longer
    than a cell become numbered footnotes under the table.
    """
    base = dict(rows)[baseline]
    header = ["implementation"]
    for col in columns:
        header += [f"{col} time/call" if col else "time/call", ratio_label]
    header += [h for h, _ in extra]
    footnotes: list[str] = []

    def note(label: str, col: str, v: Any) -> str:
        v = str(v)
        if len(v) > 22:
            footnotes.append(
                f"[{len(footnotes) + 1}] {label}" + (f", {col}" if col else "") + f": {v}"
            )
            v = f"{v.split(':')[0][:12]} [{len(footnotes)}]"
        return v

    body = []
    for label, cells in rows:
        line = [label]
        for col in columns:
            v = cells.get(col, "n/a")
            if isinstance(v, float):
                line += [fmt_time(v), fmt_ratio(v, base.get(col))]
            else:
                line += [note(label, col, v), ""]
        line += [note(label, h, texts.get(label, "")) for h, texts in extra]
        body.append(line)
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def render(line: list[str]) -> str:
        return "  ".join(
            s.ljust(w) if i == 0 else s.rjust(w) for i, (s, w) in enumerate(zip(line, widths))
        ).rstrip()

    rule = "-" * len(render(header))
    print()
    print(title)
    print(rule)
    print(render(header))
    print(rule)
    for line in body:
        print(render(line))
    print(rule)
    print(f"({ratio_label} = time / time of '{baseline}' in the same column)")
    for note in footnotes:
        print(note)


def verdict(value: Any, limit: float) -> str:
    if not isinstance(value, float):
        return "n/a"
    return "PASS" if value <= limit else "FAIL"


def print_targets(targets: Sequence[tuple[str, Any, float, str]]) -> None:
    """``targets``: ``(description, measured, limit, unit)`` with unit ``"x"``
    (ratio) or ``"s"`` (seconds); ``measured`` may be a note string."""
    print("targets:")
    for desc, value, limit, unit in targets:
        if isinstance(value, float):
            shown = f"{value:.2f}x" if unit == "x" else f"{value:.3f} s"
        else:
            shown = str(value) if len(str(value)) <= 60 else str(value)[:57] + "..."
        lim = f"{limit:g}x" if unit == "x" else f"{limit:g} s"
        print(f"  [{verdict(value, limit):4}] {desc}: {shown} (target <= {lim})")


# ------------------------------------------------------- new-process startup
_STARTUP_SCRIPT = r"""
import json, sys, time
spec = json.loads(sys.argv[1])
t0 = time.perf_counter()
import srcad
t1 = time.perf_counter()
import importlib
fn = getattr(importlib.import_module(spec["module"]), spec["func"])
t2 = time.perf_counter()
g = srcad.grad(fn, argnums=tuple(spec["argnums"]))
t3 = time.perf_counter()
out = g(*spec["args"])
t4 = time.perf_counter()
g(*spec["args"])
t5 = time.perf_counter()
print("SRCAD_STARTUP " + json.dumps({
    "import_srcad": t1 - t0, "import_workload": t2 - t1, "grad_build": t3 - t2,
    "first_call": t4 - t2, "second_call": t5 - t4,
    "value": [float(v) for v in (out if isinstance(out, tuple) else (out,))],
}))
"""


_FLOOR_SCRIPT = r"""
import glob, importlib.util, json, sys, time
spec = json.loads(sys.argv[1])
t0 = time.perf_counter()
import numba
t1 = time.perf_counter()
import os
path = sorted(glob.glob(spec["pattern"]))[0]
name = os.path.basename(path)[:-3]
m = importlib.util.spec_from_file_location(name, path)
mod = importlib.util.module_from_spec(m)
sys.modules[name] = mod
m.loader.exec_module(mod)
fn = getattr(mod, spec["name"])
fn(*spec["args"])
t2 = time.perf_counter()
print("SRCAD_STARTUP " + json.dumps({"import_srcad": t1 - t0, "first_call": t2 - t1,
                                     "second_call": 0.0}))
"""


def numba_floor_in_subprocess(func: str, args: Sequence[Any], cache_dir: str) -> dict | str:
    """The same generated module loaded straight from the cache by plain Numba in a new
    process, with no srcad involved: the part of a warm start that is Numba's own."""
    env = dict(os.environ)
    spec = json.dumps({"pattern": os.path.join(cache_dir, f"srcad_gen_{func}_grad_*.py"),
                       "name": f"{func}_grad", "args": list(args)})
    proc = subprocess.run([sys.executable, "-c", _FLOOR_SCRIPT, spec], check=False,
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180)
    for line in proc.stdout.splitlines():
        if line.startswith("SRCAD_STARTUP "):
            return json.loads(line[len("SRCAD_STARTUP ") :])
    return "error: " + ((proc.stderr.strip().splitlines() or ["(no output)"])[-1])[:100]


def startup_in_subprocess(
    module: str, func: str, argnums: Sequence[int], args: Sequence[Any], cache_dir: str
) -> dict | str:
    """Run a fresh interpreter that imports srcad and calls ``srcad.grad(f)``
    once. Returns the timings (seconds) or an error note.

    ``first_call`` covers ``srcad.grad(f)`` plus the first call (i.e. all the
    transformation / compilation / cache loading); ``import_srcad`` is the
    ``import srcad`` statement alone (numpy + numba + srcad).
    """
    env = dict(os.environ)
    env["SRCAD_CACHE_DIR"] = cache_dir
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    spec = json.dumps(
        {"module": module, "func": func, "argnums": list(argnums), "args": list(args)}
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _STARTUP_SCRIPT, spec],
            check=False,
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    except subprocess.TimeoutExpired:
        return "error: subprocess timed out (180 s)"
    for line in proc.stdout.splitlines():
        if line.startswith("SRCAD_STARTUP "):
            return json.loads(line[len("SRCAD_STARTUP ") :])
    tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    if len(tail) > 100:
        tail = tail[:97] + "..."
    return f"error: {tail}"


def cold_warm_startup(
    module: str, func: str, argnums: Sequence[int], args: Sequence[Any]
) -> tuple[dict | str, dict | str, dict | str]:
    """Cold run (fresh empty ``SRCAD_CACHE_DIR``), warm run (new process, same cache dir),
    and the Numba floor (the cached generated module called by plain Numba, no srcad). Each
    is a separate subprocess."""
    cache_dir = tempfile.mkdtemp(prefix="srcad_bench_cache_")
    try:
        cold = startup_in_subprocess(module, func, argnums, args, cache_dir)
        warm = startup_in_subprocess(module, func, argnums, args, cache_dir)
        floor = numba_floor_in_subprocess(func, args, cache_dir)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    return cold, warm, floor


def print_startup(cold: dict | str, warm: dict | str, floor: dict | str = "n/a") -> None:
    """Print the cold/warm startup measurements as a small table."""
    print("srcad start-up in a new process (srcad.grad(f) + first call; import listed apart):")
    for name, res in (("cold (empty cache)", cold), ("warm (same cache)", warm),
                      ("numba floor", floor)):
        if isinstance(res, str):
            print(f"  {name:19}  {res}")
        else:
            print(
                f"  {name:19}  first call {fmt_time(res['first_call']):>9}"
                f"   import srcad {fmt_time(res['import_srcad']):>9}"
                f"   second call {fmt_time(res['second_call']):>9}"
            )


def startup_seconds(res: dict | str) -> float | str:
    return res["first_call"] if isinstance(res, dict) else res


# ----------------------------------------------------------- table cells
def prepare(
    build: Callable[[], Any],
    args: Sequence[Any],
    ref: Sequence[float] | None = None,
    rtol: float = 1e-8,
    **timing: Any,
) -> TimedCall | str:
    """Build an implementation, check it, and set up its timing.

    ``build()`` returns the callable (or a note string such as
    :data:`NOT_INSTALLED`). The first call (which triggers any JIT
    compilation) is not timed; its result is compared against ``ref`` (a
    gradient tuple) to ``rtol`` before timing, and a mismatch is returned as
    a note instead. Errors anywhere become ``"error: ..."`` notes.
    """
    fn = guard(build)
    if isinstance(fn, str):
        return fn
    out = guard(lambda: fn(*args))
    if isinstance(out, str):
        return out
    if ref is not None:
        bad = guard(lambda: check_close(out, ref, rtol))
        if bad:
            return bad
    return guard(lambda: TimedCall(fn, args, **timing))


def measure_all(jobs: Sequence[dict]) -> list[float | str]:
    """Table cells for ``jobs`` (keyword arguments of :func:`prepare`):
    seconds per call or a note. All jobs are prepared first, then timed
    round-robin (:func:`sample_round_robin`)."""
    prepared = [prepare(**job) for job in jobs]
    timers = [p for p in prepared if isinstance(p, TimedCall)]
    guard(lambda: sample_round_robin(timers))
    return [p.best if isinstance(p, TimedCall) else p for p in prepared]


def fmt_bytes(n: Any) -> str:
    if not isinstance(n, (int, float)):
        return str(n)
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.2f} {unit} ({int(n):,} B)"
    return f"{int(n)} B"


def versions() -> str:
    """One line naming the interpreter and the installed components."""
    parts = [f"python {sys.version.split()[0]}"]
    for name in ("numpy", "numba", "jax", "autograd", "torch"):
        try:
            from importlib.metadata import version

            parts.append(f"{name} {version(name)}")
        except Exception:  # noqa: BLE001 - PackageNotFoundError and friends
            parts.append(f"{name} -")
    return ", ".join(parts)
