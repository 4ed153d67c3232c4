"""Shared notebook logic for the executor and the test suite.

* the repository settings (URL, branch) read from ``_config.yml``, the one place they are set;
* the Colab install cell every chapter starts with, generated from those settings;
* the fingerprint the executor stamps into each notebook: a hash of its code cells, of the
  ``dlbook_lib`` sources and of the pinned requirements, so a test can tell when a notebook's
  stored outputs no longer belong to its code.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
LIB = ROOT / "dlbook_lib"
STATS_JSON = ROOT / "back" / "execution_stats.json"
STATS_PAGE = ROOT / "back" / "execution_stats.md"
META_KEY = "dlbook"
COLAB_TAGS = ["nbval-skip", "remove-cell"]
KERNEL_NAME = "python3"
EXECUTE_COMMAND = "python -m tools.execute"


def book_config() -> dict:
    """The parsed ``_config.yml``."""
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def repository() -> tuple[str, str]:
    """(url, branch) of the book's repository, from ``_config.yml``."""
    repo = book_config()["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def colab_install_source() -> str:
    """The pip requirement that installs ``dlbook_lib`` from the repository on Colab."""
    url, branch = repository()
    return f"git+{url}@{branch}"


def colab_cell_source() -> str:
    """Source of the first code cell of every chapter (tagged so nbval skips it)."""
    return (
        "# On Google Colab: install the book's library dlbook_lib. Elsewhere: nothing.\n"
        "import os, subprocess, sys\n"
        "try:\n"
        "    import google.colab  # noqa: F401  (exists only on Colab)\n"
        "except ImportError:\n"
        "    pass\n"
        "else:\n"
        "    source = os.environ.get(\n"
        f"        \"DLBOOK_LIB_SOURCE\", \"{colab_install_source()}\")\n"
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\",\n"
        "                    source], check=True)"
    )


def chapter_notebooks() -> list[Path]:
    """All chapter notebooks, sorted by file name (which starts with the chapter number)."""
    return sorted(p for p in CHAPTERS.glob("*.ipynb"))


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def _normalised(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


SOLUTION_TAG = "solution"
SOLUTION_TITLE = "# @title Solution (double-click to show)"


def hide_solutions(nb) -> None:
    """Hide every cell tagged ``solution`` in the HTML (``hide-cell``), in Jupyter
    (``jupyter.source_hidden``) and in Colab (a ``@title`` form cell)."""
    for cell in code_cells(nb):
        tags = cell.metadata.get("tags", [])
        if SOLUTION_TAG not in tags:
            continue
        if "hide-cell" not in tags:
            cell.metadata["tags"] = [*tags, "hide-cell"]
        cell.metadata["jupyter"] = {"source_hidden": True}
        cell.metadata["cellView"] = "form"
        if not cell.source.startswith(SOLUTION_TITLE):
            cell.source = SOLUTION_TITLE + "\n" + cell.source


def code_hash(nb) -> str:
    """SHA-256 of a notebook's code cells (trailing whitespace ignored) and their tags."""
    h = hashlib.sha256()
    for cell in code_cells(nb):
        h.update(_normalised(cell.source).encode())
        h.update(repr(sorted(cell.metadata.get("tags", []))).encode())
        h.update(b"\x00cell\x00")
    return h.hexdigest()


def module_file(module: str) -> Path:
    """Source file of a ``dlbook_lib`` module name such as ``dlbook_lib.checks``."""
    parts = module.split(".")
    if parts[0] != "dlbook_lib":
        raise ValueError(f"not a dlbook_lib module: {module}")
    if len(parts) == 1:
        return LIB / "__init__.py"
    path = LIB.joinpath(*parts[1:])
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def library_hash(modules: list[str]) -> str:
    """SHA-256 of the given ``dlbook_lib`` modules' sources, requirements.txt and pyproject.toml.

    Only the modules a notebook actually loaded count (the executor records them), so a change
    to one module makes exactly the chapters that use it stale.
    """
    h = hashlib.sha256()
    named = [(m, module_file(m)) for m in sorted(set(modules))]
    named += [(name, ROOT / name) for name in ("requirements.txt", "pyproject.toml")]
    for name, path in named:
        h.update(name.encode())
        h.update(b"\x00")
        h.update(path.read_bytes().replace(b"\r\n", b"\n") if path.exists() else b"<missing>")
        h.update(b"\x00file\x00")
    return h.hexdigest()


def fingerprint(nb, modules: list[str]) -> dict:
    return {"code": code_hash(nb), "library": library_hash(modules), "modules": sorted(modules)}


def stale_reason(nb, path: Path) -> str | None:
    """Why the stored outputs of ``nb`` are out of date, or ``None`` if they are current."""
    stored = nb.metadata.get(META_KEY, {}).get("fingerprint")
    rel = path.relative_to(ROOT).as_posix() if path.is_absolute() else str(path)
    fix = f"re-execute it with `{EXECUTE_COMMAND} {rel}` (or `{EXECUTE_COMMAND} --all`)"
    if not stored or "modules" not in stored:
        return f"{rel} carries no execution fingerprint: {fix}"
    if stored.get("code") != code_hash(nb):
        return f"{rel}: its code cells changed since it was executed: {fix}"
    if stored.get("library") != library_hash(stored["modules"]):
        return (f"{rel}: the dlbook_lib modules it uses ({', '.join(stored['modules'])}), "
                f"requirements.txt or pyproject.toml changed since it was executed: {fix}")
    return None


def toc_files() -> list[str]:
    """Every ``file:`` entry of ``_toc.yml`` (and its root), without extension."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [re.sub(r"\.(ipynb|md)$", "", f) for f in found]


def pinned_requirements() -> dict[str, str]:
    """name -> exact version for every ``name==version`` line of requirements.txt."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            pins[m.group(1)] = m.group(2)
    return pins
