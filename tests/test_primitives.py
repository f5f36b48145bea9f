"""Every primitive in the registry, checked from its registry entry (no per-op test code).

* completeness: each primitive has every piece of its block, and differentiable ones carry the
  test metadata (domain; ``extra["test_shape"]``, ``extra["test_index"]``) needed to check them;
* each differentiable primitive with a domain is applied, as a one-op IR function, to float64
  arguments sampled from its domain, at its stated test shapes or (for elementwise primitives)
  at scalar shapes and two broadcasting shape combinations. Forward (JVP) and reverse (VJP)
  Jacobians, run by the interpreter, are checked against central finite differences of its
  NumPy implementation and against each other; forward-over-reverse against finite differences
  of the reverse gradient (rules are built from primitives, so they can be differentiated again);
* the generated code (primal and VJP, compiled with Numba) agrees with the interpreter, also for
  the elementwise non-differentiable primitives;
* the verifier accepts every IR built here, before and after optimization.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from srcad.ad import jvp_function, vjp_function
from srcad.codegen import generate_module, load_function
from srcad.ir import Builder, Function, Region, Value, clone_function, interpret, verify
from srcad.ir.types import I64, Type
from srcad.passes import optimize
from srcad.primitives import REGISTRY, Primitive
from srcad.primitives.registry import TYPE_RULES, build
from tests import fd

N_POINTS = 3
# Differentiable primitives that need no sampling domain.
NO_DOMAIN_NEEDED = {"const", "trip_count"}
# Primitives whose test inputs are not floats: explicit argument types and points.
SPECIAL_INPUTS: dict[str, tuple[tuple[Type, ...], list[tuple]]] = {
    "trip_count": ((I64, I64, I64), [(0, 10, 3), (7, -2, -2), (5, 1, 1)]),
}
DEFAULT_INTERVAL = (-3.0, 3.0)  # elementwise non-differentiable primitives (code generation)
# Broadcasting shape patterns for elementwise primitives: input k gets pattern[k % len].
BROADCAST_PATTERNS = [((2, 3), (3,), (1, 3)), ((), (2, 1), (2, 3))]

FD_RTOL, FD_ATOL = 1e-6, 1e-8
FD2_RTOL, FD2_ATOL = 1e-5, 1e-7
MODES_RTOL, MODES_ATOL = 1e-12, 1e-14
CODEGEN_RTOL, CODEGEN_ATOL = 1e-13, 1e-15
# float32 results are only good to ~1e-7 relative: a larger step and a looser tolerance.
F32_REL_STEP, F32_RTOL, F32_ATOL = 1e-2, 1e-3, 1e-5


# --------------------------------------------------------------------------- test metadata


def intervals(entry: Any) -> list[tuple[float, float]]:
    """A domain entry is one (lo, hi) interval or a list of them."""
    if isinstance(entry, tuple) and len(entry) == 2 and all(np.isscalar(v) for v in entry):
        return [entry]
    return [tuple(iv) for iv in entry]


def is_elementwise(p: Primitive) -> bool:
    """Primitives without ``extra["test_shape"]`` are elementwise (they broadcast); the others
    state the shapes they are tested at. Non-differentiable ones count as elementwise when they
    use one of the shared broadcasting type rules."""
    if p.nin <= 0 or p.name in SPECIAL_INPUTS or "test_shape" in p.extra or "test_index" in p.extra:
        return False
    return p.differentiable or p.type_rule in TYPE_RULES.values()


def metadata_problems(p: Primitive) -> list[str]:
    """What a differentiable primitive lacks for its registry-driven test."""
    if not p.differentiable or p.name in NO_DOMAIN_NEEDED:
        return []
    if not p.domain:
        return ["domain"]
    problems = []
    n_float = len(p.domain)
    index = p.extra.get("test_index", [])
    if p.nin >= 0 and n_float + len(index) != p.nin:
        problems.append(f"test inputs (domain has {n_float} entries and extra['test_index'] "
                        f"{len(index)} for {p.nin} inputs)")
    shapes = p.extra.get("test_shape")
    if index and shapes is None:
        problems.append("extra['test_shape'] (it takes indices, so it is not elementwise)")
    if shapes is not None and len(shapes) != n_float:
        problems.append(f"extra['test_shape'] has {len(shapes)} shapes for {n_float} inputs")
    for entry in p.domain:
        try:
            ivs = intervals(entry)
            assert ivs and all(lo < hi for lo, hi in ivs)
        except (TypeError, ValueError, AssertionError):
            problems.append(f"a valid domain entry (got {entry!r})")
    return problems


def missing_pieces(p: Primitive) -> list[str]:
    missing = []
    for piece in ("impl", "type_rule", "jvp", "vjp"):
        if not callable(getattr(p, piece, None)):
            missing.append(piece)
    for backend in ("cpu", "cuda", "arr"):
        tpl = getattr(p, backend, None)
        if tpl is None and backend != "cpu":
            continue
        if not (isinstance(tpl, str) or callable(tpl)):
            missing.append(f"{backend} template")
    return missing + metadata_problems(p)


def test_registry_is_not_empty() -> None:
    assert len(REGISTRY) > 10 and CONFIGS


def test_every_primitive_is_complete() -> None:
    problems = {name: missing_pieces(p) for name, p in REGISTRY.items()}
    problems = {name: m for name, m in problems.items() if m}
    assert not problems, "primitives missing pieces: " + "; ".join(
        f"{name}: {', '.join(m)}" for name, m in sorted(problems.items())
    )


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_string_templates_use_every_input(name: str) -> None:
    p = REGISTRY[name]
    assert p.name == name and p.nout >= 1
    if p.nin < 0:
        return  # variadic: templates are functions of the argument list
    for backend in ("cpu", "cuda", "arr"):
        tpl = getattr(p, backend, None)
        if not isinstance(tpl, str):
            continue
        used = {int(k) for k in re.findall(r"\{(\d+)\}", tpl)}
        assert used == set(range(p.nin)), (
            f"{name}: {backend} template {tpl!r} uses inputs {sorted(used)}, has {p.nin}"
        )


# --------------------------------------------------------------------------- configurations


@dataclass(frozen=True)
class Config:
    """One way to apply a primitive: float input shapes, then trailing integer inputs."""

    name: str
    shapes: tuple[tuple[int, ...], ...]  # one per float input
    index: tuple[int, ...] = ()  # values of the trailing int inputs
    special: bool = False  # inputs from SPECIAL_INPUTS

    @property
    def id(self) -> str:
        if self.special or not any(self.shapes):
            return self.name
        return f"{self.name}-" + "-".join("x".join(map(str, s)) or "s" for s in self.shapes)

    @property
    def prim(self) -> Primitive:
        return REGISTRY[self.name]

    @property
    def domain(self) -> list:
        return list(self.prim.domain or [DEFAULT_INTERVAL] * len(self.shapes))

    def types(self) -> tuple[Type, ...]:
        if self.special:
            return SPECIAL_INPUTS[self.name][0]
        return tuple(Type("f64", len(s)) for s in self.shapes) + (I64,) * len(self.index)

    @property
    def floats(self) -> list[int]:
        return [] if self.special else list(range(len(self.shapes)))


def configs_of(p: Primitive, differentiable_only: bool) -> list[Config]:
    if p.name in SPECIAL_INPUTS:
        return [] if differentiable_only else [Config(p.name, (), special=True)]
    if metadata_problems(p):
        return []  # reported by test_every_primitive_is_complete
    if p.differentiable and p.domain:
        n_float = len(p.domain)
        index = tuple(p.extra.get("test_index", []))
        if "test_shape" in p.extra:
            return [Config(p.name, tuple(tuple(s) for s in p.extra["test_shape"]), index)]
    elif not differentiable_only and is_elementwise(p) and p.name != "const":
        n_float, index = p.nin, ()
    else:
        return []
    if not is_elementwise(p):
        return [Config(p.name, ((),) * n_float, index)]
    shape_sets = [((),) * n_float] + [
        tuple(pattern[k % len(pattern)] for k in range(n_float)) for pattern in BROADCAST_PATTERNS
    ]
    unique = list(dict.fromkeys(shape_sets))
    return [Config(p.name, shapes, index) for shapes in unique]


CONFIGS = [c for name in sorted(REGISTRY) for c in configs_of(REGISTRY[name], True)]
CODEGEN_CONFIGS = [c for name in sorted(REGISTRY) for c in configs_of(REGISTRY[name], False)]


def sample_points(cfg: Config) -> list[tuple]:
    """N_POINTS argument tuples from the domain (deterministic per configuration). Point k uses
    the k-th interval of each input (cyclically), so every interval is visited; values keep a
    margin from the interval ends, where a kink or singularity may sit."""
    if cfg.special:
        return SPECIAL_INPUTS[cfg.name][1]
    rng = np.random.default_rng(zlib.crc32(cfg.id.encode()))
    points = []
    for k in range(N_POINTS):
        point: list[Any] = []
        for entry, shape in zip(cfg.domain, cfg.shapes):
            ivs = intervals(entry)
            lo, hi = ivs[k % len(ivs)]
            margin = 0.05 * (hi - lo)
            v = rng.uniform(lo + margin, hi - margin, size=shape)
            point.append(float(v) if shape == () else v)
        points.append(tuple(point) + cfg.index)
    return points


def params_of(cfg: Config) -> dict:
    return dict(cfg.prim.extra.get("test_params", {}))


# --------------------------------------------------------------------------- IR under test


@functools.cache
def primal_ir(cfg: Config) -> Function:
    """``def f(x0, x1, ...): return <prim>(x0, x1, ...)`` as IR (inputs coerced as the
    frontend does, e.g. select's condition converted to bool)."""
    body = Region()
    body.params = [Value(t, f"x{i}") for i, t in enumerate(cfg.types())]
    out = build(Builder(body), cfg.name, list(body.params), params_of(cfg), "y")
    body.yields = out if isinstance(out, list) else [out]
    fn = Function(f"prim_{cfg.name}", body, [v.name for v in body.params], "<test_primitives>")
    produced = [op.prim for op in body.walk()]
    assert cfg.name in produced, f"building {cfg.name} produced {produced} (folded away?)"
    return verify(fn)


@functools.cache
def jvp_ir(cfg: Config) -> Function:
    """JVP w.r.t. every float input: (x..., x.dot...) -> (y, y.dot)."""
    return verify(jvp_function(primal_ir(cfg), cfg.floats))


@functools.cache
def vjp_ir(cfg: Config) -> Function:
    """VJP w.r.t. every float input: (x..., y.bar) -> (y, x.bar...)."""
    return verify(vjp_function(primal_ir(cfg), cfg.floats, seeds=None))


@functools.cache
def optimized(which: str, cfg: Config) -> Function:
    source = {"primal": primal_ir, "jvp": jvp_ir, "vjp": vjp_ir}[which](cfg)
    fn = clone_function(source)
    optimize(fn, verify_each=True)
    return verify(fn)


@functools.cache
def hvp_ir(cfg: Config) -> Function:
    """Forward over reverse: the JVP of the (optimized) VJP w.r.t. the float inputs only."""
    return verify(jvp_function(optimized("vjp", cfg), cfg.floats))


@functools.cache
def compiled(which: str, cfg: Config) -> Callable[..., Any]:
    """The optimized IR through the code generator and Numba; returns a flat tuple."""
    fn = optimized(which, cfg)
    stem = "test_prim_" + re.sub(r"\W", "_", cfg.id) + "_" + which
    src = generate_module(fn, stem, tuple(range(len(fn.outputs))), f"{which} of {cfg.id}")
    return load_function(src, stem)


# --------------------------------------------------------------------------- flat views


def out_type(cfg: Config) -> Type:
    return primal_ir(cfg).outputs[0].type


def out_shape(cfg: Config, point: tuple) -> tuple[int, ...]:
    return np.shape(interpret(primal_ir(cfg), *point)[0])


def flat(values) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v in values])


def unflatten(cfg: Config, point: tuple, xs) -> tuple:
    """The point with its float inputs replaced by the flat values ``xs``."""
    args, pos = list(point), 0
    for i in cfg.floats:
        shape = np.shape(point[i])
        size = int(np.prod(shape))
        chunk = np.asarray(xs[pos:pos + size], dtype=np.float64)
        args[i] = float(chunk[0]) if shape == () else chunk.reshape(shape)
        pos += size
    return tuple(args)


def units(cfg: Config, point: tuple):
    """Unit tangents, one per float element: (flat position, tangent per float input)."""
    zeros = [np.zeros(np.shape(point[i])) for i in cfg.floats]
    j = 0
    for k, z in enumerate(zeros):
        for e in range(z.size):
            ts = [np.array(t) for t in zeros]
            ts[k].flat[e] = 1.0
            yield j, [float(t) if t.ndim == 0 else t for t in ts]
            j += 1


def cotangents(cfg: Config, point: tuple):
    """Unit cotangents, one per output element, of the output's dtype."""
    shape, dtype = out_shape(cfg, point), out_type(cfg).np_dtype
    for e in range(int(np.prod(shape))):
        ct = np.zeros(shape, dtype)
        ct.flat[e] = 1
        yield e, (dtype(ct) if shape == () else ct)


def fixed_cotangent(cfg: Config, point: tuple):
    shape, dtype = out_shape(cfg, point), out_type(cfg).np_dtype
    values = np.linspace(0.5, 1.5, int(np.prod(shape))).reshape(shape).astype(dtype)
    return dtype(values) if shape == () else values


def impl_flat(cfg: Config, point: tuple) -> Callable[..., tuple[float, ...]]:
    """The NumPy implementation as a function of the flat float inputs (for fd.jacobian)."""
    p, params = cfg.prim, params_of(cfg)

    def f(*xs: float) -> tuple[float, ...]:
        with np.errstate(all="ignore"):
            return tuple(flat([p.impl(*unflatten(cfg, point, xs), **params)]))

    return f


def fd_tolerances(cfg: Config) -> tuple[float, float, float]:
    """(relative step, rtol, atol) of a finite-difference comparison for this primitive."""
    if out_type(cfg).dtype == "f32":
        return F32_REL_STEP, F32_RTOL, F32_ATOL
    return fd.REL_STEP, FD_RTOL, FD_ATOL


def fd_jacobian(cfg: Config, point: tuple) -> np.ndarray:
    rel, _, _ = fd_tolerances(cfg)
    return fd.jacobian(impl_flat(cfg, point), tuple(flat([point[i] for i in cfg.floats])), rel)


def forward_jacobian(cfg: Config, point: tuple) -> np.ndarray:
    """One interpreted JVP per float input element (unit tangents): the Jacobian's columns."""
    columns = []
    for _, tangents in units(cfg, point):
        out = interpret(jvp_ir(cfg), *point, *tangents)
        assert len(out) == 2, f"JVP returns (y, y.dot), got {out!r}"
        assert np.shape(out[1]) == np.shape(out[0]), f"tangent shape of {cfg.id}: {out!r}"
        columns.append(flat([out[1]]))
    return np.stack(columns, axis=1)


def reverse_jacobian(cfg: Config, point: tuple) -> np.ndarray:
    """One interpreted VJP per output element (unit cotangents): the Jacobian's rows."""
    rows = []
    for _, ct in cotangents(cfg, point):
        out = interpret(vjp_ir(cfg), *point, ct)
        assert len(out) == 1 + len(cfg.floats), f"VJP returns (y, x.bar...), got {out!r}"
        for i, g in zip(cfg.floats, out[1:]):
            assert np.shape(g) == np.shape(point[i]), f"cotangent shape of {cfg.id}: {g!r}"
        rows.append(flat(out[1:]))
    return np.stack(rows, axis=0)


# --------------------------------------------------------------------------- derivatives

differentiable = pytest.mark.parametrize("cfg", CONFIGS, ids=[c.id for c in CONFIGS])


@differentiable
def test_ir_verifies(cfg: Config) -> None:
    for ir in (primal_ir(cfg), jvp_ir(cfg), vjp_ir(cfg), hvp_ir(cfg)):
        verify(ir)
    for which in ("primal", "jvp", "vjp"):
        verify(optimized(which, cfg))


@differentiable
def test_interpreted_primal_is_impl(cfg: Config) -> None:
    for point in sample_points(cfg):
        (out,) = interpret(primal_ir(cfg), *point)
        expected = cfg.prim.impl(*point, **params_of(cfg))
        assert np.shape(out) == np.shape(expected)
        np.testing.assert_allclose(flat([out]), flat([expected]), rtol=1e-15, atol=0)


@differentiable
def test_forward_vs_fd(cfg: Config) -> None:
    _, rtol, atol = fd_tolerances(cfg)
    for point in sample_points(cfg):
        np.testing.assert_allclose(
            forward_jacobian(cfg, point), fd_jacobian(cfg, point), rtol=rtol, atol=atol,
            err_msg=f"JVP Jacobian of {cfg.id} at {point}",
        )


@differentiable
def test_reverse_vs_fd(cfg: Config) -> None:
    _, rtol, atol = fd_tolerances(cfg)
    for point in sample_points(cfg):
        np.testing.assert_allclose(
            reverse_jacobian(cfg, point), fd_jacobian(cfg, point), rtol=rtol, atol=atol,
            err_msg=f"VJP Jacobian of {cfg.id} at {point}",
        )


@differentiable
def test_forward_matches_reverse(cfg: Config) -> None:
    for point in sample_points(cfg):
        np.testing.assert_allclose(
            forward_jacobian(cfg, point), reverse_jacobian(cfg, point),
            rtol=MODES_RTOL, atol=MODES_ATOL, err_msg=f"{cfg.id} at {point}",
        )


@differentiable
def test_primal_outputs_of_derivatives(cfg: Config) -> None:
    """JVP and VJP also return the primal value, unchanged."""
    for point in sample_points(cfg):
        (y,) = interpret(primal_ir(cfg), *point)
        _, tangents = next(units(cfg, point))
        np.testing.assert_array_equal(interpret(jvp_ir(cfg), *point, *tangents)[0], y)
        ct = fixed_cotangent(cfg, point)
        np.testing.assert_array_equal(interpret(vjp_ir(cfg), *point, ct)[0], y)


@differentiable
def test_second_order_vs_fd_of_gradient(cfg: Config) -> None:
    """Forward over reverse: the JVP (unit tangent on one input element) of the reverse
    gradient, against finite differences of the interpreted reverse gradient."""
    if out_type(cfg).dtype == "f32":
        # the gradient is float64 but the rule's intermediates are float32 (rounded)
        rel, rtol, atol = F32_REL_STEP, F32_RTOL, F32_ATOL
    else:
        rel, rtol, atol = fd.REL_STEP, FD2_RTOL, FD2_ATOL
    nf = len(cfg.floats)
    for point in sample_points(cfg):
        ct = fixed_cotangent(cfg, point)

        def gradient(*xs: float) -> tuple[float, ...]:
            out = interpret(optimized("vjp", cfg), *unflatten(cfg, point, xs), ct)
            return tuple(flat(out[1:]))

        expected = fd.jacobian(gradient, tuple(flat([point[i] for i in cfg.floats])), rel)
        for j, tangents in units(cfg, point):
            out = interpret(hvp_ir(cfg), *point, ct, *tangents)
            # outputs: y, x.bar..., y.dot, x.bar.dot...
            assert len(out) == 2 * (1 + nf), f"unexpected hvp outputs {out!r}"
            for i, g, dg in zip(cfg.floats, out[1:1 + nf], out[2 + nf:]):
                assert np.shape(dg) == np.shape(g) == np.shape(point[i]), (
                    f"{cfg.id}: the tangent of gradient {i} has shape {np.shape(dg)}, the "
                    f"gradient {np.shape(g)}, the input {np.shape(point[i])}: {dg!r}"
                )
            np.testing.assert_allclose(
                flat(out[2 + nf:]), expected[:, j], rtol=rtol, atol=atol,
                err_msg=f"second derivatives of {cfg.id} at {point}, input element {j}",
            )


# --------------------------------------------------------------------------- code generation


def assert_same_values(actual: tuple, expected: list, what: str) -> None:
    assert len(actual) == len(expected), f"{what}: {actual!r} vs interpreter {expected!r}"
    for a, e in zip(actual, expected):
        assert np.shape(a) == np.shape(e), f"{what}: {actual!r} vs interpreter {expected!r}"
        if np.asarray(e).dtype.kind in "bi":
            np.testing.assert_array_equal(a, e, err_msg=what)
        else:
            np.testing.assert_allclose(
                np.asarray(a, dtype=np.float64), np.asarray(e, dtype=np.float64),
                rtol=CODEGEN_RTOL, atol=CODEGEN_ATOL, err_msg=f"{what}: {a!r} vs {e!r}",
            )


@pytest.mark.parametrize("cfg", CODEGEN_CONFIGS, ids=[c.id for c in CODEGEN_CONFIGS])
def test_compiled_primal_matches_interpreter(cfg: Config) -> None:
    fn = compiled("primal", cfg)
    for point in sample_points(cfg):
        expected = interpret(primal_ir(cfg), *point)
        assert_same_values(fn(*point), expected, f"compiled {cfg.id}{point}")


@differentiable
def test_compiled_vjp_matches_interpreter(cfg: Config) -> None:
    fn = compiled("vjp", cfg)
    for point in sample_points(cfg):
        ct = fixed_cotangent(cfg, point)
        expected = interpret(vjp_ir(cfg), *point, ct)
        assert_same_values(fn(*point, ct), expected, f"compiled VJP of {cfg.id}{point}")


@differentiable
def test_optimized_ir_matches_unoptimized(cfg: Config) -> None:
    for point in sample_points(cfg):
        ct = fixed_cotangent(cfg, point)
        assert_same_values(
            tuple(interpret(optimized("vjp", cfg), *point, ct)),
            interpret(vjp_ir(cfg), *point, ct), f"optimized VJP of {cfg.id}{point}",
        )
        _, tangents = next(units(cfg, point))
        assert_same_values(
            tuple(interpret(optimized("jvp", cfg), *point, *tangents)),
            interpret(jvp_ir(cfg), *point, *tangents), f"optimized JVP of {cfg.id}{point}",
        )
