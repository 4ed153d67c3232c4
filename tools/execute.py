"""Execute chapter notebooks in place, deterministically, in the pinned environment.

Usage (from the repository root)::

    python -m tools.execute chapters/01_learning_is_fitting.ipynb   # one or more chapters
    python -m tools.execute --all                                     # every chapter

For each notebook it refreshes the Colab install cell from ``_config.yml``, runs every cell in
a fresh kernel with the notebook's folder as working directory, stores the outputs, stamps the
notebook with its fingerprint (code cells + dlbook_lib + pins) and records the runtime in
``back/execution_stats.json``, from which it regenerates the execution-statistics page.
It refuses to run when the installed packages differ from the pins in requirements.txt, or when
this machine cannot be the book's reference numerical platform (``tools/reference_platform.py``),
since stored outputs must come from the pinned environment on that platform. Each kernel reports
which SIMD kernels it dispatched; the executor checks them and records them with the runtimes.
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
from . import reference_platform

KERNEL_ENV = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}
#: What to tell someone whose notebook outputs are out of date (``path``: the notebook).
EXECUTE_HINT = "re-execute it with `python -m tools.execute {path}` and commit the result"


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
                "or m.startswith('dlbook_lib.'))))\n"
                + reference_platform.PROBE)


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


def execute(path: Path, timeout: int = 600) -> tuple[float, dict]:
    """Execute one notebook in place; return its runtime and the kernels it dispatched."""
    nb = nbformat.read(path, as_version=4)
    refresh_colab_cell(nb)
    nbt.hide_solutions(nb)
    nb.metadata["kernelspec"] = {"name": nbt.KERNEL_NAME, "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata.pop("jupytext", None)  # authoring leftovers that make diffs noisy
    for cell in nb.cells:
        for key in ("execution", "collapsed", "scrolled", "lines_to_next_cell"):
            cell.metadata.pop(key, None)
    os.environ.update(KERNEL_ENV)
    reference_platform.apply()
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
    # the probe's two lines may arrive as separate stream messages under load
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
    modules_line, dispatch_line = text.strip().splitlines()
    modules = json.loads(modules_line)
    dispatch = json.loads(dispatch_line)
    if dispatch != reference_platform.EXPECTED_DISPATCH:
        raise SystemExit(f"{path.name}: the kernel dispatched {dispatch}, not the reference "
                         f"platform's {reference_platform.EXPECTED_DISPATCH}; nothing was "
                         "written (see tools/reference_platform.py)")
    for cell in nbt.code_cells(nb):
        cell.outputs = coalesce_streams(cell.outputs)
    nb.metadata.pop("widgets", None)
    nb.metadata.setdefault("language_info", {})
    nb.metadata[nbt.META_KEY] = {"fingerprint": nbt.fingerprint(nb, modules)}
    nbformat.write(nb, path)
    return seconds, dispatch


def update_stats(runtimes: dict[str, float], dispatch: dict) -> dict:
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
        "platform": dict(reference_platform.describe(), dispatch=dispatch),
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
        *platform_lines(stats.get("platform")),
    ])
    nbt.STATS_PAGE.write_text(page)


def notebook_problem(given: Path) -> str | None:
    """Why ``given`` cannot be executed as a chapter (one line), or ``None``."""
    path = given.resolve()
    if not path.exists():
        return f"{given}: no such file"
    if path.suffix != ".ipynb":
        return f"{given}: not a notebook (expected a chapters/*.ipynb file)"
    if not path.is_relative_to(nbt.ROOT):
        return f"{given}: outside the repository {nbt.ROOT}"
    if path.parent != nbt.CHAPTERS:
        return (f"{given}: not a chapter; the executor runs notebooks in "
                f"{nbt.CHAPTERS.relative_to(nbt.ROOT)}/ only")
    return None


def platform_lines(plat: dict | None) -> list[str]:
    """Paragraph of the statistics page on the numerical platform of the last execution."""
    if not plat:
        return []
    d = plat.get("dispatch", {})
    return [
        f"Numerical platform: {plat['cpu']} ({'with' if plat['avx512'] else 'without'} "
        "AVX-512), run under the book's reference settings (`tools/reference_platform.py`); "
        f"the kernels dispatched PyTorch {d.get('torch')}, OpenBLAS {d.get('openblas')} and "
        f"NumPy {d.get('numpy')} code, as on every x86-64 CPU with AVX2.",
        "",
    ]


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
    reason = reference_platform.non_reference_reason()
    if reason:
        print(f"refusing to execute: this machine cannot be the book's reference numerical "
              f"platform ({reason}); stored outputs must come from an x86-64 CPU with AVX2 and "
              "FMA (see tools/reference_platform.py). `pytest` still runs every notebook here.",
              file=sys.stderr)
        return 2
    if args.all:
        paths = nbt.chapter_notebooks()
    else:
        paths = []
        for given in args.notebooks:
            problem = notebook_problem(given)
            if problem:
                print(f"error: {problem}", file=sys.stderr)
                return 2
            paths.append(given.resolve())
    runtimes, dispatch = {}, {}
    for path in paths:
        rel = path.relative_to(nbt.ROOT).as_posix()
        print(f"executing {rel} ...", flush=True)
        runtimes[rel], dispatch = execute(path, timeout=args.timeout)
        print(f"  done in {runtimes[rel]:.1f} s", flush=True)
    update_stats(runtimes, dispatch)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
