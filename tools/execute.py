"""Execute chapter notebooks in place, deterministically, in the pinned environment.

Usage (from the repository root)::

    python -m tools.execute chapters/01_learning_is_fitting.ipynb   # one or more chapters
    python -m tools.execute --all                                     # every chapter

For each notebook it refreshes the Colab install cell from ``_config.yml``, runs every cell in
a fresh kernel with the notebook's folder as working directory, stores the outputs, stamps the
notebook with its fingerprint (code cells + dlbook_lib + pins) and records the runtime in
``back/execution_stats.json``, from which it regenerates the execution-statistics page.
It refuses to run when the installed packages differ from the pins in requirements.txt, since
stored outputs must come from the pinned environment.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from . import notebooks as nbt

KERNEL_ENV = {"PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def environment_problems() -> list[str]:
    """Pinned packages whose installed version differs from requirements.txt."""
    problems = []
    for name, wanted in nbt.pinned_requirements().items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name}: not installed (pinned {wanted})")
            continue
        if have.split("+", 1)[0] != wanted.split("+", 1)[0]:
            problems.append(f"{name}: installed {have}, pinned {wanted}")
    return problems


def refresh_colab_cell(nb) -> None:
    """Make the first code cell the Colab install cell generated from ``_config.yml``."""
    cells = nbt.code_cells(nb)
    if not cells:
        raise SystemExit("notebook has no code cells")
    first = cells[0]
    if "google.colab" not in first.source:
        raise SystemExit("the first code cell of a chapter must be the Colab install cell "
                         "(see tools/notebooks.py: colab_cell_source)")
    first.source = nbt.colab_cell_source()
    first.metadata["tags"] = list(nbt.COLAB_TAGS)


MODULE_PROBE = ("import json as _json, sys as _sys\n"
                "print(_json.dumps(sorted(m for m in _sys.modules if m == 'dlbook_lib' "
                "or m.startswith('dlbook_lib.'))))")


def coalesce_streams(outputs: list) -> list:
    """Merge consecutive stdout (or stderr) outputs into one, as a reader sees them.

    How a kernel splits a cell's printing into messages depends on timing; merging makes the
    stored notebook independent of it.
    """
    merged = []
    for out in outputs:
        if (out.get("output_type") == "stream" and merged
                and merged[-1].get("output_type") == "stream"
                and merged[-1].get("name") == out.get("name")):
            merged[-1]["text"] += out["text"]
        else:
            merged.append(out)
    return merged


def execute(path: Path, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    refresh_colab_cell(nb)
    nb.metadata["kernelspec"] = {"name": nbt.KERNEL_NAME, "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata.pop("jupytext", None)  # authoring leftovers that make diffs noisy
    for cell in nb.cells:
        for key in ("execution", "collapsed", "scrolled", "lines_to_next_cell"):
            cell.metadata.pop(key, None)
    os.environ.update(KERNEL_ENV)
    # A last, temporary cell reports which dlbook_lib modules the chapter loaded; the
    # fingerprint covers exactly those.
    nb.cells.append(nbformat.v4.new_code_cell(MODULE_PROBE))
    client = NotebookClient(nb, timeout=timeout, kernel_name=nbt.KERNEL_NAME,
                            resources={"metadata": {"path": str(path.parent)}},
                            record_timing=False, allow_errors=False)
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    probe = nb.cells.pop()
    modules = json.loads(probe.outputs[0]["text"])
    for cell in nbt.code_cells(nb):
        cell.outputs = coalesce_streams(cell.outputs)
    nb.metadata.pop("widgets", None)
    nb.metadata.setdefault("language_info", {})
    nb.metadata[nbt.META_KEY] = {"fingerprint": nbt.fingerprint(nb, modules)}
    nbformat.write(nb, path)
    return seconds


def update_stats(runtimes: dict[str, float]) -> dict:
    stats = json.loads(nbt.STATS_JSON.read_text()) if nbt.STATS_JSON.exists() else {}
    chapters = stats.get("chapters", {})
    today = dt.date.today().isoformat()
    for rel, seconds in runtimes.items():
        chapters[rel] = {"seconds": round(seconds, 1), "executed": today}
    existing = {p.relative_to(nbt.ROOT).as_posix() for p in nbt.chapter_notebooks()}
    chapters = {k: chapters[k] for k in sorted(chapters) if k in existing}
    stats = {
        "chapters": chapters,
        "environment": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "torch": metadata.version("torch"),
            "numpy": metadata.version("numpy"),
        },
    }
    nbt.STATS_JSON.write_text(json.dumps(stats, indent=1, sort_keys=True) + "\n")
    write_stats_page(stats)
    return stats


def write_stats_page(stats: dict) -> None:
    titles = {}
    for p in nbt.chapter_notebooks():
        nb = nbformat.read(p, as_version=4)
        first_md = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
        title = first_md.splitlines()[0].lstrip("# ").strip() if first_md else p.stem
        titles[p.relative_to(nbt.ROOT).as_posix()] = title
    rows = []
    total = 0.0
    for rel, rec in stats["chapters"].items():
        total += rec["seconds"]
        doc = rel.removesuffix(".ipynb")
        rows.append(f"| {{doc}}`{titles.get(rel, rel)} </{doc}>` | {rec['seconds']:.1f} | "
                    f"{rec['executed']} |")
    env = stats["environment"]
    page = "\n".join([
        "# Execution statistics",
        "",
        "Every chapter is executed by the book's executor (`python -m tools.execute`) in the "
        "pinned environment of `requirements.txt`; the page you read shows those stored outputs, "
        "and the test suite re-executes every chapter and compares its text outputs. The table "
        "lists the wall-clock time of the last execution of each chapter (one fresh kernel, "
        "PyTorch single-threaded). The budget is 30 s per chapter on a 2-core CPU.",
        "",
        "This page is generated by the executor from `back/execution_stats.json`; do not edit it "
        "by hand.",
        "",
        "| Chapter | Runtime (s) | Last executed |",
        "|:--|--:|:--|",
        *rows,
        f"| **Total** | **{total:.1f}** | |",
        "",
        f"Environment of the last execution: Python {env['python']} on {env['machine']} "
        f"({env['cpu_count']} CPUs visible), torch {env['torch']}, numpy {env['numpy']}.",
        "",
    ])
    nbt.STATS_PAGE.write_text(page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="chapter notebooks to execute")
    parser.add_argument("--all", action="store_true", help="execute every chapter notebook")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    if args.all == bool(args.notebooks):
        parser.error("name the notebooks to execute, or pass --all (not both)")
    problems = environment_problems()
    if problems:
        print("refusing to execute: the environment differs from requirements.txt:",
              *problems, "fix it with: pip install -r requirements.txt", sep="\n  ",
              file=sys.stderr)
        return 2
    paths = nbt.chapter_notebooks() if args.all else [p.resolve() for p in args.notebooks]
    runtimes = {}
    for path in paths:
        if not path.exists() or path.suffix != ".ipynb":
            parser.error(f"not a notebook: {path}")
        rel = path.relative_to(nbt.ROOT).as_posix()
        print(f"executing {rel} ...", flush=True)
        seconds = execute(path, timeout=args.timeout)
        runtimes[rel] = seconds
        print(f"  done in {seconds:.1f} s", flush=True)
    update_stats(runtimes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
