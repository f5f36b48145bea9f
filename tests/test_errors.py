"""Errors: every unsupported construct is rejected with a located ``SrcadError``.

Syntax srcad does not compile is rejected when the function is decorated; problems that need
argument types (unknown calls, recursion, unbound names, bad transforms) when it is first
called. Every located error must name this file and the line and column of the offending
construct (``path:line:col``, column 1-based); expected positions are computed from this file's
source text, never hard-coded.
"""

from __future__ import annotations

import inspect
import math
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

import srcad
from srcad import (
    SrcadError, SrcadNameError, SrcadRecursionError, SrcadTypeError, UnsupportedCallError,
    UnsupportedSyntaxError,
)

THIS_FILE = os.path.abspath(__file__)
COUNTER = 0.0
SOME_LIST = [1.0, 2.0, 3.0]


def position(fn: Callable, marker: str, nth: int = 1) -> tuple[int, int]:
    """(line, 1-based column) of the ``nth`` occurrence of ``marker`` in ``fn``'s source."""
    lines, start = inspect.getsourcelines(fn)
    seen = 0
    for k, text in enumerate(lines):
        col = text.find(marker)
        if col >= 0:
            seen += 1
            if seen == nth:
                return start + k, col + 1
    raise AssertionError(f"{marker!r} not found in the source of {fn.__name__}")


def assert_located(err: SrcadError, fn: Callable, marker: str, nth: int = 1) -> None:
    line, col = position(fn, marker, nth)
    text = str(err)
    assert f"{THIS_FILE}:{line}:{col}:" in text, (
        f"expected {THIS_FILE}:{line}:{col} in the message, got:\n{text}"
    )
    assert err.loc is not None and os.path.samefile(err.loc.filename, THIS_FILE)
    assert (err.loc.line, err.loc.col + 1) == (line, col)
    # the message quotes the offending source line
    source_line = inspect.getsourcelines(fn)[0][line - inspect.getsourcelines(fn)[1]]
    assert source_line.strip() in text, text


# --------------------------------------------------------------------------- unsupported syntax
# Each function holds one unsupported construct; the marker is the text where the construct
# starts (the column srcad must point at).


def uses_try(x):
    try:
        y = 2.0 * x
    except ValueError:
        y = x
    return y


class _Ctx:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def uses_with(x):
    y = x
    with _Ctx():
        y = 2.0 * x
    return y


def uses_yield(x):
    y = x * x
    yield y


def uses_class(x):
    y = x + 1.0

    class Local:
        pass

    return y


def uses_global(x):
    global COUNTER
    return x + COUNTER


def _make_uses_nonlocal():
    z = 1.0

    def uses_nonlocal(x):
        nonlocal z
        z = x
        return z * x

    return uses_nonlocal


uses_nonlocal = _make_uses_nonlocal()


def uses_lambda(x):
    sq = lambda t: t * t  # noqa: E731
    return sq(x)


def uses_listcomp(x):
    return sum([x * k for k in range(3)])


def uses_nested_def(x):
    y = 3.0 * x

    def helper(t):
        return t * t

    return helper(y)


def uses_import(x):
    import math as m

    return m.sin(x)


def uses_del(x):
    y = 2.0 * x
    z = y + 1.0
    del y
    return z


def uses_assert(x):
    y = x * x
    assert y >= 0.0
    return y


def uses_fstring(x):
    label = f"x={x}"  # noqa: F841
    return x


def uses_while_else(x):
    while x < 10.0:
        x = 2.0 * x + 1.0
    else:
        x = x - 1.0
    return x


def uses_star_args(x, *rest):
    return x


def uses_star_kwargs(x, **options):
    return x


SYNTAX_CASES = [
    (uses_try, "try:"),
    (uses_with, "with _Ctx"),
    (uses_yield, "yield y"),
    (uses_class, "class Local"),
    (uses_global, "global COUNTER"),
    (uses_nonlocal, "nonlocal z"),
    (uses_lambda, "lambda t"),
    (uses_listcomp, "[x * k"),
    (uses_nested_def, "def helper"),
    (uses_import, "import math"),
    (uses_del, "del y"),
    (uses_assert, "assert y"),
    (uses_fstring, 'f"x='),
    (uses_while_else, "while x <"),
    (uses_star_args, "def uses_star_args"),
    (uses_star_kwargs, "def uses_star_kwargs"),
]


@pytest.mark.parametrize("fn, marker", SYNTAX_CASES, ids=[f.__name__ for f, _ in SYNTAX_CASES])
def test_unsupported_syntax_at_decoration(fn: Callable, marker: str) -> None:
    with pytest.raises(UnsupportedSyntaxError) as info:
        srcad.differentiate(fn)
    err = info.value
    assert isinstance(err, SrcadError)
    assert_located(err, fn, marker)
    assert err.hint, f"no hint in {err}"


@pytest.mark.parametrize("fn, marker", SYNTAX_CASES[:3], ids=[f.__name__ for f, _ in
                                                              SYNTAX_CASES[:3]])
def test_unsupported_syntax_in_free_transforms(fn: Callable, marker: str) -> None:
    """The free functions reject the same source when they are created (or first called)."""
    with pytest.raises(UnsupportedSyntaxError) as info:
        srcad.grad(fn)(1.5)
    assert_located(info.value, fn, marker)


def test_unsupported_syntax_in_decorated_local_function() -> None:
    """Decorator form on an indented (nested) definition: columns include the indentation."""
    with pytest.raises(UnsupportedSyntaxError) as info:

        @srcad.differentiate
        def local(x):
            y = x * x
            del x
            return y

    assert_located(info.value, test_unsupported_syntax_in_decorated_local_function, "del x")


def test_lambda_itself_is_rejected() -> None:
    with pytest.raises(UnsupportedSyntaxError):
        srcad.differentiate(lambda x: x * x)


def _uses_try_helper(x):
    try:
        return x * x
    except ZeroDivisionError:
        return x


def calls_bad_helper(x):
    return 2.0 * _uses_try_helper(x)


def test_unsupported_syntax_in_inlined_helper() -> None:
    """A helper is checked when it is inlined (at the first call); the error points into it."""
    f = srcad.differentiate(calls_bad_helper)
    with pytest.raises(UnsupportedSyntaxError) as info:
        f(1.5)
    assert_located(info.value, _uses_try_helper, "try:")


# --------------------------------------------------------------------------- errors at first call


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (SIGALRM; the suite runs on POSIX)."""

    def expire(signum, frame):
        raise TimeoutError(f"did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def calls_print(x):
    y = x * x
    print(y)
    return y


def calls_len(x):
    y = 2.0 * x
    return len(y) * x


def calls_unknown_math(x):
    return math.gamma(x) + x


@pytest.mark.parametrize(
    "fn, marker, error",
    [(calls_print, "print(y)", UnsupportedCallError),
     (calls_unknown_math, "math.gamma(x)", UnsupportedCallError),
     # len is known (for arrays); on a number it is a type error, as in Python
     (calls_len, "len(y)", SrcadTypeError)],
    ids=["print", "math.gamma", "len"],
)
def test_bad_call(fn: Callable, marker: str, error: type) -> None:
    f = srcad.differentiate(fn)  # fine: the callee is only resolved with argument types
    for _ in range(2):  # a failed compilation leaves nothing half-built behind
        with pytest.raises(error) as info:
            f(1.5)
        assert_located(info.value, fn, marker)
    with pytest.raises(error):
        f.grad(1.5)


def recursive(x, n):
    if n <= 0:
        return x
    return 0.5 * recursive(x * x, n - 1)


def ping(x):
    if x > 10.0:
        return x
    return pong(2.0 * x)


def pong(x):
    return ping(x + 1.0)


def test_recursion_is_rejected() -> None:
    with deadline(30), pytest.raises(SrcadRecursionError) as info:
        srcad.differentiate(recursive)(1.5, 3)
    assert_located(info.value, recursive, "recursive(x * x")


def test_mutual_recursion_is_rejected() -> None:
    with deadline(30), pytest.raises(SrcadRecursionError) as info:
        srcad.grad(ping)(1.5)
    assert_located(info.value, pong, "ping(x + 1.0)")


def one_branch(x):
    if x > 0.0:
        y = 2.0 * x
    return y * x


def one_branch_in_loop(x, n):
    for i in range(n):
        if x > float(i):
            w = x * i
    return x + w


@pytest.mark.parametrize("fn, args, marker", [
    (one_branch, (1.5,), "y * x"),
    (one_branch_in_loop, (1.5, 3), "x + w"),
], ids=["if", "if-in-loop"])
def test_possibly_unbound_variable(fn: Callable, args: tuple, marker: str) -> None:
    with pytest.raises(SrcadNameError) as info:
        srcad.differentiate(fn)(*args)
    err = info.value
    assert isinstance(err, NameError)
    name = marker.split()[-1] if fn is one_branch_in_loop else marker.split()[0]
    assert f"'{name}'" in err.reason, err.reason
    line, col = position(fn, marker)
    col += marker.index(name)
    assert f"{THIS_FILE}:{line}:{col}:" in str(err), str(err)


def undefined_name(x):
    return x * not_defined_anywhere  # noqa: F821


def test_undefined_name() -> None:
    with pytest.raises(SrcadNameError) as info:
        srcad.differentiate(undefined_name)(1.5)
    assert "not_defined_anywhere" in str(info.value)
    assert_located(info.value, undefined_name, "not_defined_anywhere")


def loops_over_list(x):
    s = 0.0
    for v in SOME_LIST:
        s = s + v * x
    return s


def loops_over_tuple(x):
    s = 0.0
    for v in (x, 2.0 * x):
        s = s + v
    return s


@pytest.mark.parametrize("fn, marker", [
    (loops_over_list, "SOME_LIST:"), (loops_over_tuple, "(x, 2.0 * x)"),
], ids=["list", "tuple"])
def test_loop_over_non_range(fn: Callable, marker: str) -> None:
    with pytest.raises(SrcadError) as info:
        srcad.differentiate(fn)(1.5)
    assert_located(info.value, fn, marker)


def int_and_float(x, n):
    return x * n


def test_grad_with_respect_to_int_argument() -> None:
    with pytest.raises(TypeError) as info:
        srcad.grad(int_and_float, argnums=1)(2.0, 3)
    err = info.value
    assert isinstance(err, SrcadError) and isinstance(err, SrcadTypeError)
    assert "'n'" in str(err), str(err)
    with pytest.raises(SrcadTypeError):
        srcad.grad(int_and_float, argnums=(0, 1))(2.0, 3)
    # the same function is fine with respect to its float argument
    assert srcad.grad(int_and_float, argnums=0)(2.0, 3) == 3.0


def test_argnums_out_of_range() -> None:
    with pytest.raises(SrcadTypeError):
        srcad.grad(int_and_float, argnums=2)(2.0, 3)


def returns_tuple(x, y):
    return x * y, x + y


def test_grad_of_tuple_output() -> None:
    with pytest.raises(SrcadTypeError) as info:
        srcad.grad(returns_tuple)(1.5, 2.0)
    assert "tuple" in str(info.value)
    with pytest.raises(SrcadTypeError):
        srcad.differentiate(returns_tuple).grad(1.5, 2.0)


def returns_int(x):
    return 3


def test_grad_of_int_output() -> None:
    with pytest.raises(SrcadTypeError):
        srcad.grad(returns_int)(1.5)


def no_return(x):
    y = x * x  # noqa: F841


def returns_sometimes(x):
    if x > 0.0:
        return x
    y = x * x  # noqa: F841


@pytest.mark.parametrize("fn", [no_return, returns_sometimes])
def test_function_without_return(fn: Callable) -> None:
    f = srcad.differentiate(fn)
    with pytest.raises(SrcadError) as info:
        f(1.5)
    assert_located(info.value, fn, f"def {fn.__name__}")


def test_bad_argument_types() -> None:
    f = srcad.differentiate(int_and_float)
    with pytest.raises(SrcadTypeError):
        f("2.0", 3)
    with pytest.raises(TypeError):
        f(2.0)  # missing argument


def test_unknown_wrt_name() -> None:
    with pytest.raises(SrcadTypeError) as info:
        srcad.differentiate(int_and_float, wrt="z")
    assert "'z'" in str(info.value)
