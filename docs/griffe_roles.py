"""A Griffe extension for the docs build: the package's docstrings use reStructuredText roles
(``:func:`resynergy.planner.solve```); the site renders docstrings as Markdown, where a role would
show as the literal text ``:func:``. This turns each role into an inline code span, nothing more.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|const|ref|term):`~?([^`]+)`")


def plain_roles(text: str) -> str:
    """``:func:`x``` → ```x```: the role dropped, the name kept as code."""
    return _ROLE.sub(lambda m: f"`{m.group(1)}`", text)


class RolesToCode(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain_roles(obj.docstring.value)
