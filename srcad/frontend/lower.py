"""AST -> typed SSA IR.

Lowering is type-directed: argument types are known (they are the cache key), so every value
gets its type as it is built and the frontend directly produces typed IR.  Python's variables
become SSA values through an environment that maps names to values; ``if`` merges the
environments of its branches into region results, loops carry the names they assign.

``break``, ``continue`` and ``return`` become boolean flags held in the environment under names a
user cannot write (``.brk``, ``.cont``, ``.ret``; the returned value is ``.retval``).  After a
statement that may have set a flag, the rest of the block is guarded by ``if not flag``; a loop
that contains ``break`` or ``return`` becomes a ``while`` whose condition tests the flags.
"""
from __future__ import annotations

import ast
import types
from dataclasses import dataclass

import numpy as np

from ..errors import (
    SrcadError,
    SrcadNameError,
    SrcadRecursionError,
    SrcadTypeError,
    SrcadValueError,
    UnsupportedCallError,
    UnsupportedSyntaxError,
)
from ..ir.core import Builder, Function, Op, Region, Value, mark
from ..ir.types import BOOL, I64, Type, promote
from .arrays import Method, array_attribute, call_method, subscript
from .calls import CALLS, VIEW_CALLS, VIEW_METHODS, checkpoint, no_rule, written_callee
from .snapshot import Read, should_record
from .source import FuncInfo, parse_function

RET, RETV, BRK, CONT = ".ret", ".retval", ".brk", ".cont"
ARG = ".arg."  # .arg.x: the array the caller passed as x, in its latest version
FLAGS = (RET, BRK, CONT)


@dataclass
class TupleV:
    """A Python tuple of values (exists only in the frontend; flattened in the IR)."""
    items: tuple

    def __iter__(self):
        return iter(self.items)


@dataclass
class Unbound:
    """A name that is not (or possibly not) bound here.  ``fallback`` is the loop-carried value
    used when merging, for names first assigned inside a loop body."""
    reason: str
    fallback: object = None


_MISSING = Unbound("never assigned")
NO_VALUE = object()  # what a helper's bare ``return`` returns (None, when all its returns are)


class Stale(Unbound):
    """A name bound to a view of an array that has since been written in place."""

    hint = "take a copy ({name} = ....copy()) or index the array again after the write"


class Untracked(Stale):
    """A name bound to an array that a loop wrote into in some iterations and then replaced by
    another array: which iterations' writes it holds is not tracked."""

    hint = ("make a copy before the loop ({name} = {name}.copy()), so that the loop writes "
            "into an array of its own")


class MaybeWritten(Stale):
    """A name bound to an array that a write through another name may or may not have changed
    (the other name is one of several arrays, depending on the path taken)."""

    hint = ("make the array written into a copy where the paths merge (e.g. h = h0.copy() "
            "in the branch or before the loop), so that it is never '{name}'")


class Heap:
    """Which arrays share memory, for in-place writes.  The IR is functional: ``x[i] = v``
    makes a new version of x (a ``put``), and every name bound to the old version is rebound
    to the new one (``y = x; y[0] = 1`` changes x too).  ``roots`` maps a version to the first
    version of its buffer; ``views`` maps a view (slice, row, transpose, reshape) to the root
    of the array it looks into: a write to that array makes names bound to the view stale.
    ``mixed`` maps a merged array (an ``if`` result, a loop result that is the initial array
    when the loop runs no iteration) to the roots it is one of, depending on the path: a write
    to it makes the names bound to those other arrays stale."""

    def __init__(self):
        self.roots: dict[Value, Value] = {}
        self.views: dict[Value, Value] = {}
        self.mixed: dict[Value, frozenset[Value]] = {}
        self.writes = 0  # in-place writes lowered so far


    def root(self, v: Value) -> Value:
        return self.roots.get(v, v)


def _runs_once(head) -> bool:
    """A for loop over range(start, stop, step) of constants with at least one iteration
    (``head`` of a while loop is empty)."""
    if len(head) != 3 or not all(isinstance(v, Value) and v.is_const for v in head):
        return False
    start, stop, step = (v.const for v in head)
    return len(range(start, stop, step)) > 0


def lower_function(pyfn, arg_types: list[Type], arg_names: list[str] | None = None,
                   arg_writes: bool = False, same: tuple = ()) -> Function:
    """Lower a Python function for the given argument types (after defaults are applied).

    ``arg_writes``: also return, after the results, the final contents of every argument array
    the function writes into (in Python the caller sees those writes); ``fn.arg_writes`` lists
    the positions of those arguments.  ``same``: pairs (j, i) of arguments that are one array
    (the caller passed it twice): both names are bound to argument i."""
    info = parse_function(pyfn)
    names = arg_names or [a.arg for a in info.tree.args.args + info.tree.args.kwonlyargs]
    body = Region()
    params = [Value(t, n) for t, n in zip(arg_types, names)]
    body.params = params
    lw = Lowerer(info, Builder(body), (pyfn,))
    bound = list(params)
    for j, i in same:
        bound[j] = params[i]
    lw.env = dict(zip(names, bound))
    if arg_writes:  # hidden names that follow each argument's array through its writes
        lw.env.update({ARG + n: p for n, p in zip(names, bound) if p.type.ndim})
    result = lw.lower_body()
    flat, tree = _flatten_result(result, info)
    fn = Function(info.name, body, names, info.filename)
    fn.out_tree = tree
    fn.arg_writes = []
    fn.writes_in_place = lw.heap.writes > 0
    if arg_writes:
        for i, (n, p) in enumerate(zip(names, bound)):
            final = lw.env.get(ARG + n, p)
            if isinstance(final, Unbound):
                raise UnsupportedSyntaxError(
                    f"srcad cannot tell what the array passed as '{n}' holds when "
                    f"{info.name} returns: {final.reason}", info.loc(info.tree),
                    f"copy it before writing into it ({n} = {n}.copy()), or call a "
                    "derivative (grad, jvp, vjp), which never writes into its arguments")
            if final is not p:
                flat.append(final)
                fn.arg_writes.append(i)
    body.yields = flat
    fn.reads = tuple(lw.reads.values())  # valid while these still hold (snapshot.fresh)
    return fn


def _flatten_result(result, info):
    if isinstance(result, Value):
        return [result], None
    if isinstance(result, TupleV):
        flat = []
        for item in result.items:
            if not isinstance(item, Value):
                raise SrcadTypeError("functions may return numbers or a flat tuple of numbers",
                                     info.loc(info.tree))
            flat.append(item)
        return flat, len(flat)
    raise SrcadTypeError(f"the function returns {type(result).__name__}, not a number",
                         info.loc(info.tree), "return a float or a tuple of floats")


# ----------------------------------------------------------------------------- AST scans

def assigned_names(stmts) -> list[str]:
    """Names assigned anywhere in ``stmts`` (in order of first assignment)."""
    seen: dict[str, None] = {}

    def targets(t):
        if isinstance(t, ast.Name):
            seen.setdefault(t.id)
        elif isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name):
            seen.setdefault(t.value.id)  # x[i] = v makes a new version of x
        elif isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts:
                targets(e)

    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    targets(t)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)):
                targets(node.target)
    return list(seen)


def _contains(stmts, kinds, stop_at_loops: bool) -> bool:
    todo = list(stmts)
    while todo:
        node = todo.pop()
        if isinstance(node, kinds):
            return True
        if stop_at_loops and isinstance(node, (ast.For, ast.While)):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return False


# ----------------------------------------------------------------------------- lowering

_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
           ast.FloorDiv: "floordiv", ast.Mod: "mod"}
_UFUNCS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide",
           ast.Pow: "power", ast.FloorDiv: "floor_divide", ast.Mod: "remainder"}
_AUG_TEXT = {ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*=", ast.Div: "/=", ast.Pow: "**=",
             ast.FloorDiv: "//=", ast.Mod: "%=", ast.MatMult: "@="}
_CMPOPS = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.Eq: "eq",
           ast.NotEq: "ne"}


class Lowerer:
    def __init__(self, info: FuncInfo, b: Builder, call_stack: tuple, parent=None):
        self.info = info
        self.b = b
        self.call_stack = call_stack
        self.env: dict[str, object] = {}
        self.node: ast.AST = info.tree
        self.parent: Lowerer | None = parent  # the caller, for inlined functions
        self.heap: Heap = parent.heap if parent is not None else Heap()
        # globals, cells and attributes folded into the IR (frontend/snapshot.py)
        self.reads: dict = parent.reads if parent is not None else {}

    def chain(self):
        lw = self
        while lw is not None:
            yield lw
            lw = lw.parent

    # -- arrays in memory ------------------------------------------------------------------

    def view(self, v: Value, base: Value) -> Value:
        """Record that v looks into base's memory (NumPy view semantics)."""
        if v is not base and v.type.ndim:
            self.heap.views[v] = self.heap.views.get(base) or self.heap.root(base)
        return v

    def forward(self, old: Value, new: Value, line: int, name: str | None = None) -> None:
        """After a write old -> new: rebind every name (in this function and its callers) bound
        to old, and make names bound to views of the buffer stale.  When old is one of several
        arrays depending on the path taken (``Heap.mixed``), names bound to the others may or
        may not see the write: they become stale too."""
        root = self.heap.root(old)
        heap = self.heap
        maybe = heap.mixed.get(old, frozenset())
        written = name or old.name

        def repl(v, n):
            if v is old:
                return new
            if isinstance(v, TupleV):
                return TupleV(tuple(repl(i, n) for i in v.items))
            if not isinstance(v, Value):
                return v
            if heap.views.get(v) is root:
                return Stale(f"it is a view (slice, row, transpose, reshape) of an array that "
                             f"was written at line {line}, and srcad does not track views")
            if maybe and v.type.ndim and (heap.root(v) in maybe or heap.views.get(v) in maybe
                                          or heap.mixed.get(v, frozenset()) & maybe):
                return MaybeWritten(
                    f"it may be the same array as '{written}' (that depends on the path "
                    f"taken: a branch, a loop that may run no iteration, or what an earlier "
                    f"iteration left), and line {line} "
                    f"wrote into '{written}'; srcad cannot tell whether that write changed "
                    + (f"the array passed as '{n[len(ARG):]}'" if n.startswith(ARG) else f"'{n}'"))
            return v
        for lw in self.chain():
            for n, v in list(lw.env.items()):
                lw.env[n] = repl(v, n)

    def store(self, target: ast.Subscript, value, node, aug_op=None) -> None:
        """``x[idx] = value`` (or ``x[idx] <op>= value``) as a new version of x."""
        from .arrays import index_spec
        if not isinstance(target.value, ast.Name):
            raise self.unsupported("srcad writes into named arrays only (x[i] = v, "
                                   "x[i, j] = v, x[a:b] = v)", target,
                                   "write x[i, j] = v instead of x[i][j] = v")
        name = target.value.id
        x = self.load(name, target.value)
        if not (isinstance(x, Value) and x.type.ndim):
            raise self.unsupported(f"'{name}' is not an array: only arrays can be written "
                                   "into", target)
        self.check_writable(name, x, target)
        spec, idx = index_spec(self, x, target.slice, target)
        if aug_op is not None:
            cur = (self.b.emit("getitem", x, *idx) if all(s == "i" for s in spec) else
                   self.b.emit("take", x, *idx, spec=spec))
            value = self.binop(aug_op, cur, value, node)
        self.write(name, x, spec, idx, value, node)

    def check_writable(self, name: str, x: Value, node) -> None:
        if x in self.heap.views:
            raise self.unsupported(
                f"'{name}' is a view of another array (a slice, row, transpose or reshape); "
                "srcad does not support writing through views", node,
                f"write into the original array, or make a copy first: {name} = "
                f"{name}.copy()")

    def aug_array(self, name: str, x: Value, op, value, node) -> None:
        """``x <op>= value`` on an array: NumPy computes into x's own buffer (every name bound
        to that array sees it), casting the result to x's dtype by the 'same_kind' rule."""
        self.check_writable(name, x, node)
        if isinstance(op, ast.MatMult):
            raise SrcadTypeError("NumPy does not support in-place matrix multiplication "
                                 f"({name} @= ...): Python raises TypeError", self.loc(node),
                                 f"write {name} = {name} @ ...")
        new = self.binop(op, x, value, node)
        src, dst = new.type.dtype, x.type.dtype
        if (new.type.is_float and not x.type.is_float) or (src == "i64" and dst == "bool"):
            ufunc = _UFUNCS.get(type(op), type(op).__name__)
            raise SrcadTypeError(
                f"'{name} {_AUG_TEXT.get(type(op), '?=')} ...' cannot store the {src} result "
                f"of '{ufunc}' in '{name}', a {dst} array (NumPy's 'same_kind' casting rule "
                "refuses it: Python raises UFuncTypeError)", self.loc(node),
                f"write {name} = {name} {_AUG_TEXT.get(type(op), '?=')[:-1]} ... to make a new "
                f"array, or start from a float array")
        if new.type.ndim > x.type.ndim:
            raise SrcadValueError(
                f"'{name}' is a {x.type.ndim}-d array and the right side makes a "
                f"{new.type.ndim}-d result: NumPy cannot store it in place (non-broadcastable "
                "output operand)", self.loc(node), f"write {name} = {name} "
                f"{_AUG_TEXT.get(type(op), '?=')[:-1]} ... to make a new array")
        if new.type.dtype != dst:
            new = self.b.convert(new, to=dst)
        if isinstance(value, Value) and value.type.ndim:  # it may broadcast beyond x
            loc = self.loc(node)
            new = self.b.fits(new, x, loc=(loc.filename, loc.line, loc.col))
        # In the IR (arrays are values) the new contents are the array's new version; the
        # heap makes every name bound to x's array see it, as a write into x's memory would.
        new.name = name
        self.new_version(x, new, node, name)

    def write(self, name: str, x: Value, spec: tuple, idx: list[Value], value, node) -> None:
        """``x[spec/idx] = value`` as a new version of x, seen by every name bound to x."""
        from ..primitives.registry import convert
        v = self.as_value(value, node)
        out_ndim = x.type.ndim - spec.count("i")
        if v.type.ndim > out_ndim:
            raise SrcadTypeError(f"cannot write a {v.type.ndim}-d value into a {out_ndim}-d "
                                 f"part of '{name}'", self.loc(node))
        if v.type.dtype != x.type.dtype:
            v = convert(self.b, v, x.type.dtype)
        self.new_version(x, self.b.emit("put", x, v, *idx, spec=spec, name=name), node, name)

    def new_version(self, x: Value, new: Value, node, name: str) -> None:
        """``new`` is x's array after a write into it in place."""
        self.heap.writes += 1
        self.heap.roots[new] = self.heap.root(x)
        if x in self.heap.mixed:
            self.heap.mixed[new] = self.heap.mixed[x]
        self.forward(x, new, self.loc(node).line, name)

    # -- errors and locations -------------------------------------------------------------

    def loc(self, node=None):
        return self.info.loc(node if node is not None else self.node)

    def unsupported(self, what: str, node, hint: str | None = None):
        return UnsupportedSyntaxError(what, self.loc(node), hint)

    def at(self, node):
        """Set the current node (for error locations and op provenance)."""
        self.node = node
        self.b.loc = self.loc(node)

    # -- body ------------------------------------------------------------------------------

    def lower_body(self):
        self.env.update({RET: False, BRK: False, CONT: False})
        self.block(self.info.tree.body)
        ret = self.env[RET]
        if self.parent is not None and (ret is False or not isinstance(self.env.get(RETV),
                                                                      (Value, TupleV))):
            return None  # an inlined procedure (e.g. one that writes into its arguments)
        if ret is False:
            raise SrcadTypeError(f"{self.info.name} does not return a value",
                                 self.loc(self.info.tree), "add a return statement")
        if ret is not True:
            raise SrcadTypeError(f"{self.info.name} may reach its end without returning a value",
                                 self.loc(self.info.tree),
                                 "add a return statement at the end of the function")
        return self.env[RETV]

    def block(self, stmts) -> None:
        for k, stmt in enumerate(stmts):
            self.stmt(stmt)
            exited = self.exited()
            if exited is True:
                return
            if exited is not False:
                rest = stmts[k + 1:]
                if rest:
                    self.at(rest[0])
                    self.branch_if(self.b.not_(exited), lambda: self.still_running(rest),
                                   self.has_exited)
                return

    def has_exited(self) -> None:
        """In the branch where control has left the block: if one flag alone could have been
        set, it is known True here."""
        dyn = [f for f in FLAGS if self.env.get(f, False) is not False]
        if len(dyn) == 1:
            self.env[dyn[0]] = True

    def still_running(self, stmts) -> None:
        """Lower ``stmts`` in the branch where no flag is set (so the flags are known False)."""
        for f in FLAGS:
            self.env[f] = False
        self.block(stmts)

    def exited(self):
        """True / False if statically known, else a bool Value: did control leave the block?"""
        dyn = []
        for f in FLAGS:
            v = self.env.get(f, False)
            if v is True:
                return True
            if v is not False:
                dyn.append(v)
        if not dyn:
            return False
        acc = dyn[0]
        for v in dyn[1:]:
            acc = self.b.or_(acc, v)
        return acc

    # -- statements ------------------------------------------------------------------------

    def stmt(self, node) -> None:
        self.at(node)
        method = getattr(self, "stmt_" + type(node).__name__, None)
        if method is None:
            raise self.unsupported(f"srcad does not support {type(node).__name__} statements",
                                   node)
        method(node)

    def stmt_Pass(self, node):
        pass

    def stmt_Expr(self, node):
        if isinstance(node.value, ast.Constant):
            return  # docstring or bare literal
        self.expr(node.value)

    def stmt_Assign(self, node):
        value = self.expr(node.value)
        for target in node.targets:
            self.assign(target, value)

    def stmt_AnnAssign(self, node):
        if node.value is None:
            return
        self.assign(node.target, self.expr(node.value))

    def stmt_AugAssign(self, node):
        if isinstance(node.target, ast.Subscript):
            self.store(node.target, self.expr(node.value), node, aug_op=node.op)
            return
        if not isinstance(node.target, ast.Name):
            raise self.unsupported("augmented assignment to this target is not supported yet",
                                   node.target)
        cur = self.load(node.target.id, node.target)
        value = self.expr(node.value)
        if isinstance(cur, Value) and cur.type.ndim:  # in place, seen through every alias
            self.aug_array(node.target.id, cur, node.op, value, node)
            return
        self.assign(node.target, self.binop(node.op, cur, value, node))

    def assign(self, target, value) -> None:
        if isinstance(target, ast.Name):
            if isinstance(value, Value) and value.name is None and not value.is_const:
                value.name = target.id
            self.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = self.unpack(value, len(target.elts), target)
            for t, v in zip(target.elts, items):
                self.assign(t, v)
        elif isinstance(target, ast.Subscript):
            self.store(target, value, target)
        else:
            raise self.unsupported(f"cannot assign to {type(target).__name__}", target)

    def unpack(self, value, n: int, node):
        if not isinstance(value, TupleV):
            raise SrcadTypeError("cannot unpack a non-tuple value", self.loc(node))
        if len(value.items) != n:
            raise SrcadTypeError(f"cannot unpack {len(value.items)} values into {n} names",
                                 self.loc(node))
        return value.items

    def stmt_Return(self, node):
        value = self.expr(node.value) if node.value is not None else None
        if value is None and self.parent is not None:  # a helper's bare return: None
            self.env[RETV] = NO_VALUE
            self.env[RET] = True
            return
        if value is None or not isinstance(value, (Value, TupleV)):
            raise SrcadTypeError("srcad functions must return numbers", self.loc(node),
                                 "return a float or a tuple of floats")
        self.env[RETV] = value
        self.env[RET] = True

    def stmt_Break(self, node):
        self.env[BRK] = True

    def stmt_Continue(self, node):
        self.env[CONT] = True

    def stmt_If(self, node):
        cond = self.truth(self.expr(node.test), node.test)
        self.branch_if(cond, lambda: self.block(node.body), lambda: self.block(node.orelse))

    # -- if --------------------------------------------------------------------------------

    def in_region(self, fn) -> tuple[Region, dict, dict]:
        """Run ``fn`` with a fresh region and a copy of the environment.  Returns the region,
        the environment at its end, and the callers' names (of an inlined helper) that the
        region changed (writes into their arrays), as {(caller, name): value at the end}."""
        region = Region()
        saved_b, saved_env = self.b, self.env
        callers = [(lw, dict(lw.env)) for lw in self.chain() if lw is not self]
        self.b = Builder(region, saved_b.loc)
        self.env = dict(saved_env)
        try:
            fn()
            changed = {(lw, n): v for lw, env in callers for n, v in lw.env.items()
                       if env.get(n) is not v}
            return region, self.env, changed
        finally:
            self.b, self.env = saved_b, saved_env
            for lw, env in callers:  # writes inside the region were forwarded into them
                stale = {n: v for n, v in lw.env.items()
                         if isinstance(v, Stale) and isinstance(env.get(n), Value)}
                lw.env = env
                lw.env.update(stale)  # a write in the region may have changed them

    def branch_if(self, cond: Value, then_fn, else_fn) -> None:
        """Lower an if statement (both branches update the environment)."""
        if cond.is_const:
            (then_fn if cond.const else else_fn)()
            return
        node = self.node
        then = self.in_region(then_fn)
        self.at(node)
        orelse = self.in_region(else_fn)
        self.at(node)
        self.env = self.merge(cond, [then, orelse], node)

    def if_expr(self, cond: Value, then_fn, else_fn):
        """Lower ``a if c else b`` (functions return the branch values)."""
        key = ".expr"
        if cond.is_const:
            return then_fn() if cond.const else else_fn()

        def wrap(f):
            def run():
                value = f()  # (may replace self.env: an if inside the expression)
                self.env[key] = value
            return run
        node = self.node
        then = self.in_region(wrap(then_fn))
        orelse = self.in_region(wrap(else_fn))
        self.at(node)
        self.env = self.merge(cond, [then, orelse], node)  # (a helper may write arrays)
        return self.env.pop(key)

    def merge(self, cond: Value, branches, node) -> dict:
        """The environment after an if: each name bound differently in the branches (and
        each caller's name a branch changed, by writing into its array) becomes a result of
        the if op.  ``branches``: (region, environment, changed callers' names) of each."""
        env0 = self.env
        merged = dict(env0)
        names = list(dict.fromkeys(n for _, env, _ in branches for n in env))
        slots: list[tuple[str, list]] = []  # name, per-branch structured values
        exited = [any(env.get(f) is True for f in FLAGS) for _, env, _ in branches]
        for key in dict.fromkeys(k for _, _, changed in branches for k in changed):
            lw, n = key
            vals = [changed.get(key, lw.env.get(n)) for _, _, changed in branches]
            stale = [v for v in vals if isinstance(v, Unbound)]
            if stale:
                lw.env[n] = stale[0]
            elif all(v is vals[0] for v in vals):
                lw.env[n] = vals[0]
            elif all(isinstance(v, (Value, TupleV)) for v in vals):
                slots.append((key, vals))
        for name in names:
            vals = [env.get(name, _MISSING) for _, env, _ in branches]
            if all(v is vals[0] for v in vals):
                merged[name] = vals[0]
                continue
            if name in FLAGS:
                vals = [False if isinstance(v, Unbound) else v for v in vals]
                if all(v is True for v in vals) or all(v is False for v in vals):
                    merged[name] = vals[0]
                    continue
                vals = [self.const_in(r, v) if isinstance(v, bool) else v
                        for (r, _, _), v in zip(branches, vals)]
            if any(isinstance(v, Unbound) for v in vals):
                vals = [v.fallback if isinstance(v, Unbound) and v.fallback is not None else v
                        for v in vals]
            if any(isinstance(v, Unbound) for v in vals):
                bound = [v for v in vals if not isinstance(v, Unbound)]
                # a branch that has left the block (return/break/continue) never reads the
                # name again: a placeholder stands in for it there (not for an argument's
                # array, which the caller sees after a return)
                if bound and (name == RETV or not name.startswith(ARG) and all(
                        ex or not isinstance(v, Unbound) for v, ex in zip(vals, exited))):
                    if not isinstance(bound[0], (Value, TupleV)):
                        if all(v is bound[0] for v in bound):
                            merged[name] = bound[0]
                            continue
                    else:
                        vals = [self.zeros_in(r, bound[0]) if isinstance(v, Unbound) else v
                                for (r, _, _), v in zip(branches, vals)]
                if any(isinstance(v, Unbound) for v in vals):
                    stale = [v for v in vals if isinstance(v, Stale)]
                    merged[name] = stale[0] if stale else Unbound(
                        f"'{name}' is assigned only in some branches of the if statement at "
                        f"line {self.loc(node).line}")
                    continue
            if not all(isinstance(v, (Value, TupleV)) for v in vals):
                if all(v is vals[0] for v in vals):
                    merged[name] = vals[0]
                    continue
                if name == RETV:
                    raise SrcadTypeError(f"{self.info.name} returns a value on some paths and "
                                         "None on others", self.loc(node),
                                         "return a number on every path")
                raise SrcadTypeError(f"'{name}' refers to different kinds of objects in the "
                                     "branches", self.loc(node))
            slots.append((name, vals))
        if not slots:
            return merged
        # Flatten structures; each leaf becomes one result of the if op.
        leaves: list[list[Value]] = []
        trees = []
        for name, vals in slots:
            text = name if isinstance(name, str) else name[1]
            flat = [self._flatten(v, text, node) for v in vals]
            shape = [len(f) if isinstance(vals[0], TupleV) else None for f in flat]
            if len(set(shape)) != 1:
                raise SrcadTypeError(f"'{text}' has different tuple sizes in the branches",
                                     self.loc(node))
            trees.append((name, shape[0]))
            for k in range(len(flat[0])):
                leaves.append([f[k] for f in flat])
        # Names bound to the same values in every branch (aliases of one array) share a result.
        unique = list(dict.fromkeys(tuple(leaf) for leaf in leaves))
        out_types = [promote(*(v.type for v in leaf)) for leaf in unique]
        for bi, (region, _, _) in enumerate(branches):
            b = Builder(region, self.b.loc)
            region.yields = [self.coerce(b, leaf[bi], t) for leaf, t in zip(unique, out_types)]
        by_leaf = {}
        for leaf, t in zip(unique, out_types):
            nm = leaf[0].name if all(v.name == leaf[0].name for v in leaf) else None
            by_leaf[leaf] = Value(t, nm)
        outs = [by_leaf[tuple(leaf)] for leaf in leaves]
        self.b.append(Op("if", [cond], list(by_leaf.values()), {},
                         [r for r, _, _ in branches]))
        for leaf, out in by_leaf.items():
            self.track(leaf, out)
        k = 0
        for name, size in trees:
            value = outs[k] if size is None else TupleV(tuple(outs[k:k + size]))
            k += 1 if size is None else size
            if isinstance(name, str):
                merged[name] = value
            else:  # a caller's name: the array as the branch taken left it
                name[0].env[name[1]] = value
        return merged

    def track(self, sources, out: Value) -> None:
        """out is one of ``sources`` (the results of a merge or a loop): it shares their
        buffer if they all share one, and is a view if one of them is."""
        heap = self.heap
        roots = {heap.root(v) for v in sources}
        if len(roots) == 1:
            heap.roots[out] = roots.pop()
        else:
            heap.mixed[out] = frozenset(roots).union(*(heap.mixed.get(v, ()) for v in sources))
        for v in sources:
            if v in heap.views:
                heap.views[out] = heap.views[v]

    def forward_callers(self, old, new) -> None:
        """old -> new is a new version of the same buffer: the callers' names see it too."""
        if (self.parent is None or not isinstance(old, Value) or not isinstance(new, Value)
                or not old.type.ndim or old is new or
                self.heap.root(old) is not self.heap.root(new)):
            return
        line = self.loc().line
        parent = self.parent
        parent.forward(old, new, line)

    def _flatten(self, v, name, node) -> list[Value]:
        if isinstance(v, Value):
            return [v]
        out = []
        for item in v.items:
            if not isinstance(item, Value):
                raise SrcadTypeError(f"'{name}' holds a nested tuple, which cannot be carried "
                                     "through control flow", self.loc(node))
            out.append(item)
        return out

    def coerce(self, b: Builder, v: Value, t: Type) -> Value:
        if v.type == t:
            return v
        if v.type.ndim != t.ndim:
            raise SrcadTypeError(f"a variable is a {v.type} on one path and a {t} on another",
                                 self.loc(), "give it the same rank on every path (e.g. "
                                 "start from np.zeros(...) instead of 0.0)")
        return b.convert(v, to=t.dtype)

    def const_in(self, region: Region, value) -> Value:
        return Builder(region, self.b.loc).const(value)

    def zeros_in(self, region: Region, proto):
        """A placeholder of proto's type (never read: it stands for 'not assigned yet')."""
        b = Builder(region, self.b.loc)

        def zero(v: Value) -> Value:
            if v.type.ndim:  # an empty array of the right rank
                return b.zeros(*[b.const(0)] * v.type.ndim, dtype=v.type.dtype)
            return b.const(0, v.type)
        if isinstance(proto, TupleV):
            return TupleV(tuple(zero(v) for v in proto.items))
        return zero(proto)

    # -- loops -----------------------------------------------------------------------------

    def stmt_For(self, node):
        it = node.iter
        every = None
        if isinstance(it, ast.Call):
            callee = self.expr(it.func)
            if callee is checkpoint:
                every = self.checkpoint_arg(it)
                it = it.args[0]
        if not (isinstance(it, ast.Call) and self.expr(it.func) is range):
            raise self.unsupported("srcad loops over range(...) only", node.iter,
                                   "write `for i in range(len(x))` and index explicitly")
        if not isinstance(node.target, ast.Name):
            raise self.unsupported("the loop variable must be a single name", node.target)
        rargs = [self.int_value(self.expr(a), a) for a in it.args]
        if it.keywords or not 1 <= len(rargs) <= 3:
            raise self.unsupported("range takes 1 to 3 positional arguments", it)
        start, stop, step = (
            (self.b.const(0), rargs[0], self.b.const(1)) if len(rargs) == 1 else
            (rargs[0], rargs[1], self.b.const(1)) if len(rargs) == 2 else tuple(rargs))
        if step.is_const and step.const == 0:
            raise SrcadTypeError("range() step must not be zero", self.loc(it))
        if _contains(node.body, (ast.Break,), True) or _contains(node.body, (ast.Return,), False):
            if every is not None:
                raise self.unsupported("a checkpointed loop cannot contain break or return",
                                       node)
            self.for_as_while(node, start, stop, step)
            return
        target = node.target.id

        def setup(params, env):
            env[target] = params[0]

        self.loop(node, "for", node.body, setup, head=[start, stop, step],
                  params={"checkpoint": every} if every is not None else {})

    def checkpoint_arg(self, call: ast.Call):
        if len(call.args) != 1:
            raise self.unsupported("srcad.checkpoint takes one range(...) argument", call)
        every = 0
        for kw in call.keywords:
            if kw.arg != "every":
                raise self.unsupported(f"unknown argument {kw.arg!r} to srcad.checkpoint", kw)
            v = self.expr(kw.value)
            if not (isinstance(v, Value) and v.is_const and v.type == I64):
                raise self.unsupported("srcad.checkpoint(every=...) must be an int literal", kw)
            every = v.const
        return every  # 0: sqrt(n) segments

    def stmt_While(self, node):
        def cond(env):
            return self.truth(self.expr(node.test), node.test)
        self.loop(node, "while", node.body, None, cond=cond)
        test = node.test
        if (isinstance(test, ast.Constant) and test.value and
                not _contains(node.body, (ast.Break,), True)):
            # `while True:` without break is left only through return
            self.env[RET] = True

    def for_as_while(self, node, start, stop, step):
        """``for`` with break/return: a while over an internal counter ``.k``."""
        target = node.target.id
        k = f".k.{node.lineno}.{node.col_offset}"  # one counter per loop (they may nest)
        self.env[k] = start

        def cond(env):
            kk = env[k]
            if step.is_const:
                return self.b.lt(kk, stop) if step.const > 0 else self.b.gt(kk, stop)
            up = self.b.and_(self.b.gt(step, self.b.const(0)), self.b.lt(kk, stop))
            down = self.b.and_(self.b.lt(step, self.b.const(0)), self.b.gt(kk, stop))
            return self.b.or_(up, down)

        def setup(params, env):
            env[target] = env[k]
            env[k] = self.b.add(env[k], step)

        self.loop(node, "while", node.body, setup, cond=cond, extra=[k, target])
        del self.env[k]

    def loop(self, node, kind: str, body_stmts, setup, *, head=(), cond=None, params=None,
             extra=()):
        """Lower a loop.  Names assigned in the body become carried values; a name first
        assigned in the body is carried from a zero of its type and is unbound at body start.
        Names bound to one array share one carry (they alias: a write through one is seen
        through the others)."""
        has_break = _contains(body_stmts, (ast.Break,), True)
        has_return = _contains(body_stmts, (ast.Return,), False)
        outer_flags = {f: self.env.get(f, False) for f in (BRK, CONT)}
        self.env[BRK] = False
        self.env[CONT] = False
        names = list(extra) + assigned_names(body_stmts)
        if kind == "for" and isinstance(node.target, ast.Name):
            names.insert(0, node.target.id)
        if has_break:
            names.append(BRK)
        if has_return:
            names += [RET, RETV]
        names = list(dict.fromkeys(names))
        carried: dict[str, object] = {}
        fresh: set[str] = set()
        # Names bound to one array share a carry, unless the body writes into no array: then
        # rebinding one name (h = h0; for ...: h = f(h)) leaves the others as they were.
        independent = False
        for n in names:
            v = self.env.get(n, _MISSING)
            if isinstance(v, bool):
                v = self.b.const(v)
            if isinstance(v, (Value, TupleV)):
                carried[n] = v
        # carries the body leaves as a view or as one of several arrays: (view root, roots);
        # roots made in the body count as one, ``inner``
        body_makes: dict[str, tuple] = {}
        before, inner = mark(), Value(BOOL, "loop body")
        for _attempt in range(8):
            leaves, trees = [], []
            for n, v in carried.items():
                flat = self._flatten(v, n, node)
                trees.append((n, len(flat) if isinstance(v, TupleV) else None))
                leaves += flat
            # one carry per distinct array (aliases share it)
            slot: list[int] = []
            uniq: list[int] = []  # leaf index of each carry's first leaf
            for i, v in enumerate(leaves):
                j = next((k for k, u in enumerate(uniq) if leaves[u] is v and v.type.ndim
                          and not independent), None)
                if j is None:
                    uniq.append(i)
                    j = len(uniq) - 1
                slot.append(j)
            aliases = {} if independent else {
                n: m for n, v in self.env.items() if n not in carried
                and isinstance(v, Value) and v.type.ndim
                for m, c in carried.items() if c is v}
            changed = False
            region = Region()
            index = Value(I64, node.target.id if kind == "for" else "k") if kind == "for" else None
            leaf_names = list(self._leaf_names(trees))
            region.params = ([index] if index is not None else []) + [
                Value(leaves[i].type, _carry_name(leaf_names[i][0])) for i in uniq]
            carry_params = region.params[1:] if index is not None else region.params
            for i, p in zip(uniq, carry_params):
                if leaves[i] in self.heap.views:
                    self.heap.views[p] = self.heap.views[leaves[i]]
                if leaves[i] in self.heap.mixed:  # one of several arrays, by the path taken
                    self.heap.mixed[p] = self.heap.mixed[leaves[i]]
                if leaves[i].type.ndim:
                    self.heap.roots[p] = self.heap.root(leaves[i])
                # what the body leaves in the carry the next iteration starts with
                later = body_makes.get(leaf_names[i][0])
                if later is not None:
                    view, mixed = later
                    if view is not None:
                        self.heap.views.setdefault(p, view)
                    if mixed:
                        self.heap.mixed[p] = self.heap.mixed.get(p, frozenset()) | mixed | {
                            self.heap.root(leaves[i])}

            def bind(env, values):
                k = 0
                for n, size in trees:
                    vals = [values[slot[i]] for i in range(k, k + (size or 1))]
                    val = vals[0] if size is None else TupleV(tuple(vals))
                    k += 1 if size is None else size
                    env[n] = Unbound(f"'{n}' is used before assignment in the loop body",
                                     val) if n in fresh else val
                for n, m in aliases.items():
                    env[n] = env[m]

            cond_region = None
            if cond is not None:
                cond_region = Region(params=[Value(p.type, p.name) for p in carry_params])

                def lower_cond():
                    bind(self.env, cond_region.params)
                    for n in fresh:
                        self.env[n] = self.env[n].fallback
                    c = self.truth(cond(self.env), node)
                    for f, v in ((BRK, self.env.get(BRK)), (RET, self.env.get(RET))):
                        if isinstance(v, Value):
                            c = self.b.and_(self.b.not_(v), c)
                    self.env[".cond"] = c
                cr, cenv, _ = self.in_region(lower_cond)
                cond_region.ops = cr.ops
                cond_region.yields = [cenv[".cond"]]

            start: dict[str, object] = {}
            # names of the callers (of an inlined helper) bound to a carried array: they see
            # the body's writes into it, as long as the carry stays that array
            in_callers = [(lw, n, j) for lw in self.chain() if lw is not self
                          for n, v in lw.env.items() if isinstance(v, Value) and v.type.ndim
                          for j, i in enumerate(uniq) if v is leaves[i]]
            callers_end: dict[tuple, object] = {}

            def lower_body():
                bind(self.env, carry_params)
                start.update(self.env)
                for lw, n, j in in_callers:
                    lw.env[n] = carry_params[j]
                # The loop condition tested the flags: inside the body none is set.
                self.env.update({CONT: False, BRK: False, RET: False})
                if setup is not None:
                    setup(region.params, self.env)
                self.block(body_stmts)
                for lw, n, j in in_callers:
                    callers_end[id(lw), n] = lw.env.get(n)
            writes = self.heap.writes
            r, env_end, _ = self.in_region(lower_body)
            wrote = self.heap.writes != writes  # the body writes into an array in place
            self.at(node)
            region.ops = r.ops
            ends = []
            for n, size in trees:
                end = env_end.get(n, _MISSING)
                if isinstance(end, Unbound) and not isinstance(end, Stale):
                    end = end.fallback
                if isinstance(end, bool):
                    end = Builder(region, self.b.loc).const(end)
                if isinstance(end, Stale):  # the next iteration would read it
                    raise self.unsupported(f"'{n}' cannot be carried to the next iteration of "
                                           f"this loop: {end.reason}", node,
                                           end.hint.format(name=n))
                if end is None:
                    raise SrcadNameError(f"'{n}' is not bound at the end of the loop body",
                                         self.loc(node))
                flat = self._flatten(end, n, node)
                if len(flat) != (1 if size is None else size):
                    raise SrcadTypeError(f"'{n}' changes tuple size in the loop", self.loc(node))
                ends += flat
            yields = [ends[i] for i in uniq]
            # names that share a carry but part in the body: (name, name, copy to suggest)
            parted = [(n, m, f"{n} = {m}.copy()") for n, m in aliases.items()
                      if env_end.get(n) is not env_end.get(m)]
            # An argument's own array parts from the name bound to it.  If the body never
            # writes into it, it stays what it was before the loop; if it does, what the
            # caller's array holds at the end is not tracked (only the primal call needs it).
            lost = {n: m for n, m, _ in parted if n.startswith(ARG) and wrote and
                    env_end.get(n) is not start.get(n)}
            kept = {n for n, _, _ in parted if n.startswith(ARG) and n not in lost}
            parted = [p for p in parted if not p[0].startswith(ARG)]
            for n in kept:
                del aliases[n]
            parted += [(leaf_names[i][0], leaf_names[uniq[j]][0], "y = x.copy()")
                       for i, j in enumerate(slot) if ends[i] is not yields[j]]
            if parted and not wrote:
                independent = True
                continue
            if parted:
                n, m, copy = parted[0]
                raise self.unsupported(
                    f"'{n}' and '{m}' refer to the same array when the loop starts but not "
                    "at the end of its body; srcad does not track this aliasing", node,
                    f"make one of them a copy before the loop ({copy})")
            for n, v in self.env.items():  # written through a call (a helper's argument)
                if (n not in carried and n not in aliases and not n.startswith(ARG) and
                        isinstance(v, Value) and
                        v.type.ndim and isinstance(env_end.get(n), Value) and
                        env_end[n] is not v):
                    carried[n] = v
                    changed = True
            own = [set() for _ in uniq]  # the names of each carry (its leaves and aliases)
            for i, j in enumerate(slot):
                own[j].add(leaf_names[i][0])
            for n, m in aliases.items():
                own[next(j for i, j in enumerate(slot) if leaf_names[i][0] == m)].add(n)
            for j, (p, y) in enumerate(zip(carry_params, yields)):
                view, roots = self.heap.views.get(y), self.heap.mixed.get(y, frozenset())
                if p.type.ndim and wrote:
                    # a name that ends the body bound to this carry's array without being
                    # one of its names (b = v1): the next iteration may write through one
                    # into the other
                    for n, v in env_end.items():
                        if v is y and n not in own[j] and not n.startswith(ARG):
                            k = next((k for k in range(len(uniq)) if n in own[k]), None)
                            start = self.env.get(n) if k is None else leaves[uniq[k]]
                            if isinstance(start, Value):
                                roots = roots | {self.heap.root(start), self.heap.root(p)}
                if p.type.ndim and (view is not None or roots):  # the next iteration's start
                    key = leaf_names[uniq[j]][0]
                    made = (None if view is None else view if view.id < before else inner,
                            frozenset(v if v.id < before else inner for v in roots))
                    old = body_makes.get(key, (None, frozenset()))
                    new = (old[0] or made[0], old[1] | made[1])
                    if new != old:
                        body_makes[key] = new
                        changed = True
                t = promote(p.type, y.type)
                if t != p.type:
                    changed = True
                    for i in range(len(leaves)):
                        if slot[i] == j:
                            leaves[i] = self.coerce(self.b, leaves[i], t)
            for n in names:
                if n in carried:
                    continue
                end = env_end.get(n, _MISSING)
                if isinstance(end, bool):
                    end = self.b.const(False)
                if isinstance(end, (Value, TupleV)):
                    fresh.add(n)
                    carried[n] = self.zeros_in(self.b.region, end)
                    changed = True
            if changed:
                # rebuild carried from the (possibly promoted) leaves and retry
                k = 0
                for n, size in trees:
                    carried[n] = leaves[k] if size is None else TupleV(tuple(leaves[k:k + size]))
                    k += 1 if size is None else size
                continue
            bld = Builder(region, self.b.loc)
            region.yields = [self.coerce(bld, y, p.type) for p, y in zip(carry_params, yields)]
            outs = [Value(p.type, p.name) for p in carry_params]
            regions = [cond_region, region] if kind == "while" else [region]
            self.b.append(Op(kind, list(head) + [leaves[i] for i in uniq], outs, params or {},
                             regions))
            runs = _runs_once(head)
            for i, p, y, o in zip(uniq, carry_params, region.yields, outs):
                if o.type.ndim:  # (with no iteration, the result is the initial array)
                    self.track([leaves[i], y] if self.heap.root(y) is self.heap.root(p)
                               or not runs else [y], o)
            k = 0
            for n, size in trees:
                vals = [outs[slot[i]] for i in range(k, k + (size or 1))]
                self.env[n] = vals[0] if size is None else TupleV(tuple(vals))
                k += 1 if size is None else size
            for n, m in aliases.items():
                self.env[n] = self.env[m] if n not in lost else Untracked(
                    f"the loop at line {self.loc(node).line} writes into it through "
                    f"'{lost[n]}' and then rebinds '{lost[n]}' to another array")
            for i, o in zip(uniq, outs):
                self.forward_callers(leaves[i], o)
            for lw, n, j in in_callers:
                end = callers_end.get((id(lw), n))
                if end is not carry_params[j] and end is not yields[j]:
                    # written in some iteration, then the carry became another array
                    lw.env[n] = end if isinstance(end, Stale) else Untracked(
                        f"the loop at line {self.loc(node).line} writes into it and then "
                        "makes the name it wrote through another array; srcad cannot tell "
                        "which iterations' writes reached it")
            for n, v in env_end.items():  # made stale by a write in the body: stays so
                if isinstance(v, Stale) and isinstance(self.env.get(n), Value):
                    self.env[n] = v
            break
        else:
            raise SrcadTypeError("could not settle the types of loop-carried variables",
                                 self.loc(node))
        self.env[BRK] = outer_flags[BRK]
        self.env[CONT] = outer_flags[CONT]
        if RET in carried:
            ret = self.env[RET]
            if isinstance(ret, Value) and ret.is_const:
                self.env[RET] = ret.const

    @staticmethod
    def _leaf_names(trees):
        for n, size in trees:
            for _ in range(1 if size is None else size):
                yield n, size

    # -- expressions -----------------------------------------------------------------------

    def expr(self, node):
        saved = self.node
        self.node = node
        try:
            method = getattr(self, "expr_" + type(node).__name__, None)
            if method is None:
                raise self.unsupported(
                    f"srcad does not support {type(node).__name__} expressions", node)
            return method(node)
        finally:
            self.node = saved

    def value(self, node) -> Value:
        """Lower an expression that must be a single number."""
        v = self.expr(node)
        return self.as_value(v, node)

    def as_value(self, v, node) -> Value:
        if isinstance(v, Value):
            return v
        if isinstance(v, (bool, int, float, np.number)) and not isinstance(v, np.datetime64):
            return self.b.const(v)
        raise SrcadTypeError(f"expected a number here, got {type(v).__name__}", self.loc(node))

    def int_value(self, v, node) -> Value:
        v = self.as_value(v, node)
        if v.type.dtype not in ("i64", "bool") or v.type.ndim:
            raise SrcadTypeError(f"expected an integer here, got {v.type}", self.loc(node))
        return self.coerce(self.b, v, I64)

    def truth(self, v, node) -> Value:
        v = self.as_value(v, node)
        if v.type.ndim:
            raise SrcadTypeError("the truth value of an array is ambiguous", self.loc(node),
                                 "use np.any(...) or np.all(...)")
        if v.type == BOOL:
            return v
        return self.b.ne(v, self.b.const(0, v.type))

    def expr_Constant(self, node):
        v = node.value
        if isinstance(v, (bool, int, float)):
            return self.b.const(v)
        if v is None:
            return None
        raise self.unsupported(f"constants of type {type(v).__name__} are not supported", node)

    def expr_Name(self, node):
        return self.load(node.id, node)

    def load(self, name: str, node):
        v = self.env.get(name, _MISSING)
        if isinstance(v, Stale):
            raise self.unsupported(f"'{name}' cannot be used here: {v.reason}", node,
                                   v.hint.format(name=name))
        if isinstance(v, Unbound) and v is not _MISSING:
            raise SrcadNameError(f"'{name}' may be unbound here: {v.reason}", self.loc(node),
                                 "assign it on every path before this use")
        if v is _MISSING:
            try:
                obj, kind, where = self.info.resolve_global(name)
            except KeyError:
                raise SrcadNameError(f"name '{name}' is not defined", self.loc(node)) from None
            if kind != "builtin":
                self.record(kind, where, name, obj, node)
            return self.python_constant(obj)
        return v

    def record(self, kind: str, where, name: str, obj, node) -> None:
        """Note a value from outside the function that the IR depends on (snapshot.py)."""
        if not should_record(kind, where, obj):
            return
        if isinstance(obj, np.ndarray):
            raise self.unsupported(
                f"'{name}' is a NumPy array from outside the function: srcad does not read "
                "those (an array can change in place after compiling)", node,
                "pass the array as an argument")
        read = Read(kind, where, name, obj)
        self.reads.setdefault(read.slot(), read)

    def python_constant(self, obj):
        """Numbers (and tuples of numbers) from globals and closures become constants."""
        if isinstance(obj, (bool, int, float, np.floating, np.integer)):
            return self.b.const(obj)
        if isinstance(obj, tuple) and all(isinstance(o, (bool, int, float)) for o in obj):
            return TupleV(tuple(self.b.const(o) for o in obj))
        return obj

    def expr_Attribute(self, node):
        base = self.expr(node.value)
        if isinstance(base, Value) and base.type.ndim:
            return array_attribute(self, base, node.attr, node)
        if isinstance(base, (Value, TupleV)):
            raise self.unsupported(f"attribute '.{node.attr}' of a number is not supported",
                                   node)
        try:
            obj = getattr(base, node.attr)
        except AttributeError:
            raise SrcadNameError(f"{getattr(base, '__name__', base)!s} has no attribute "
                                 f"'{node.attr}'", self.loc(node)) from None
        self.record("attr", base, node.attr, obj, node)
        if isinstance(obj, (bool, int, float, np.floating, np.integer)):
            return self.b.const(obj)
        return obj

    def expr_Tuple(self, node):
        return TupleV(tuple(self.expr(e) for e in node.elts))

    expr_List = expr_Tuple

    def expr_BinOp(self, node):
        return self.binop(node.op, self.expr(node.left), self.expr(node.right), node)

    def expr_Subscript(self, node):
        base = self.expr(node.value)
        if isinstance(base, TupleV):
            k = self.expr(node.slice)
            if not (isinstance(k, Value) and k.is_const and k.type == I64):
                raise self.unsupported("tuples can only be indexed by an int literal", node)
            return base.items[k.const]
        if not (isinstance(base, Value) and base.type.ndim):
            raise self.unsupported("only arrays and tuples can be indexed", node)
        return subscript(self, base, node.slice, node)

    def binop(self, op, left, right, node) -> Value:
        if isinstance(op, ast.MatMult):
            return CALLS[np.matmul](self, [left, right], {}, node)  # 1-D/2-D dot, 3-D batched
        prim = _BINOPS.get(type(op))
        if prim is None:
            raise self.unsupported(f"operator {type(op).__name__} is not supported", node)
        left, right = self.as_value(left, node), self.as_value(right, node)
        m = mark()
        return self.fresh(self.b.emit(prim, left, right), m)

    def fresh(self, v, m: int):
        """``v`` is an array NumPy has just made (arithmetic, a ufunc, np.where): if srcad
        returned a value it already had (an identity folded away: ``a * 1.0``, ``a + 0.0``,
        ``np.where(c, a, a)``), copy it, so that a write into the new array never reaches the
        old one.  ``m``: the ``mark()`` taken before the op was built."""
        if isinstance(v, Value) and v.type.ndim and v.id < m:
            return self.b.copy(v)
        return v

    def expr_UnaryOp(self, node):
        v = self.expr(node.operand)
        m = mark()
        if isinstance(node.op, ast.USub):
            return self.fresh(self.b.neg(self.as_value(v, node)), m)
        if isinstance(node.op, ast.UAdd):  # +a is a new array in NumPy
            return self.fresh(self.as_value(v, node), m)
        if isinstance(node.op, ast.Not):
            return self.b.not_(self.truth(v, node))
        raise self.unsupported(f"operator {type(node.op).__name__} is not supported", node)

    def expr_Compare(self, node):
        left = self.value(node.left)
        result = None
        for op, comp in zip(node.ops, node.comparators):
            prim = _CMPOPS.get(type(op))
            if prim is None:
                raise self.unsupported(f"comparison {type(op).__name__} is not supported", node)
            right = self.value(comp)
            c = self.b.emit(prim, left, right)
            result = c if result is None else self.b.and_(result, c)
            left = right
        return result

    def expr_BoolOp(self, node):
        is_and = isinstance(node.op, ast.And)

        def lower(values):
            first = self.expr(values[0])
            if not (isinstance(first, Value) and first.type == BOOL):
                raise SrcadTypeError("'and'/'or' operands must be conditions (bools)",
                                     self.loc(values[0]),
                                     "compare explicitly, e.g. `x != 0 and y > 1`")
            if len(values) == 1:
                return first
            rest = values[1:]
            if is_and:
                return self.if_expr(first, lambda: lower(rest), lambda: self.b.const(False))
            return self.if_expr(first, lambda: self.b.const(True), lambda: lower(rest))
        return lower(node.values)

    def expr_IfExp(self, node):
        cond = self.truth(self.expr(node.test), node.test)
        out = self.if_expr(cond, lambda: self.expr(node.body), lambda: self.expr(node.orelse))
        return out

    def expr_Call(self, node):
        callee = self.expr(node.func)
        if callee is np.where and len(node.args) == 3 and not node.keywords:
            cond = self.as_value(self.expr(node.args[0]), node.args[0])
            if cond.type.ndim == 0:
                # On scalars np.where is a real branch: the untaken side is never evaluated,
                # so np.where(x > 0, np.sqrt(x), 0.0) has no NaN in value or derivative.
                out = self.if_expr(self.truth(cond, node), lambda: self.expr(node.args[1]),
                                   lambda: self.expr(node.args[2]))
                # np.where makes a new array: not the one of the branch taken
                return self.b.copy(out) if isinstance(out, Value) and out.type.ndim else out
            args = [cond] + [self.expr(a) for a in node.args[1:]]
            return self.call(callee, args, {}, node)
        args = [self.expr(a) for a in node.args]
        kwargs = {kw.arg: self.expr(kw.value) for kw in node.keywords}
        if None in kwargs:
            raise self.unsupported("**kwargs in calls is not supported", node)
        return self.call(callee, args, kwargs, node)

    def call(self, callee, args, kwargs, node):
        from ..api import Differentiable
        if isinstance(callee, Method):
            m = mark()
            out = call_method(self, callee, args, kwargs, node)
            return out if callee.name in VIEW_METHODS else self.fresh(out, m)
        handler = CALLS.get(callee) if _hashable(callee) else None
        if handler is not None:
            m = mark()
            out = handler(self, args, kwargs, node)
            return out if callee in VIEW_CALLS else self.fresh(out, m)
        if isinstance(callee, Differentiable):
            callee = callee.fn
        if isinstance(callee, types.FunctionType) and callee.__name__ != "<lambda>":
            return self.inline(callee, args, kwargs, node)
        raise no_rule(self, callee, node)

    def inline(self, pyfn, args, kwargs, node):
        if pyfn in self.call_stack:
            raise SrcadRecursionError(
                f"recursive call to {pyfn.__name__} is not supported", self.loc(node),
                "srcad inlines calls; rewrite the recursion as a loop")
        try:
            info = parse_function(pyfn)
        except SrcadError as e:  # no source: say so at the call
            if e.loc is not None:
                raise
            raise UnsupportedCallError(
                f"srcad cannot inline the call to {written_callee(node, pyfn)}: {e.reason}",
                self.loc(node), e.hint) from None
        import inspect
        try:
            bound = inspect.signature(pyfn).bind(*args, **kwargs)
        except TypeError as e:
            raise SrcadTypeError(f"bad call to {pyfn.__name__}: {e}", self.loc(node)) from None
        bound.apply_defaults()
        sub = Lowerer(info, self.b, self.call_stack + (pyfn,), parent=self)
        for name, v in bound.arguments.items():
            if isinstance(v, (bool, int, float)):
                v = self.b.const(v)
            sub.env[name] = v
        loc = self.b.loc
        try:
            return sub.lower_body()
        finally:
            self.b.loc = loc


def _carry_name(n: str) -> str:
    return n if not n.startswith(".") else n[1:].split(".")[0]


def _hashable(x) -> bool:
    try:
        hash(x)
        return True
    except TypeError:
        return False


__all__ = ["Lowerer", "TupleV", "lower_function"]
