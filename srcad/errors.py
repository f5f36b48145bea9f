"""Errors raised by srcad.  Every error that concerns user code carries a source location."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    """A position in user source: file, 1-based line, 0-based column, and the line's text."""

    filename: str
    line: int
    col: int
    text: str = ""

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.col + 1}"


class SrcadError(Exception):
    """Base class of srcad errors; ``str(err)`` is ``file:line:col: reason``, source, hint."""

    def __init__(self, reason: str, loc: Loc | None = None, hint: str | None = None):
        self.reason = reason
        self.loc = loc
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        head = f"{self.loc}: {self.reason}" if self.loc else self.reason
        parts = [head]
        if self.loc and self.loc.text:
            parts.append("    " + self.loc.text.rstrip())
            parts.append("    " + " " * self.loc.col + "^")
        if self.hint:
            parts.append(f"  hint: {self.hint}")
        return "\n".join(parts)


class UnsupportedSyntaxError(SrcadError):
    """The function uses a Python construct srcad does not compile (yet)."""


class UnsupportedCallError(SrcadError):
    """A call to a function srcad does not know how to lower or differentiate."""


class SrcadNameError(SrcadError, NameError):
    """A name is unknown, or possibly unbound where it is used."""


class SrcadTypeError(SrcadError, TypeError):
    """Argument or value types that srcad cannot handle (e.g. differentiating w.r.t. an int)."""


class SrcadRecursionError(SrcadError):
    """Recursive calls are not supported: srcad inlines calls."""


class NotDifferentiableError(SrcadError):
    """A construct whose derivative srcad cannot compute exactly."""


class SrcadIndexError(SrcadError, IndexError):
    """An index out of range for its array (Python's and NumPy's IndexError), located."""


class SrcadValueError(SrcadError, ValueError):
    """Array shapes NumPy refuses to combine (NumPy's ValueError), located."""


def _runtime_loc(filename: str, line: int, col: int) -> Loc:
    import linecache
    return Loc(filename, line, col, linecache.getline(filename, line))


class OutOfBounds(SrcadIndexError):
    """Raised by generated code (codegen/checks.py): Numba passes the run-time index and
    extent and the op's location as constants; the message is NumPy's."""

    def __init__(self, index, size, axis, filename, line, col):
        super().__init__(f"index {index} is out of bounds for axis {axis} with size {size}",
                         _runtime_loc(filename, line, col))

    def __reduce__(self):  # picklable as the plain class (its __init__ differs)
        return SrcadIndexError, (self.reason, self.loc, self.hint)


# What ShapeMismatch(kind, a, b, ...) says, with NumPy's wording.
_SHAPE_MESSAGES = {
    0: "operands could not be broadcast together with shapes {a} {b}",
    1: "could not broadcast input array from shape {b} into shape {a}",
    2: "shapes {a} and {b} not aligned: {ka} (dim {da}) != {kb} (dim {db})",
    3: "all the input array dimensions except for the concatenation axis must match exactly: "
       "shapes {a} and {b}",
    4: "cannot reshape array of size {size} into shape {b}",
    5: "non-broadcastable output operand with shape {a} doesn't match the broadcast shape {b}",
}


def _shape_text(s) -> str:
    return "(" + ",".join(str(int(n)) for n in s) + ("," if len(s) == 1 else "") + ")"


class ShapeMismatch(SrcadValueError):
    """Raised by generated code (codegen/checks.py): ``kind`` 0 for operands that do not
    broadcast together, 1 for a value that does not fit the indexed part it is assigned to,
    2 for matrix-product operands whose inner extents differ, 3 for arrays concatenated
    along an axis whose other extents differ, 4 for a reshape to another size, 5 for the
    result of ``x op= v`` that broadcasts beyond x."""

    def __init__(self, kind, a, b, filename, line, col):
        a, b = tuple(a), tuple(b)
        db = max(len(b) - 2, 0)
        size = 1
        for n in a:
            size *= int(n)
        text = _SHAPE_MESSAGES[kind].format(
            a=_shape_text(a), b=_shape_text(b), ka=a[-1] if a else 0, da=max(len(a) - 1, 0),
            kb=b[db] if b else 0, db=db, size=size)
        super().__init__(text, _runtime_loc(filename, line, col))

    def __reduce__(self):
        return SrcadValueError, (self.reason, self.loc, self.hint)
