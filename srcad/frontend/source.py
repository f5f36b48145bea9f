"""Source access for user functions: AST, file/line mapping, globals and closures, and the
syntax check that rejects unsupported constructs before anything runs."""
from __future__ import annotations

import ast
import inspect
import linecache
import textwrap
import types
from dataclasses import dataclass
from functools import cache

from ..errors import Loc, UnsupportedSyntaxError


@dataclass
class FuncInfo:
    fn: types.FunctionType
    tree: ast.FunctionDef
    filename: str
    line_offset: int  # add to AST line numbers
    col_offset: int  # add to AST column numbers (indentation removed by dedent)
    source: str

    @property
    def name(self) -> str:
        return self.fn.__name__

    def loc(self, node: ast.AST) -> Loc:
        line = getattr(node, "lineno", self.tree.lineno) + self.line_offset
        col = getattr(node, "col_offset", 0) + self.col_offset
        return Loc(self.filename, line, col, linecache.getline(self.filename, line).rstrip("\n"))

    def lookup_global(self, name: str):
        """Closure cells, then module globals, then builtins.  Raises KeyError if unknown."""
        return self.resolve_global(name)[0]

    def resolve_global(self, name: str) -> tuple[object, str, object]:
        """(value, kind, where): kind "cell" (where: the closure cell), "global" (where: the
        module's globals dict) or "builtin".  Raises KeyError if unknown."""
        code = self.fn.__code__
        if name in code.co_freevars and self.fn.__closure__:
            cell = self.fn.__closure__[code.co_freevars.index(name)]
            try:
                return cell.cell_contents, "cell", cell
            except ValueError:
                raise KeyError(name) from None
        g = self.fn.__globals__
        if name in g:
            return g[name], "global", g
        b = g.get("__builtins__", __builtins__)
        b = b.__dict__ if isinstance(b, types.ModuleType) else b
        if name in b:
            return b[name], "builtin", b
        raise KeyError(name)


@cache
def _parse(fn: types.FunctionType) -> FuncInfo:
    try:
        src = inspect.getsource(fn)
        filename = inspect.getsourcefile(fn) or fn.__code__.co_filename
    except (OSError, TypeError) as e:
        raise UnsupportedSyntaxError(
            f"cannot read the source of {fn.__qualname__}: {e}",
            hint="srcad compiles from source: define the function in a file (or a notebook "
                 "cell), not with exec() or in the interactive prompt without a file") from None
    lines = src.splitlines(True)
    indent = len(lines[0]) - len(lines[0].lstrip())
    tree = ast.parse(textwrap.dedent(src))
    fdef = tree.body[0]
    if isinstance(fdef, ast.AsyncFunctionDef) or not isinstance(fdef, ast.FunctionDef):
        raise UnsupportedSyntaxError(f"{fn.__qualname__} is not a plain function definition")
    info = FuncInfo(fn, fdef, filename, fn.__code__.co_firstlineno - 1, indent, src)
    check_syntax(info)
    return info


def parse_function(fn) -> FuncInfo:
    if not isinstance(fn, types.FunctionType):
        raise UnsupportedSyntaxError(
            f"srcad can only compile plain Python functions, not {type(fn).__name__}")
    if fn.__name__ == "<lambda>":
        raise UnsupportedSyntaxError(
            "srcad does not compile lambdas yet", hint="use a def statement instead")
    return _parse(fn)


_UNSUPPORTED = {
    ast.Try: ("try/except", "remove the try block; srcad code cannot raise or catch"),
    ast.With: ("with statements", "move the with block outside the differentiated function"),
    ast.Yield: ("generators (yield)", "return a value instead of yielding"),
    ast.YieldFrom: ("generators (yield from)", "return a value instead of yielding"),
    ast.Await: ("await", "differentiated functions must be synchronous"),
    ast.ClassDef: ("class definitions", "define classes outside the function"),
    ast.Global: ("global statements", "pass the value as an argument"),
    ast.Nonlocal: ("nonlocal statements", "pass the value as an argument"),
    ast.Lambda: ("lambda expressions", "define a module-level def and call it"),
    ast.FunctionDef: ("nested function definitions", "define the helper at module level"),
    ast.AsyncFunctionDef: ("async functions", "use a plain def"),
    ast.Import: ("import inside the function", "import at module level"),
    ast.ImportFrom: ("import inside the function", "import at module level"),
    ast.Delete: ("del statements", "rebind the name instead"),
    ast.Assert: ("assert statements", "check arguments before calling the function"),
    ast.Raise: ("raise statements", "check arguments before calling the function"),
    ast.ListComp: ("list comprehensions", "write a for loop"),
    ast.SetComp: ("set comprehensions", "write a for loop"),
    ast.DictComp: ("dict comprehensions", "write a for loop"),
    ast.GeneratorExp: ("generator expressions", "write a for loop"),
    ast.JoinedStr: ("f-strings", "srcad functions compute numbers; drop the string"),
    ast.Dict: ("dict literals", "use separate variables or a tuple"),
    ast.Set: ("set literals", "use a tuple"),
    ast.Starred: ("starred expressions", "unpack explicitly"),
    ast.NamedExpr: ("the walrus operator", "assign in a separate statement"),
    ast.AsyncFor: ("async for", "use a plain for loop"),
    ast.AsyncWith: ("async with", "remove it"),
    ast.Match: ("match statements", "use if/elif/else"),
}


def check_syntax(info: FuncInfo) -> None:
    """Raise a located UnsupportedSyntaxError for the first unsupported construct."""
    args = info.tree.args
    if args.vararg or args.kwarg:
        raise UnsupportedSyntaxError("*args and **kwargs parameters are not supported",
                                     info.loc(info.tree), "list the parameters explicitly")
    for stmt in info.tree.body:
        for node in ast.walk(stmt):
            bad = _UNSUPPORTED.get(type(node))
            if bad is not None:
                what, hint = bad
                raise UnsupportedSyntaxError(f"srcad does not support {what}", info.loc(node),
                                             hint)
            if isinstance(node, (ast.For, ast.While)) and node.orelse:
                raise UnsupportedSyntaxError("else clauses on loops are not supported",
                                             info.loc(node), "use a flag variable")
