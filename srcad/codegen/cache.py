"""Generated modules live as files in a cache directory (``$SRCAD_CACHE_DIR``, default
``$XDG_CACHE_HOME/srcad`` or ``~/.cache/srcad``) and are imported from there, so Numba's
``cache=True`` works and a second process skips LLVM compilation.  File names carry a hash of
the source: a file is written once and never rewritten (rewriting would invalidate Numba's
index, which is keyed on the file's timestamp)."""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

_loaded: dict[str, object] = {}


def cache_dir() -> Path:
    d = os.environ.get("SRCAD_CACHE_DIR")
    if d:
        return Path(d)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "srcad"


# Modules whose compiled code Numba links into every generated function.  Numba's cache only
# checks the timestamp of the generated file itself, so without their text in the key an
# edited runtime (a new rt.py or gemm.py, same srcad version) would keep running the machine
# code of the old one from the cache.
_RUNTIME = ("rt.py", "gemm.py", "vmath.py", "ufuncs.py", "../primitives/library.py")


@functools.cache
def _runtime_digest() -> str:
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in _RUNTIME:
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def load_module(source: str, stem: str):
    """Write ``source`` to the cache (if not there yet) and import it."""
    from .. import __version__
    # Comments (source line numbers) are left out of the key: inserting a line above the user's
    # function must not force a recompile.  A reused file may then show older line numbers;
    # srcad.show always prints freshly generated source.
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    digest = hashlib.sha256((__version__ + _runtime_digest() + code).encode()).hexdigest()[:16]
    modname = f"srcad_gen_{stem}_{digest}"
    mod = _loaded.get(modname)
    if mod is not None:
        return mod
    d = cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{modname}.py"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(source)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    _loaded[modname] = mod
    return mod


def load_function(source: str, name: str):
    """The compiled function ``name`` of the module ``source`` (see :func:`load_module`).  When
    the module also has ``name + "_unfused"`` (fused loops whose shape guards can fail), the
    result calls the fused function until a guard raises ``rt.ShapeFallback`` (before anything
    escapes: generated functions never write their arguments), then the unfused one for that
    call and every later call through it."""
    from .pysource import FALLBACK_SUFFIX
    from .rt import ShapeFallback
    mod = load_module(source, name)
    fused = getattr(mod, name)
    unfused = getattr(mod, name + FALLBACK_SUFFIX, None)
    if unfused is None:
        return fused
    state = [fused]

    def call(*args):
        fn = state[0]
        if fn is unfused:
            return unfused(*args)
        try:
            return fused(*args)
        except ShapeFallback:
            out = unfused(*args)
            state[0] = unfused  # only once it ran: a call that raised keeps the fused one
            return out
    call.fused, call.unfused = fused, unfused
    return call
