"""Test-suite set-up, for every path under the repository (tests/ and chapters/ alike).

* Every process and notebook kernel of the run gets the book's reference numerical platform
  (``tools/reference_platform.py``) before NumPy or PyTorch are imported, so stored outputs
  reproduce bit for bit on any x86-64 CPU with AVX2.
* On a machine that cannot be the reference (ARM, x86 without AVX2), nbval still executes every
  cell and every assertion, but does not compare stored outputs; the summary says how many
  comparisons were not made and why.
* An nbval output mismatch is reported as "stored vs now" with what to do about it.
"""
from __future__ import annotations

import difflib
import json
import os

import pytest

from tools import notebooks as nbt
from tools import reference_platform
from tools.execute import EXECUTE_HINT, KERNEL_ENV

os.environ.update(KERNEL_ENV)  # the executor's kernel settings (matplotlib backend)
NON_REFERENCE = reference_platform.apply()
UNCOMPARED = "nbval_outputs_not_compared"


def pytest_configure(config):
    if NON_REFERENCE and getattr(config.option, "nbval", False):
        # nbval's lax mode runs every cell but compares only outputs tagged for comparison
        # (none in this book).
        config.option.nbval_lax = True


# Seconds a test file takes, beyond the unit tests' fraction of a second: the chapters' come from
# the executor's record, these from measurements of the suite.
SLOW_TEST_FILES = {"test_book_html.py": 60, "test_reference_platform.py": 14,
                   "test_pipeline.py": 18, "test_nbval_reports.py": 17}


def pytest_collection_modifyitems(config, items):
    """Longest files first, so that the two xdist workers (``--dist loadfile``, files handed out
    in this order) finish together: the browser test does not start last, and the unit tests'
    short files fill the gaps at the end."""
    stats = json.loads(nbt.STATS_JSON.read_text())["chapters"] if nbt.STATS_JSON.exists() else {}

    def seconds(item) -> float:
        if not item.path.is_relative_to(nbt.ROOT):  # a notebook a test wrote elsewhere
            return 0.0
        path = item.path.relative_to(nbt.ROOT).as_posix()
        return stats.get(path, {}).get("seconds", SLOW_TEST_FILES.get(item.path.name, 0.0))

    items.sort(key=seconds, reverse=True)  # stable: each file's tests keep their order


def pytest_report_header(config):
    if NON_REFERENCE:
        return [f"numerical platform: NOT the reference ({NON_REFERENCE}); notebook cells are "
                "executed and their assertions run, stored outputs are not compared"]
    settings = " ".join(f"{k}={v}" for k, v in reference_platform.X86_AVX2_ENV.items())
    return [f"numerical platform: reference (x86-64 AVX2+FMA): {settings}"]


def _text(outputs) -> str:
    """The text a reader sees of a list of cell outputs (streams and text/plain)."""
    parts = []
    for out in outputs:
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "text/plain" in out.get("data", {}) and "image/png" not in out.get("data", {}):
            parts.append(out["data"]["text/plain"])
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}\n")
    return "".join(parts)


def _mismatch_report(item) -> str:
    stored = item.sanitize(_text(item.cell.outputs))
    now = item.sanitize(_text(getattr(item, "test_outputs", None) or []))
    diff = difflib.unified_diff(stored.splitlines(), now.splitlines(), "stored", "now",
                                lineterm="", n=1)
    path = item.fspath.relto(item.config.rootdir)
    return "\n".join([
        f"{path}, code cell {item.cell_num}: the cell ran without error, but its output differs "
        "from the one stored in the notebook:",
        *("    " + line for line in diff),
        "What to do:",
        "  * if you changed this chapter's code or dlbook_lib on purpose, "
        f"{EXECUTE_HINT.format(path=path)};",
        "  * if you changed nothing, this machine computes different bits: check the "
        "'numerical platform' line at the top of this run (CONTRIBUTING.md, 'Reproducible "
        "outputs').",
    ])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not hasattr(item, "cell_num") or not hasattr(item, "compare_outputs"):
        return
    if NON_REFERENCE and call.when == "call" and item.cell.get("outputs"):
        report.user_properties.append((UNCOMPARED, 1))
    if report.failed and call.when == "call" and call.excinfo is not None:
        message = str(call.excinfo.value)
        if "Cell outputs differ" in message:
            report.longrepr = _mismatch_report(item)


def pytest_terminal_summary(terminalreporter):
    if not NON_REFERENCE:
        return
    count = sum(dict(r.user_properties).get(UNCOMPARED, 0)
                for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])
                if r.when == "call")
    terminalreporter.write_sep("-", "numerical platform")
    terminalreporter.write_line(
        f"{count} stored notebook outputs were NOT compared: this machine cannot be the book's "
        f"reference numerical platform ({NON_REFERENCE}). Every notebook cell was executed and "
        "every assertion in it ran; only the comparison of printed numbers with the stored ones "
        "needs an x86-64 CPU with AVX2 and FMA.")
