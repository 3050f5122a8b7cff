"""A griffe extension for the API reference (``nox -s docs``): reST habits to Markdown.

The package's docstrings are plain prose with a few reStructuredText habits that Markdown
would misread: roles (``:class:`Simulator```), doctest blocks (``>>> ...``, whose ``[0]`` is
a Markdown reference) and literal blocks introduced by ``::``. This rewrites them, for the
package's own objects only, before mkdocstrings parses the docstrings:

- ``:role:`target``` becomes ```target``` (``~a.b.C`` becomes ``C``);
- a run of doctest lines (``>>>``, ``...`` and their output, up to a blank line) becomes a
  fenced ``pycon`` block, without ``# doctest:`` flags;
- a paragraph ending in ``::`` ends in ``:`` (a lone ``::`` goes) and the indented block
  after it is fenced.

Loaded by mkdocs.yml (``extensions: [tools/griffe_docstrings.py:RestToMarkdown]``).
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import griffe

PACKAGE = "maintainx_resilient"
ROLE = re.compile(r":(?:py:)?[a-z]+:`(~?)([^`]+)`")
DOCTEST_FLAG = re.compile(r"\s*#\s*doctest:.*$")


def _role(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def _fence_doctests(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            block: list[str] = []
            while i < len(lines) and lines[i].strip():
                block.append(DOCTEST_FLAG.sub("", lines[i].removeprefix(indent)))
                i += 1
            out += [f"{indent}```pycon", *(indent + b for b in block), f"{indent}```"]
            continue
        out.append(line)
        i += 1
    return out


def _fence_literal_blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        if not line.rstrip().endswith("::"):
            continue
        out[-1] = "" if line.strip() == "::" else line.rstrip()[:-1]
        indent = len(line) - len(line.lstrip())
        j = i
        while j < len(lines) and not lines[j].strip():
            j += 1
        block_end = j
        while block_end < len(lines) and (
            not lines[block_end].strip()
            or len(lines[block_end]) - len(lines[block_end].lstrip()) > indent
        ):
            block_end += 1
        while block_end > j and not lines[block_end - 1].strip():
            block_end -= 1
        if block_end == j:
            continue
        code = textwrap.dedent("\n".join(lines[j:block_end])).splitlines()
        pad = " " * indent
        out += ["", f"{pad}```", *(pad + c if c else "" for c in code), f"{pad}```"]
        i = block_end
    return out


def rest_to_markdown(text: str) -> str:
    """The Markdown mkdocstrings should render for a docstring written with reST habits."""
    text = ROLE.sub(_role, text)
    lines = _fence_literal_blocks(_fence_doctests(text.splitlines()))
    return "\n".join(lines)


class RestToMarkdown(griffe.Extension):
    """Rewrites the docstrings of the package's own objects (see the module docstring)."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and obj.path.split(".", 1)[0] == PACKAGE:
            obj.docstring.value = rest_to_markdown(obj.docstring.value)
