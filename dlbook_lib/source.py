"""Show the source of a library object inside a chapter, so the book never
keeps two copies.
"""
from __future__ import annotations

import inspect
import textwrap


class SourceListing:
    """The source of one object, shown as a highlighted code block in notebooks.

    Its plain-text form (what tests compare) is the name and line count; the
    rendered book shows the code itself through the Markdown representation.
    """

    def __init__(self, name: str, code: str):
        self.name = name
        self.code = code

    def _repr_markdown_(self) -> str:
        return f"```python\n{self.code}\n```"

    def __repr__(self) -> str:
        return f"<source of {self.name}: {self.code.count(chr(10)) + 1} lines>"


def show_source(obj) -> SourceListing:
    """The source of a function, class or method of ``dlbook_lib``, for display.

    Use it as the last expression of a cell:
    ``show_source(dlbook_lib.numeric.numerical_gradient)``.
    """
    code = textwrap.dedent(inspect.getsource(obj)).rstrip()
    return SourceListing(f"{obj.__module__}.{obj.__qualname__}", code)
