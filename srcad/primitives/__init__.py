"""Primitive registry; importing this package registers every primitive family."""
from . import arrays, library, linalg, registry, scalar  # noqa: F401
from .registry import REGISTRY, Primitive, nondiff, register, smooth  # noqa: F401
