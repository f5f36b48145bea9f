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


class SrcadValueError(SrcadError, ValueError):
    """Values NumPy refuses, e.g. shapes that do not broadcast (NumPy's ValueError)."""


class SrcadRecursionError(SrcadError):
    """Recursive calls are not supported: srcad inlines calls."""


class NotDifferentiableError(SrcadError):
    """A construct whose derivative srcad cannot compute exactly."""
