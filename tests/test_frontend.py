"""The frontend and the passes on every function of the corpora (``functions.py``,
``corpus_control.py``), at the argument types of each function's first point:

* the lowered IR verifies and prints: ``func`` header, every parameter, source line comments
  that point into the function (or into helpers of the same module it inlines);
* the transforms the API builds (grad, jvp, vjp, hvp) verify after optimization;
* ``optimize(..., verify_each=True)`` keeps unoptimized IR valid and its results unchanged.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import sys

import numpy as np
import pytest

from srcad import api, differentiate, grad, interpret
from srcad.frontend import lower_function
from srcad.ir import Function, clone_function, verify
from srcad.ir import interpret as interpret_ir
from srcad.ir.types import Type, type_of_python_value
from srcad.passes import optimize
from tests import corpus_check, fd
from tests.registry import Case

CASES = corpus_check.all_cases()

corpus = pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.slow else []) for c in CASES]
)

LINE_COMMENT = re.compile(r"# line (\d+)\s*$", re.MULTILINE)


def bound(case: Case, k: int = 0) -> tuple:
    """The k-th point with defaults filled in (the API lowers with every parameter bound)."""
    return api.as_differentiable(case.fn).bind(case.points[k], {})


def arg_types(case: Case, k: int = 0) -> tuple[Type, ...]:
    return tuple(type_of_python_value(a) for a in bound(case, k))


@functools.cache
def lowered(case: Case) -> Function:
    """The API's (optimized) IR of the case at its first point's types."""
    return api.as_differentiable(case.fn).lower(arg_types(case))


@functools.cache
def raw(case: Case) -> Function:
    """The frontend's IR before any pass."""
    d = api.as_differentiable(case.fn)
    return lower_function(case.fn, list(arg_types(case)), d.param_names)


def source_range(fn) -> range:
    lines, start = inspect.getsourcelines(fn)
    return range(start, start + len(lines))


@functools.cache
def module_function_ranges(module_name: str) -> list[range]:
    """Line ranges of every function defined at the top level of a module (helpers included)."""
    module = sys.modules[module_name]
    tree = ast.parse(inspect.getsource(module))
    return [range(node.lineno, node.end_lineno + 1) for node in tree.body
            if isinstance(node, ast.FunctionDef)]


def printed_ops(ir: Function) -> list:
    """The ops the printer shows (constants are printed inline)."""
    return [op for op in ir.body.walk() if op.prim != "const"]


def test_corpora_are_not_empty() -> None:
    assert len(CASES) > 20


@corpus
def test_lowered_ir_verifies(case: Case) -> None:
    verify(lowered(case))
    verify(raw(case))


@corpus
def test_printer(case: Case) -> None:
    ir = lowered(case)
    text = str(ir)
    assert text.strip(), "empty IR text"
    assert text.startswith("func"), text
    header = text.splitlines()[0]
    for name in inspect.signature(case.fn).parameters:
        assert re.search(rf"%{re.escape(name)}\b", header), (
            f"parameter {name!r} missing from the header {header!r}"
        )
    own = source_range(case.fn)
    lines = [int(n) for n in LINE_COMMENT.findall(text)]
    if not printed_ops(ir):
        return  # e.g. a constant result: no op to carry a line comment
    assert any(n in own for n in lines), (
        f"no '# line N' comment with N in {own.start}..{own.stop - 1}:\n{text}"
    )


@corpus
def test_source_locations_point_into_the_module(case: Case) -> None:
    """Every op's location names the corpus file and a line inside one of its functions (the
    function itself or a helper it inlines)."""
    filename = inspect.getsourcefile(case.fn)
    ranges = module_function_ranges(case.fn.__module__)
    own = source_range(case.fn)
    for ir in (raw(case), lowered(case)):
        seen_own = False
        for op in ir.body.walk():
            if op.loc is None:
                continue
            assert op.loc.filename == filename, f"{op!r} located in {op.loc.filename}"
            assert any(op.loc.line in r for r in ranges), (
                f"{op!r} at line {op.loc.line}, outside every function of {filename}"
            )
            seen_own |= op.loc.line in own
            assert op.loc.text.strip(), f"{op!r}: location without source text"
        assert seen_own or not printed_ops(ir), f"no op located in {case.name} itself"


def transform_specs(case: Case) -> list[api.Spec]:
    """The specs the API builds for this case: grad (has_aux for tuple results), hvp for scalar
    results, jvp and vjp always."""
    scalar = getattr(lowered(case), "out_tree", None) is None
    specs = [api.Spec("jvp"), api.Spec("vjp")]
    if scalar:
        specs += [api.Spec("grad", None), api.Spec("grad", None, with_value=True),
                  api.Spec("hvp", None)]
    else:
        specs += [api.Spec("grad", None, has_aux=True)]
    return specs


@corpus
def test_transforms_verify(case: Case) -> None:
    d = api.as_differentiable(case.fn)
    for spec in transform_specs(case):
        built = api.build_ir(d, spec, arg_types(case))
        verify(built.ir)
        assert str(built.ir).startswith("func"), spec


@corpus
def test_optimize_verifies_each_pass(case: Case) -> None:
    ir = clone_function(raw(case))
    optimize(ir, verify_each=True)
    verify(ir)


INT_CAP = 1000


def capped(point: tuple) -> tuple:
    """The point with int arguments (trip counts) capped at INT_CAP in size: the IR depends on
    the argument types only, and the interpreter is slow on 100,000-iteration loops."""
    return tuple(max(-INT_CAP, min(INT_CAP, v)) if type(v) is int else v for v in point)


@corpus
def test_optimize_preserves_results(case: Case) -> None:
    """Interpreting the optimized IR gives the unoptimized IR's and CPython's results, at every
    point whose types match the first point's."""
    ir = optimize(clone_function(raw(case)), verify_each=True)
    types = arg_types(case)
    d = api.as_differentiable(case.fn)
    for k in range(len(case.points)):
        if arg_types(case, k) != types:
            continue
        point = d.bind(capped(case.points[k]), {})
        expected = case.fn(*point)
        expected = expected if isinstance(expected, tuple) else (expected,)
        before = interpret_ir(raw(case), *point)
        after = interpret_ir(ir, *point)
        np.testing.assert_allclose(
            [float(v) for v in after], [float(v) for v in before], rtol=1e-14, atol=1e-15,
            err_msg=f"optimized vs unoptimized IR at {point}",
        )
        np.testing.assert_allclose(
            [float(v) for v in after], [float(v) for v in expected], rtol=1e-12, atol=1e-13,
            err_msg=f"optimized IR vs CPython at {point}",
        )


# --------------------------------------------------------------------------- Python semantics
# Number semantics the corpora do not reach: the interpreter, the compiled code and CPython
# must agree (bool arithmetic gives ints, an int to a negative int power gives a float), and
# so must the gradient and finite differences.


def bool_arithmetic(x, y):
    return x * ((x > 0.0) + (y > 0.0))


def bool_argument_sum(x, a, b):
    return x * (a + b)


def int_negative_literal_power(x, n):
    return x * n**-1


def int_base_negative_power(x, n):
    return 2**n * x + x**n


def int_floordiv_mod(x, n):
    return x * (n // 3) + x * (n % 3) + x * (-n // 4)


SEMANTICS = [
    (bool_arithmetic, (1.5, 2.0)),
    (bool_arithmetic, (1.5, -2.0)),
    (bool_argument_sum, (1.5, True, True)),
    (int_negative_literal_power, (1.5, 2)),
    (int_negative_literal_power, (1.5, -4)),
    (int_base_negative_power, (1.3, -3)),
    (int_base_negative_power, (1.3, 3)),
    (int_floordiv_mod, (1.5, -7)),
    (int_floordiv_mod, (1.5, 8)),
]


@pytest.mark.parametrize("fn, args", SEMANTICS,
                         ids=[f"{f.__name__}{a}" for f, a in SEMANTICS])
def test_python_number_semantics(fn, args) -> None:
    expected = fn(*args)
    np.testing.assert_allclose(interpret(fn, *args), expected, rtol=1e-14, atol=0,
                               err_msg="interpreter vs CPython")
    np.testing.assert_allclose(differentiate(fn)(*args), expected, rtol=1e-14, atol=0,
                               err_msg="compiled vs CPython")
    g = grad(fn, argnums=0)(*args)
    np.testing.assert_allclose(g, fd.partial(fn, args, 0)[0], rtol=1e-6, atol=1e-8,
                               err_msg="gradient vs FD")
