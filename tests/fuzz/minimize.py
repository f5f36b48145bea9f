"""Shrink a failing program while it keeps failing the same way.

``minimize(result)`` repeatedly tries smaller variants of the program's source (on its AST):
delete a statement, replace an ``if``/``for``/``while`` by one of its bodies, replace an
expression by one of its sub-expressions or by a constant, drop unused parameters (and their
arguments), round the arguments; a variant is kept when CPython still runs it (finite result)
and srcad still fails with the same signature.  Only the check that failed is rerun, so a
compiled failure costs one Numba compile per try.
"""
from __future__ import annotations

import ast
import copy
import time
from collections.abc import Callable, Iterator

import numpy as np

from .gen import Program
from .harness import CHECKS, Result, check

# which checks to rerun for a failing check
_RERUN = {"primal": ("primal",), "arg_state": ("primal", "arg_state"), "vjp": ("vjp",),
          "vjp_value": ("vjp",), "jvp": ("jvp",), "jvp_value": ("jvp",), "grad": ("grad",),
          "fwd_rev": ("fwd_rev",), "untouched": ("vjp", "jvp", "grad"), "srcad": CHECKS,
          "parse": CHECKS, "timeout": CHECKS}


def target_of(result: Result):
    """The (signature, checks) that a minimization of ``result`` keeps."""
    if result.findings:
        f = result.findings[0]
    elif result.arg_state is not None:
        f = result.arg_state
    else:
        raise ValueError("nothing to minimize: the program passed")
    return f.signature, _RERUN.get(f.check, CHECKS)


def signatures(res: Result) -> set:
    out = {f.signature for f in res.findings}
    if res.arg_state is not None:
        out.add(res.arg_state.signature)
    return out


# ----------------------------------------------------------------------------- AST edits

def _stmt_lists(tree) -> list:
    out = []
    for node in ast.walk(tree):
        for fld in ("body", "orelse"):
            lst = getattr(node, fld, None)
            if isinstance(lst, list) and lst and isinstance(lst[0], ast.stmt):
                out.append(lst)
    return out


def _expr_sites(tree) -> list:
    """(parent, field, index) of every load-context expression, in a fixed order."""
    out = []
    for node in ast.walk(tree):
        for fld, val in ast.iter_fields(node):
            if isinstance(val, ast.expr):
                out.append((node, fld, None, val))
            elif isinstance(val, list):
                for k, v in enumerate(val):
                    if isinstance(v, ast.expr):
                        out.append((node, fld, k, v))
    return [(p, f, k) for p, f, k, v in out
            if not isinstance(getattr(v, "ctx", ast.Load()), (ast.Store, ast.Del))
            and not (isinstance(p, ast.AugAssign) and f == "target")
            and not (isinstance(p, ast.Call) and f == "func")
            and not isinstance(p, ast.keyword)]


def _get(site):
    p, f, k = site
    return getattr(p, f) if k is None else getattr(p, f)[k]


def _set(site, new):
    p, f, k = site
    if k is None:
        setattr(p, f, new)
    else:
        getattr(p, f)[k] = new


def _replacements(e: ast.expr) -> list:
    """Simpler expressions to try in place of ``e``: its sub-expressions, then a constant."""
    if isinstance(e, (ast.Name, ast.Constant)):
        return []
    if isinstance(e, (ast.Compare, ast.BoolOp)):   # a float is no condition: keep bools
        return [ast.Constant(True), ast.Constant(False)] + \
            (list(e.values) if isinstance(e, ast.BoolOp) else [])
    out = [c for c in ast.iter_child_nodes(e) if isinstance(c, ast.expr)
           and not (isinstance(e, ast.Call) and c is e.func)]
    return out + [ast.Constant(1.0)]


def variants(source: str) -> Iterator[tuple]:
    """Smaller sources: (kind, new source).  Statement deletions first (largest first)."""
    tree = ast.parse(source)

    def fresh():
        return copy.deepcopy(tree)
    lists = _stmt_lists(tree)
    # delete whole statements, compound statements first, then the rest from the end
    order = []
    for li, lst in enumerate(lists):
        for si, s in enumerate(lst):
            big = isinstance(s, (ast.If, ast.For, ast.While, ast.FunctionDef))
            order.append((0 if big else 1, li, -si, si))
    for _, li, _, si in sorted(order):
        t = fresh()
        lst = _stmt_lists(t)[li]
        del lst[si]
        if not lst:
            lst.append(ast.Pass())
        yield "delete", _unparse(t)
    # replace a compound statement by one of its bodies
    for li, lst in enumerate(lists):
        for si, s in enumerate(lst):
            if isinstance(s, (ast.If, ast.For, ast.While)):
                for fld in ("body", "orelse"):
                    if getattr(s, fld):
                        t = fresh()
                        tl = _stmt_lists(t)[li]
                        tl[si:si + 1] = getattr(tl[si], fld)
                        yield "flatten", _unparse(t)
    # expressions
    sites = _expr_sites(tree)
    for k, site in enumerate(sites):
        for r in range(len(_replacements(_get(site)))):
            t = fresh()
            s2 = _expr_sites(t)[k]
            _set(s2, copy.deepcopy(_replacements(_get(s2))[r]))
            yield "expr", _unparse(t)


def _unparse(tree) -> str:
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _drop_unused_params(program: Program) -> Iterator[Program]:
    tree = ast.parse(program.source)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == program.name)
    used = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
    for k, a in enumerate(fn.args.args):
        if a.arg not in used:
            t = copy.deepcopy(tree)
            f2 = next(n for n in t.body if isinstance(n, ast.FunctionDef)
                      and n.name == program.name)
            del f2.args.args[k]
            yield Program(program.seed, _unparse(t), program.args[:k] + program.args[k + 1:],
                          {}, program.name)


def _round_args(program: Program) -> Iterator[Program]:
    for digits in (1, 2):
        for k, a in enumerate(program.args):
            if isinstance(a, (float, np.ndarray)) and not isinstance(a, bool):
                new = np.round(a, digits) if isinstance(a, np.ndarray) else round(a, digits)
                if np.array_equal(new, a):
                    continue
                args = list(program.args)
                args[k] = new
                yield Program(program.seed, program.source, tuple(args), {}, program.name)


# ----------------------------------------------------------------------------- the loop

def minimize(result: Result, budget_s: float = 120.0, timeout: float | None = 60.0,
             log: Callable[[str], None] | None = None, checker=check) -> Result:
    """The smallest failing variant found within ``budget_s`` seconds (its Result).
    ``checker(program, backend, checks=..., timeout=...)`` is ``harness.check`` (a test can
    pass its own)."""
    sig, checks = target_of(result)
    backend = result.backend
    best = result
    start = time.monotonic()
    tries = 0

    def still_fails(p: Program):
        nonlocal tries
        tries += 1
        r = checker(p, backend, checks=checks, timeout=timeout)
        return r if sig in signatures(r) else None

    def over() -> bool:
        return time.monotonic() - start > budget_s

    prog = Program(result.program.seed, _unparse(ast.parse(result.program.source)),
                   result.program.args, {}, result.program.name)
    r0 = still_fails(prog)
    if r0 is None:       # unparsing changed nothing semantically, but be safe
        return best
    best = r0
    k = 0              # position in the list of variants (kept after a success)
    clean = False      # the current pass started at 0 and found nothing yet
    while not over():
        vs = list(variants(best.program.source))
        hit = False
        while k < len(vs) and not over():
            kind, src = vs[k]
            if len(src) < len(best.program.source):
                r = still_fails(Program(prog.seed, src, best.program.args, {}, prog.name))
                if r is not None:
                    best, hit = r, True
                    if log:
                        log(f"  {kind}: {len(src)} chars")
                    break
            k += 1
        if hit:
            clean = False
            continue
        for p in list(_drop_unused_params(best.program)) + list(_round_args(best.program)):
            if over():
                break
            r = still_fails(p)
            if r is not None:
                best, hit = r, True
                break
        if hit:
            clean, k = False, 0
            continue
        if clean:
            break
        clean, k = True, 0
    if log:
        log(f"  minimized in {tries} tries, {time.monotonic() - start:.0f} s")
    # rerun every check on the result, for the report
    full = checker(best.program, backend, timeout=timeout)
    return full if sig in signatures(full) else best
