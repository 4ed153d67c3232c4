"""The book's own Sphinx adjustments.

* Equations, figures and tables are numbered per chapter: (9.3) is the third equation of
  chapter 9.
* Inline scripts registered twice (sphinx-thebe's ``const THEBE_JS_URL``, a JavaScript error
  on every page) are included once.

Sphinx numbers them across the whole book unless the table of contents is ``numbered``, which
would also prefix every heading with a number (the chapters carry their numbers in their
titles already). This extension keeps Sphinx's order and renumbers within each chapter, whose
number is the leading digits of its file name (``chapters/09_normalisation`` -> 9). Pages
that are not chapters keep Sphinx's numbers.
"""
from __future__ import annotations

import re

CHAPTER = re.compile(r"^chapters/(\d+)_")


def renumber(app, env) -> list[str]:
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        match = CHAPTER.match(docname)
        if not match:
            continue
        chapter = int(match.group(1))
        for numbers in by_type.values():
            for k, node_id in enumerate(list(numbers), start=1):
                numbers[node_id] = (chapter, k)
        changed.append(docname)
    return changed


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # the same file or inline body, whatever priority it was registered with
        key = (str(getattr(script, "filename", script) or ""),
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    # after Sphinx's own toctree collector has assigned the book-wide numbers
    app.connect("env-get-updated", renumber, priority=900)
    # early: handlers after one that returns a template name are not called
    app.connect("html-page-context", dedupe_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
