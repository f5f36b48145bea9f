"""Workload 5 -- the cost of srcad's index and shape checks (``srcad/codegen/checks.py``).

Every srcad row of the other workloads (seed, rk4, arrays: primal, gradient, HVP) plus four
loops that index arrays per iteration, each compiled twice in one process:
``srcad.differentiate(f)`` (checks on, the default) and
``srcad.differentiate(f, boundscheck=False)``.  The two are timed interleaved (one loop of
each in turn, ``ROUNDS`` rounds, the loop length from ``_timing.TimedCall``'s autorange),
on one pinned CPU (``benchmarks/__init__.py``).  The table gives the median per-call time of
each with the [min, max] of the rounds, the ratio of medians (on / off) with the range of the
per-round ratios, and the Numba-runtime allocations of one call of each.

The indexing loops (n = 100,000):

* ``stencil``: ``s += (x[i-1] - 2 x[i] + x[i+1])**2`` for i in range(1, n - 1) -- affine
  indices: one check per index before the loop (primal and adjoint);
* ``gather_loop``: ``s += w[idx[i]] * x[i]`` -- a data-dependent index: one check per access;
* ``branchy``: ``if x[i] > 0: s += x[i - 1] * x[i]`` -- ``x[i - 1]`` runs conditionally: a
  flag computed before the loop (all indices in range) that its check tests first (its
  gradient at n = 2,000: reverse mode's adjoint of the branch is quadratic in n);
* ``recurrence``: ``h[t + 1] = tanh(a h[t] + x[t])`` into a fresh array, ``sum(h**2)`` --
  element writes (hoisted; the adjoint restores and adds into ``h_bar[t]``).

Run: ``python -m benchmarks checks`` (``taskset -c 1`` to choose the core).
"""

from __future__ import annotations

import statistics

import numpy as np

from benchmarks import _timing as T

ROUNDS = 7
N = 100_000


def stencil(x):
    s = 0.0
    for i in range(1, x.shape[0] - 1):
        s += (x[i - 1] - 2.0 * x[i] + x[i + 1]) ** 2
    return s


def gather_loop(w, x, idx):
    s = 0.0
    for i in range(x.shape[0]):
        s += w[idx[i]] * x[i]
    return s


def branchy(x):
    s = 0.0
    for i in range(1, x.shape[0]):
        if x[i] > 0.0:
            s += x[i - 1] * x[i]
    return s


def recurrence(a, x):
    h = np.zeros(x.shape[0] + 1)
    for t in range(x.shape[0]):
        h[t + 1] = np.tanh(a * h[t] + x[t])
    return np.sum(h * h)


def _rows():
    """(label, function, argnums or None for the primal, args, kind)"""
    from benchmarks import arrays, rk4, seed
    rng = np.random.default_rng(5)
    x = rng.standard_normal(N)
    w = rng.standard_normal(1000)
    idx = rng.integers(0, 1000, N)
    rows = [("seed grad", seed.f, seed.ARGNUMS, seed.ARGS, "grad"),
            ("rk4 grad n=1000", rk4.loss, rk4.ARGNUMS, (1.5, 0.1, 1.0, 0.5, 1000), "grad")]
    for name, argnums in (("logreg", (0, 1)), ("mlp", (0, 1, 2, 3)), ("rosenbrock", 0),
                          ("gmm", (0, 1, 2))):
        f, args = getattr(arrays, name), getattr(arrays, f"{name}_args")()
        rows += [(f"{name} primal", f, None, args, "primal"),
                 (f"{name} grad", f, argnums, args, "grad")]
        if name == "rosenbrock":
            v = np.random.default_rng(6).standard_normal(args[0].shape)
            rows.append(("rosenbrock hvp", f, None, (args[0], v), "hvp"))
    # branchy's gradient is quadratic (reverse mode makes the adjoint of x[i - 1] under the
    # if a dense zeros_like(x) per iteration, and adds it): 2,000 elements, not 100,000
    for f, args, gargs, argnums in ((stencil, (x,), (x,), 0),
                                    (gather_loop, (w, x, idx), (w, x, idx), (0, 1)),
                                    (branchy, (x,), (x[:2000],), 0),
                                    (recurrence, (0.5, x[:10_000]), (0.5, x[:10_000]), (0, 1))):
        rows += [(f"{f.__name__} primal", f, None, args, "primal"),
                 (f"{f.__name__} grad", f, argnums, gargs, "grad")]
    return rows


def _build(f, argnums, kind, check: bool):
    import srcad
    d = srcad.differentiate(f, boundscheck=check)
    if kind == "primal":
        return d
    if kind == "grad":
        return srcad.grad(d, argnums=argnums)

    def hvp(x, v):
        return srcad.hvp(d, (x,), (v,))
    return hvp


def _same(a, b) -> bool:
    a, b = T.as_floats(a), T.as_floats(b)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def main() -> None:
    print("\n## checks -- index and shape checks on (default) vs off (boundscheck=False)")
    print(f"interleaved, {ROUNDS} rounds; times per call: median [min, max] of the rounds; "
          "ratio on/off: of the medians [range of the per-round ratios]")
    header = (f"{'workload':22s} {'checks on':>26s} {'checks off':>26s} {'on/off':>18s} "
              f"{'NRT allocs on/off':>18s}")
    print(header)
    print("-" * len(header))
    for label, f, argnums, args, kind in _rows():
        fns = [T.guard(lambda c=c: _build(f, argnums, kind, c)) for c in (True, False)]
        outs = [T.guard(lambda fn=fn: fn(*args)) if not isinstance(fn, str) else fn
                for fn in fns]
        if any(isinstance(o, str) for o in outs):
            print(f"{label:22s} error: {[o for o in outs if isinstance(o, str)]}")
            continue
        note = "" if _same(*outs) else "  (results differ!)"
        allocs = [T.nrt_allocations(fn, args) if kind != "hvp" else "-" for fn in fns]
        timers = [T.TimedCall(fn, args, repeat=1, min_time=0.05) for fn in fns]
        loops = max(t.loops for t in timers)
        samples: list[list[float]] = [[], []]
        for _ in range(ROUNDS):
            for k, t in enumerate(timers):
                samples[k].append(t.timer.timeit(loops) / loops)
        med = [statistics.median(s) for s in samples]
        ratios = [a / b for a, b in zip(*samples)]
        cols = [f"{T.fmt_time(m)} [{T.fmt_time(min(s))}, {T.fmt_time(max(s))}]"
                for m, s in zip(med, samples)]
        print(f"{label:22s} {cols[0]:>26s} {cols[1]:>26s} "
              f"{f'{med[0] / med[1]:.3f} [{min(ratios):.2f}, {max(ratios):.2f}]':>18s} "
              f"{f'{allocs[0]} / {allocs[1]}':>18s}{note}")


if __name__ == "__main__":
    main()
