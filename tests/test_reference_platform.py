"""The reference numerical platform (tools/reference_platform.py) does what it claims.

* A process under the reference settings dispatches PyTorch's AVX2 kernels, OpenBLAS's Haswell
  kernels and NumPy's X86_V3 loops, whatever the x86-64 CPU.
* The settings matter: under PyTorch's generic ``default`` dispatch a chapter prints different
  numbers, and under the reference settings the same cells reproduce the stored text.
* On a machine that cannot be the reference, every cell still runs (a failing assertion still
  fails), stored outputs are not compared, and the summary says how many were skipped and why.
* An output mismatch is reported as "stored vs now" with what to do.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools import notebooks as nbt
from tools import reference_platform as rp

REASON = rp.non_reference_reason()
on_reference = pytest.mark.skipif(REASON is not None, reason=f"not the reference platform: {REASON}")
# Chapter 11's code cell 5 (nbval's "Cell 5") prints the losses of small torch models trained
# with SGD, which change with PyTorch's SIMD dispatch.
SENSITIVE = nbt.CHAPTERS / "11_batch_size_momentum.ipynb"
SENSITIVE_CELL = 5


def _nbval(path: Path, env: dict[str, str], *, book_conftest: bool = False):
    ini = path.parent / "pytest.ini"  # an empty one: the book's own addopts do not apply
    ini.write_text("[pytest]\n")
    plugins = ["-p", "conftest"] if book_conftest else []
    cmd = [sys.executable, "-m", "pytest", "-q", "-c", str(ini), *plugins,
           "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
           "--nbval-sanitize-with", str(nbt.ROOT / "nbval_sanitize.cfg"), "--color=no", str(path)]
    full = {k: v for k, v in os.environ.items()
            if k not in rp.X86_AVX2_ENV and k != rp.FORCE_NON_REFERENCE}
    full.update(env, PYTHONPATH=str(nbt.ROOT))
    return subprocess.run(cmd, cwd=path.parent, env=full, capture_output=True, text=True,
                          timeout=600)


def _first_cells(src: Path, last: int, dest: Path) -> Path:
    """A copy of ``src`` cut after its code cell number ``last`` (nbval's "Cell N")."""
    nb = nbformat.read(src, as_version=4)
    code_positions = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    nb.cells = nb.cells[: code_positions[last] + 1]
    out = dest / src.name
    nbformat.write(nb, out)
    return out


@on_reference
def test_reference_settings_select_the_avx2_kernels():
    assert rp.dispatch() == rp.EXPECTED_DISPATCH


@on_reference
def test_dispatch_changes_without_the_settings_on_an_avx512_cpu():
    if "avx512f" not in rp.cpu_flags():
        pytest.skip("this CPU has no AVX-512, so its native dispatch is the reference one")
    native = rp.dispatch(dict(rp.COMMON_ENV))
    assert native["torch"] != "AVX2" and native["numpy"] != "X86_V3", native


@on_reference
def test_a_chapter_changes_under_another_dispatch_and_reproduces_under_the_reference(tmp_path):
    nb = _first_cells(SENSITIVE, SENSITIVE_CELL, tmp_path)
    other = dict(rp.reference_env(), ATEN_CPU_CAPABILITY="default")
    changed = _nbval(nb, other)
    assert changed.returncode != 0 and "1 failed" in changed.stdout, changed.stdout[-3000:]
    assert f"Cell {SENSITIVE_CELL}" in changed.stdout
    same = _nbval(nb, rp.reference_env())
    assert same.returncode == 0, same.stdout[-3000:]


def _altered_copy(dest: Path) -> Path:
    """The first chapter with one printed digit changed and a failing assertion appended."""
    nb = nbformat.read(nbt.chapter_notebooks()[0], as_version=4)
    for cell in nbt.code_cells(nb):
        stream = next((o for o in cell.outputs if o.output_type == "stream"), None)
        if stream is not None and any(ch.isdigit() for ch in stream.text):
            i = next(k for k, ch in enumerate(stream.text) if ch.isdigit())
            stream.text = stream.text[:i] + str((int(stream.text[i]) + 1) % 10) + stream.text[i + 1:]
            break
    nb.cells.append(nbformat.v4.new_code_cell("assert 1 + 1 == 3, 'a claim that is false'"))
    path = dest / "altered.ipynb"
    nbformat.write(nb, path)
    return path


def test_mismatch_report_says_stored_vs_now_and_what_to_do(tmp_path):
    if REASON is not None:
        pytest.skip(f"outputs are not compared here: {REASON}")
    result = _nbval(_altered_copy(tmp_path), {}, book_conftest=True)
    out = result.stdout
    assert "2 failed" in out, out[-3000:]
    assert "the cell ran without error, but its output differs" in out, out[-3000:]
    assert "--- stored" in out and "+++ now" in out
    assert "python -m tools.execute" in out and "numerical platform" in out


def test_non_reference_machine_runs_every_cell_and_reports_what_it_did_not_compare(tmp_path):
    path = _altered_copy(tmp_path)
    result = _nbval(path, {rp.FORCE_NON_REFERENCE: "1"}, book_conftest=True)
    out = result.stdout
    # the altered output is not compared, the false assertion still fails
    assert "1 failed" in out and "a claim that is false" in out, out[-3000:]
    nb = nbformat.read(path, as_version=4)
    with_output = sum(1 for c in nbt.code_cells(nb)[1:] if c.outputs)
    assert f"{with_output} stored notebook outputs were NOT compared" in out, out[-3000:]
    assert "DLBOOK_NON_REFERENCE=1 is set" in out
