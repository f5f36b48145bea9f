"""The IR: typed SSA values, ops with structured regions, printer, verifier, interpreter."""
from .core import Builder, Function, Op, Region, Value, clone_function  # noqa: F401
from .interpreter import interpret  # noqa: F401
from .printer import format_function  # noqa: F401
from .types import BOOL, F32, F64, I64, Type  # noqa: F401
from .verifier import verify  # noqa: F401
