"""Workload 2 -- RK4 integration of a damped nonlinear oscillator.

    x'' = -k sin(x) - c x',   state (x, v),   dt = 0.01,   n steps,
    loss = x_n^2 + v_n^2,     gradient w.r.t. (k, c, x0, v0)

written as a plain Python loop over scalars (:func:`loss`). The baseline is a
hand-written Numba adjoint (:func:`loss_grad_numba`: forward sweep storing the
state of every step, backward sweep through the RK4 stages); it is checked
against central finite differences before anything is timed, and every other
gradient must match it to 1e-8 relative.

Run: ``python -m benchmarks rk4``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from benchmarks import _timing as T

K, C, X0, V0 = 1.5, 0.1, 1.0, 0.5
DT = 0.01
NS = (100, 1000)
ARGNUMS = (0, 1, 2, 3)
TAPE_N = 10**6
TARGET_VS_ADJOINT = 1.3
TARGET_VS_PRIMAL = 2.5
TARGET_COLD_S = 3.0
TARGET_WARM_S = 0.3


def loss(k, c, x0, v0, n):
    x = x0
    v = v0
    dt = 0.01
    for i in range(n):
        k1x = v
        k1v = -k * math.sin(x) - c * v
        x2 = x + 0.5 * dt * k1x
        v2 = v + 0.5 * dt * k1v
        k2x = v2
        k2v = -k * math.sin(x2) - c * v2
        x3 = x + 0.5 * dt * k2x
        v3 = v + 0.5 * dt * k2v
        k3x = v3
        k3v = -k * math.sin(x3) - c * v3
        x4 = x + dt * k3x
        v4 = v + dt * k3v
        k4x = v4
        k4v = -k * math.sin(x4) - c * v4
        x = x + dt / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
        v = v + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
    return x * x + v * v


loss_numba = numba.njit(loss)

H = 0.5 * DT  # half step, as ``0.5 * dt`` in :func:`loss`
W = DT / 6  # RK4 weight, as ``dt / 6``


@numba.njit(inline="always")
def _rk4_step(x, v, k, c):
    """One RK4 step of :func:`loss` -> (x', v', and the four sines it evaluated)."""
    s1 = math.sin(x)
    k1v = -k * s1 - c * v
    x2 = x + H * v
    v2 = v + H * k1v
    s2 = math.sin(x2)
    k2v = -k * s2 - c * v2
    x3 = x + H * v2
    v3 = v + H * k2v
    s3 = math.sin(x3)
    k3v = -k * s3 - c * v3
    x4 = x + DT * v3
    v4 = v + DT * k3v
    s4 = math.sin(x4)
    k4v = -k * s4 - c * v4
    xn = x + W * (v + 2 * v2 + 2 * v3 + v4)
    vn = v + W * (k1v + 2 * k2v + 2 * k3v + k4v)
    return xn, vn, s1, s2, s3, s4


@numba.njit(inline="always")
def _rk4_step_adjoint(x, v, s1, s2, s3, s4, k, c, xb, vb, kb, cb):
    """Reverse of one RK4 step entered at state (x, v), given the step's sines.

    (xb, vb) are the adjoints of the step's output state; returns the adjoints
    of its input state and the updated (kb, cb) accumulators.
    """
    # stage states again (arithmetic only); kNx = vN, so k1x = v, k2x = v2, ...
    k1v = -k * s1 - c * v
    x2 = x + H * v
    v2 = v + H * k1v
    k2v = -k * s2 - c * v2
    x3 = x + H * v2
    v3 = v + H * k2v
    k3v = -k * s3 - c * v3
    x4 = x + DT * v3
    v4 = v + DT * k3v
    # x' = x + W*(k1x + 2 k2x + 2 k3x + k4x), same for v; xb, vb also flow straight through
    k1xb = W * xb
    k2xb = 2 * W * xb
    k3xb = 2 * W * xb
    k4xb = W * xb
    k1vb = W * vb
    k2vb = 2 * W * vb
    k3vb = 2 * W * vb
    k4vb = W * vb
    # stage 4: k4x = v4, k4v = -k sin(x4) - c v4;  x4 = x + dt k3x, v4 = v + dt k3v
    kb -= s4 * k4vb
    cb -= v4 * k4vb
    x4b = -k * math.cos(x4) * k4vb
    v4b = k4xb - c * k4vb
    xb += x4b
    vb += v4b
    k3xb += DT * x4b
    k3vb += DT * v4b
    # stage 3: x3 = x + h k2x, v3 = v + h k2v
    kb -= s3 * k3vb
    cb -= v3 * k3vb
    x3b = -k * math.cos(x3) * k3vb
    v3b = k3xb - c * k3vb
    xb += x3b
    vb += v3b
    k2xb += H * x3b
    k2vb += H * v3b
    # stage 2: x2 = x + h k1x, v2 = v + h k1v
    kb -= s2 * k2vb
    cb -= v2 * k2vb
    x2b = -k * math.cos(x2) * k2vb
    v2b = k2xb - c * k2vb
    xb += x2b
    vb += v2b
    k1xb += H * x2b
    k1vb += H * v2b
    # stage 1: k1x = v, k1v = -k sin(x) - c v
    kb -= s1 * k1vb
    cb -= v * k1vb
    xb += -k * math.cos(x) * k1vb
    vb += k1xb - c * k1vb
    return xb, vb, kb, cb


@numba.njit
def loss_grad_numba(k, c, x0, v0, n):
    """Hand-written adjoint of :func:`loss` -> (dL/dk, dL/dc, dL/dx0, dL/dv0).

    Forward sweep stores the state entering every step; the backward sweep
    recomputes that step's stages (4 sines) and applies their adjoints.
    """
    xs = np.empty(n)
    vs = np.empty(n)
    x, v = x0, v0
    for i in range(n):
        xs[i] = x
        vs[i] = v
        x, v, _, _, _, _ = _rk4_step(x, v, k, c)
    xb, vb, kb, cb = 2 * x, 2 * v, 0.0, 0.0
    for i in range(n - 1, -1, -1):
        x, v = xs[i], vs[i]
        _, _, s1, s2, s3, s4 = _rk4_step(x, v, k, c)
        xb, vb, kb, cb = _rk4_step_adjoint(x, v, s1, s2, s3, s4, k, c, xb, vb, kb, cb)
    return kb, cb, xb, vb


@numba.njit
def loss_grad_numba_sines(k, c, x0, v0, n):
    """Variant of :func:`loss_grad_numba` that also stores the 4 sines of every
    step (6 floats/step), so the backward sweep evaluates only the 4 cosines."""
    tape = np.empty((n, 6))
    x, v = x0, v0
    for i in range(n):
        xn, vn, s1, s2, s3, s4 = _rk4_step(x, v, k, c)
        row = tape[i]
        row[0], row[1], row[2], row[3], row[4], row[5] = x, v, s1, s2, s3, s4
        x, v = xn, vn
    xb, vb, kb, cb = 2 * x, 2 * v, 0.0, 0.0
    for i in range(n - 1, -1, -1):
        row = tape[i]
        xb, vb, kb, cb = _rk4_step_adjoint(
            row[0], row[1], row[2], row[3], row[4], row[5], k, c, xb, vb, kb, cb
        )
    return kb, cb, xb, vb


def _step(x, v, k, c, sin):
    """One RK4 step of :func:`loss`, for the peers (``sin`` from their library)."""
    dt = DT
    k1x = v
    k1v = -k * sin(x) - c * v
    x2 = x + 0.5 * dt * k1x
    v2 = v + 0.5 * dt * k1v
    k2x = v2
    k2v = -k * sin(x2) - c * v2
    x3 = x + 0.5 * dt * k2x
    v3 = v + 0.5 * dt * k2v
    k3x = v3
    k3v = -k * sin(x3) - c * v3
    x4 = x + dt * k3x
    v4 = v + dt * k3v
    k4x = v4
    k4v = -k * sin(x4) - c * v4
    x = x + dt / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
    v = v + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
    return x, v


def _make_loss(sin):
    """:func:`loss` as a Python loop over another library's ``sin``."""

    def loss_lib(k, c, x0, v0, n):
        x, v = x0, v0
        for _ in range(n):
            x, v = _step(x, v, k, c, sin)
        return x * x + v * v

    return loss_lib


# -------------------------------------------------------------- self-check
def finite_difference_grad(n: int, rel_step: float = 1e-5) -> tuple[float, ...]:
    """Central differences of the Numba primal w.r.t. (k, c, x0, v0)."""
    p = [K, C, X0, V0]
    out = []
    for i in range(4):
        h = rel_step * max(1.0, abs(p[i]))
        up, dn = list(p), list(p)
        up[i] += h
        dn[i] -= h
        out.append((loss_numba(*up, n) - loss_numba(*dn, n)) / (2 * h))
    return tuple(out)


def self_check(n: int) -> tuple[float, ...]:
    """Hand-written adjoints vs finite differences (and the primal vs Python)."""
    fd = finite_difference_grad(n)
    for adjoint in (loss_grad_numba, loss_grad_numba_sines):
        bad = T.check_close(adjoint(K, C, X0, V0, n), fd, rtol=1e-6)
        if bad:
            raise AssertionError(f"{adjoint.__name__} vs finite differences (n={n}): {bad}")
    primal = loss_numba(K, C, X0, V0, n)
    if abs(primal - loss(K, C, X0, V0, n)) > 1e-12 * abs(primal):
        raise AssertionError("numba primal disagrees with the Python loop")
    return loss_grad_numba(K, C, X0, V0, n)


# ----------------------------------------------------------- implementations
def build_adjoint(n):
    return loss_grad_numba


def build_adjoint_sines(n):
    return loss_grad_numba_sines


def build_primal(n):
    return loss_numba


def build_srcad(n):
    import srcad

    return srcad.grad(loss, argnums=ARGNUMS)


def _jax_call(jax, loss_fn):
    g = jax.jit(jax.grad(loss_fn, argnums=ARGNUMS), static_argnums=4)

    def call(k, c, x0, v0, n):
        return jax.block_until_ready(g(k, c, x0, v0, n))

    return call


def build_jax_fori(n):
    jax = T.optional_import("jax")
    if jax is None:
        return T.NOT_INSTALLED
    jnp = jax.numpy

    def loss_fori(k, c, x0, v0, n):
        x, v = jax.lax.fori_loop(
            0, n, lambda i, s: _step(s[0], s[1], k, c, jnp.sin), (x0 * 1.0, v0 * 1.0)
        )
        return x * x + v * v

    return _jax_call(jax, loss_fori)


def build_jax_pyloop(n):
    if n > 100:
        return "n/a (n=100 only)"
    jax = T.optional_import("jax")
    if jax is None:
        return T.NOT_INSTALLED
    return _jax_call(jax, _make_loss(jax.numpy.sin))


def build_autograd(n):
    autograd = T.optional_import("autograd")
    if autograd is None:
        return T.NOT_INSTALLED
    import autograd.numpy as anp

    return autograd.grad(_make_loss(anp.sin), argnum=ARGNUMS)


def build_torch(n):
    torch = T.optional_import("torch")
    if torch is None:
        return T.NOT_INSTALLED
    loss_t = _make_loss(torch.sin)

    def call(k, c, x0, v0, n):
        p = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (k, c, x0, v0)]
        loss_t(*p, n).backward()
        return tuple(a.grad for a in p)

    return call


FAST = {"min_time": 0.1}  # compiled implementations: 5 repeats of >= 0.1 s loops
SLOW = {"repeat": 1, "min_time": 0.05, "budget": 1.0}  # interpreted peers (~1 s/call at n=1000)

# (label, builder, check against the adjoint?, timing options)
IMPLEMENTATIONS = [
    ("numba hand adjoint", build_adjoint, True, FAST),
    ("numba hand adj, +sines", build_adjoint_sines, True, FAST),
    ("numba primal (no grad)", build_primal, False, FAST),
    ("srcad.grad", build_srcad, True, FAST),
    ("jax jit(grad) fori_loop", build_jax_fori, True, FAST),
    ("jax jit(grad) py loop", build_jax_pyloop, True, FAST),
    ("autograd grad", build_autograd, True, SLOW),
    ("torch backward", build_torch, True, SLOW),
]


def tape_sizes() -> list[tuple[str, object]]:
    """srcad's reverse-mode tape for n = 10**6, plain and with checkpointing."""
    import srcad

    if not hasattr(srcad, "tape_size"):
        return [("srcad.tape_size", "not available")]
    args = (K, C, X0, V0, TAPE_N)
    return [
        (
            f"srcad tape, n={TAPE_N:.0e}",
            T.guard(lambda: srcad.tape_size(loss, *args, argnums=ARGNUMS)),
        ),
        (
            f"srcad tape, n={TAPE_N:.0e}, checkpoint=True",
            T.guard(lambda: srcad.tape_size(loss, *args, argnums=ARGNUMS, checkpoint=True)),
        ),
    ]


def main() -> None:
    print("=" * 78)
    print(
        f"rk4: grad of RK4 oscillator loss w.r.t. (k, c, x0, v0) at "
        f"k={K}, c={C}, x0={X0}, v0={V0}, dt={DT}"
    )
    refs = {n: self_check(n) for n in NS}
    print("self-check: both hand-written adjoints match central finite differences (rtol 1e-6)")
    cols = [f"n={n}" for n in NS]
    jobs = [
        {
            "build": lambda build=build, n=n: build(n),
            "args": (K, C, X0, V0, n),
            "ref": refs[n] if check else None,
            "rtol": 1e-8,
            **timing,
        }
        for _, build, check, timing in IMPLEMENTATIONS
        for n in NS
    ]
    cells = iter(T.measure_all(jobs))
    rows = [(label, {col: next(cells) for col in cols}) for label, *_ in IMPLEMENTATIONS]
    T.print_table(
        "rk4 -- gradient per call", cols, rows, baseline="numba hand adjoint", ratio_label="vs adj"
    )

    cold, warm, floor = T.cold_warm_startup("benchmarks.rk4", "loss", ARGNUMS, [K, C, X0, V0, 100])
    T.print_startup(cold, warm, floor)
    print("  (numba floor: plain Numba loads the same cached generated module in a new process "
          "and calls it; its 'import srcad' column is 'import numba', and its first call includes "
          "importing the module's runtime helpers, srcad.codegen.rt)")

    sizes = T.guard(tape_sizes)
    print("reverse-mode tape:")
    for label, floats in (("hand adjoint", 2), ("hand adj +sines", 6)):
        desc = f"{label} ({floats} floats/step), n={TAPE_N:.0e}"
        print(f"  {desc:42} {T.fmt_bytes(floats * 8 * TAPE_N)}")
    if isinstance(sizes, str):
        print(f"  {'srcad.tape_size':42} {sizes}")
    else:
        for label, size in sizes:
            print(f"  {label:42} {T.fmt_bytes(size)}")

    by_label = dict(rows)
    targets = []
    for col in cols:
        s = by_label["srcad.grad"][col]
        for desc, base, limit in (
            ("hand adjoint", "numba hand adjoint", TARGET_VS_ADJOINT),
            ("numba primal", "numba primal (no grad)", TARGET_VS_PRIMAL),
            ("hand adj +sines (stricter)", "numba hand adj, +sines", TARGET_VS_ADJOINT),
        ):
            b = by_label[base][col]
            ratio = s / b if isinstance(s, float) and isinstance(b, float) else s
            targets.append((f"srcad.grad vs {desc}, {col}", ratio, limit, "x"))
    targets.append(
        (
            "srcad cold compile (new process, empty cache)",
            T.startup_seconds(cold),
            TARGET_COLD_S,
            "s",
        )
    )
    targets.append(
        ("srcad warm start (new process, same cache)", T.startup_seconds(warm), TARGET_WARM_S, "s")
    )
    T.print_targets(targets)


if __name__ == "__main__":
    main()
