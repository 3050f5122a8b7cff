"""The async families, made from the sync ones: one class per family, written once.

A family's method builds an operation and returns ``self._run(op)``; over the async client
``_run`` returns an awaitable, so the same method body serves both clients. :func:`async_twin`
makes the async class: it overrides ``_run`` and ``_pager`` and wraps each sending method in
an ``async def`` (so ``inspect.iscoroutinefunction`` holds and the call is awaited in one
place). Methods that return a pager stay plain: they return an
:class:`~maintainx_resilient.AsyncPager` at once.

Type checkers read the generated stub ``_async.pyi`` instead of the runtime module: it repeats
each sync signature as ``async def`` (pagers as ``AsyncPager``). ``python -m
maintainx_resilient.resources`` rewrites it (formatted by ruff); ``--check`` (run by ``nox -s
lint`` and the tests) fails when its declarations differ from the sync families'.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import subprocess
import sys
import tempfile
import types
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from .._operation import Operation
from .._pagination import AsyncPager, Page
from ._base import Resource

__all__ = ["AsyncRunner", "async_twin", "render_stub"]

T = TypeVar("T")
R = TypeVar("R", bound=Resource[Any])

STUB = Path(__file__).with_name("_async.pyi")


def _returns_pager(function: Callable[..., Any]) -> bool:
    return "Pager" in str(function.__annotations__.get("return", ""))


class AsyncRunner:
    """What an async family overrides: sending through ``await client.send(op)``."""

    _client: Any
    spec: Any

    async def _run(self, op: Operation[T]) -> T:
        result: T = await self._client.send(op)
        return result

    def _pager(
        self, page_op: Callable[[str | None], Operation[Page[T]]], path: str = ""
    ) -> AsyncPager[T]:
        return AsyncPager(lambda cursor: self._run(page_op(cursor)), path=path or self.spec.route)


def _awaiting(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        return await method(self, *args, **kwargs)

    return call


def _sending_methods(family: type[Resource[Any]]) -> Iterable[tuple[str, Callable[..., Any]]]:
    for name in dir(family):
        if name.startswith("_"):
            continue
        member = inspect.getattr_static(family, name)
        if inspect.isfunction(member) and not _returns_pager(member):
            yield name, member


def async_twin(family: type[R]) -> type[R]:
    """The async class of a sync family (``Assets`` -> ``AsyncAssets``)."""
    namespace: dict[str, Any] = {name: _awaiting(fn) for name, fn in _sending_methods(family)}
    namespace["__doc__"] = (family.__doc__ or "").replace("MaintainXClient", "AsyncMaintainXClient")
    namespace["__module__"] = f"{__package__}._async"
    twin: type[R] = type(f"Async{family.__name__}", (AsyncRunner, family), namespace)
    return twin


# ---- the stub type checkers read -----------------------------------------------------------


_NAME = re.compile(r"\b[A-Za-z_][A-Za-z_0-9]*\b")
#: The model type variable of the generic base classes (``def get(self, id) -> M``).
_MODEL_VAR = "M"
_BUILTIN = {"None", "int", "str", "bool", "float", "dict", "list", "tuple", "set", "object"}
_TYPING_EXTENSIONS = {"Unpack", "Required", "NotRequired", "TypedDict", "Self"}


@functools.cache
def _defined_in(module: types.ModuleType) -> frozenset[str]:
    """The names a module defines at its top level (classes, functions, aliases)."""
    tree = ast.parse(inspect.getsource(module))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return frozenset(names)


class _Names:
    """Where each name of the stub's annotations comes from: the family's own module
    (qualified, since two families may both have an ``Expand``), or elsewhere (imported)."""

    def __init__(self) -> None:
        self.imports: dict[str, set[str]] = {"maintainx_resilient._pagination": {"AsyncPager"}}
        self.modules: set[str] = set()

    def rewrite(self, annotation: object, family: type[Resource[Any]]) -> str:
        module = sys.modules[family.__module__]
        alias = "_" + family.__module__.rsplit(".", 1)[-1]
        model = family.spec.model

        def name(match: re.Match[str]) -> str:
            word = match.group(0)
            if word == _MODEL_VAR:
                word = model.__name__
            if word in _BUILTIN:
                return word
            if word == "SyncPager":
                return "AsyncPager"
            if word in _defined_in(module):
                self.modules.add(family.__module__)
                return f"{alias}.{word}"
            value = module.__dict__.get(word, model if word == model.__name__ else None)
            origin = getattr(value, "__module__", None)
            source = origin if isinstance(origin, str) else "typing"
            if source in ("typing", "typing_extensions", "builtins", "abc"):
                source = "typing_extensions" if word in _TYPING_EXTENSIONS else "typing"
                if word in ("Mapping", "Sequence", "Iterable", "Callable"):
                    source = "collections.abc"
            self.imports.setdefault(source, set()).add(word)
            return word

        return _NAME.sub(name, str(annotation))


def _stub_method(name: str, function: Callable[..., Any], rewrite: Callable[[Any], str]) -> str:
    signature = inspect.signature(function)
    params, starred = [], False
    for param in signature.parameters.values():
        if param.kind is param.KEYWORD_ONLY and not starred:
            params.append("*")
            starred = True
        text = param.name
        if param.kind is param.VAR_KEYWORD:
            text = "**" + text
        elif param.kind is param.VAR_POSITIONAL:
            text, starred = "*" + text, True
        if param.annotation is not param.empty and param.name != "self":
            text += f": {rewrite(param.annotation)}"
        if param.default is not param.empty:
            text += " = ..."
        params.append(text)
    keyword = "def" if _returns_pager(function) else "async def"
    returns = rewrite(signature.return_annotation)
    return f"    {keyword} {name}({', '.join(params)}) -> {returns}: ..."


def render_stub(families: Iterable[type[Resource[Any]]]) -> str:
    """The text of ``_async.pyi`` for ``families``: one standalone class each (its methods
    are not overrides of the sync ones: they return awaitables)."""
    names = _Names()
    blocks, exported, attributes = [], [], []
    for family in families:
        methods = []
        for name in sorted(dir(family)):
            member = inspect.getattr_static(family, name)
            if not name.startswith("_") and inspect.isfunction(member):
                rewrite = functools.partial(names.rewrite, family=family)
                methods.append(_stub_method(name, member, rewrite))
        doc = (family.__doc__ or "").replace("MaintainXClient", "AsyncMaintainXClient")
        twin = f"Async{family.__name__}"
        blocks.append(f'class {twin}:\n    """{doc}"""\n\n' + "\n".join(methods))
        exported.append(twin)
        attributes.append(f"    {family.spec.attribute}: {twin}")
    blocks.append(
        'class AsyncFamilies:\n    """The resource families of an async client."""\n\n'
        + "\n".join(attributes)
    )
    names.imports.setdefault("typing", set()).add("Any")
    lines = [f'"""Generated by ``python -m {__package__}``: do not edit."""', ""]
    for module in sorted(names.imports):
        lines.append(f"from {module} import {', '.join(sorted(names.imports[module]))}")
    for module in sorted(names.modules):
        package, leaf = module.rsplit(".", 1)
        lines.append(f"from {package} import {leaf} as _{leaf}")
    quoted = ", ".join(f'"{n}"' for n in sorted(["ASYNC_FAMILIES", "AsyncFamilies", *exported]))
    lines += ["", f"__all__ = [{quoted}]", "", "ASYNC_FAMILIES: dict[str, type[Any]]"]
    return "\n".join(lines) + "\n\n\n" + "\n\n\n".join(blocks) + "\n"


def _formatted(text: str) -> str:
    """``text`` as ruff formats and sorts it (ruff runs in the lint session)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, STUB.name)
        path.write_text(text, encoding="utf-8")
        for command in (["check", "--fix", "--select", "I", "-q"], ["format", "-q"]):
            subprocess.run(  # noqa: S603 - ruff, on our own generated file
                [sys.executable, "-m", "ruff", *command, "--config", str(_PYPROJECT), str(path)],
                check=True,
            )
        return path.read_text(encoding="utf-8")


_PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def _declarations(source: str) -> str:
    """What a stub declares, whatever its formatting: imports sorted, docstrings left out."""
    tree = ast.parse(source)
    imports = sorted(
        ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
    )
    rest = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom, ast.Expr))]
    for node in ast.walk(ast.Module(body=rest, type_ignores=[])):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return "\n".join(imports) + "\n" + "\n".join(ast.dump(n) for n in rest)


def main(argv: list[str]) -> int:
    from ._families import FAMILIES

    text = render_stub(FAMILIES)
    if "--check" in argv:  # the same declarations as the file, whatever its formatting
        current = STUB.read_text(encoding="utf-8") if STUB.exists() else ""
        if _declarations(current) != _declarations(text):
            print(f"{STUB} is out of date: run python -m {__package__}", file=sys.stderr)
            return 1
        return 0
    STUB.write_text(_formatted(text), encoding="utf-8")
    return 0
