"""The reference numerical platform (tools/reference_platform.py) does what it claims.

* A process under the reference settings dispatches PyTorch's AVX2 kernels, OpenBLAS's Haswell
  kernels and NumPy's X86_V3 loops, whatever the x86-64 CPU.
* The settings matter: under PyTorch's generic ``default`` dispatch a chapter prints different
  numbers (under the reference settings the same cell reproduces the stored text: the nbval run
  of that chapter in the same suite).
(The reports of a mismatch and of a non-reference machine: tests/test_nbval_reports.py.)
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
# Chapter 14's code cell 3 (nbval's "Cell 3") prints the training losses of two small torch
# models trained with Adam, which change with PyTorch's SIMD dispatch; it needs only the code
# cells before it, and runs in a few seconds.
SENSITIVE = nbt.CHAPTERS / "14_diagnosing_training.ipynb"
SENSITIVE_CELL = 3


def nbval(path: Path, env: dict[str, str], *, book_conftest: bool = False):
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
def test_a_chapter_cell_changes_under_another_dispatch(tmp_path):
    """The cell runs without error but prints other numbers under PyTorch's generic dispatch.
    That it reproduces its stored output under the reference settings is what the nbval run of
    the same chapter in this suite checks."""
    nb = _first_cells(SENSITIVE, SENSITIVE_CELL, tmp_path)
    other = dict(rp.reference_env(), ATEN_CPU_CAPABILITY="default")
    changed = nbval(nb, other)
    out = changed.stdout
    assert changed.returncode != 0 and "1 failed" in out, out[-3000:]
    assert f"Cell {SENSITIVE_CELL}" in out and "Cell outputs differ" in out, out[-3000:]
    assert "Cell execution caused an exception" not in out, out[-3000:]
