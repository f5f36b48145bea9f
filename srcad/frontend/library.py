"""More of the NumPy library: hooks called by frontend/arrays.py (owned by the library work)."""
from __future__ import annotations

from ..errors import UnsupportedSyntaxError


def attribute(lw, x, attr: str, node):
    """``x.<attr>`` for attributes arrays.py does not handle; None if unknown."""
    return None


def array_index(lw, x, idx, node):
    """``x[idx]`` where idx is an integer or boolean array."""
    raise UnsupportedSyntaxError("indexing with an array (gather, boolean mask) is not "
                                 "supported yet", lw.loc(node))
