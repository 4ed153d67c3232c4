"""The pipeline catches what it promises to catch, and the Colab path works.

* a code edit without re-execution makes the fingerprint test fail, with the command to run;
* a changed number in a stored output makes nbval fail (tests/test_reference_platform.py);
* the Colab cell, with a stand-in ``google.colab`` module and a local install source, installs
  dlbook_lib into an environment that lacks it; the chapter's first cells then run there and
  every module of the library imports.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import nbformat

from tools import notebooks as nbt

FIRST = nbt.chapter_notebooks()[0]


def test_fingerprint_detects_a_code_edit_without_re_execution():
    nb = nbformat.read(FIRST, as_version=4)
    assert nbt.stale_reason(nb, FIRST) is None
    nbt.code_cells(nb)[2].source += "\nx_extra = 1"
    reason = nbt.stale_reason(nb, FIRST)
    assert reason and "code cells changed" in reason and nbt.EXECUTE_COMMAND in reason


def test_fingerprint_detects_a_change_in_a_library_module_the_chapter_uses(tmp_path, monkeypatch):
    nb = nbformat.read(FIRST, as_version=4)
    used = nb.metadata[nbt.META_KEY]["fingerprint"]["modules"]
    assert "dlbook_lib.checks" in used
    real = nbt.module_file
    edited = tmp_path / "checks.py"
    edited.write_text(real("dlbook_lib.checks").read_text() + "\n# an edit\n")
    monkeypatch.setattr(nbt, "module_file", lambda m: edited if m == "dlbook_lib.checks" else real(m))
    reason = nbt.stale_reason(nb, FIRST)
    assert reason and "dlbook_lib modules it uses" in reason and nbt.EXECUTE_COMMAND in reason


def test_fingerprint_ignores_markdown_edits():
    nb = nbformat.read(FIRST, as_version=4)
    next(c for c in nb.cells if c.cell_type == "markdown").source += "\nA clarified sentence."
    assert nbt.stale_reason(nb, FIRST) is None


def test_colab_cell_installs_the_library_and_the_chapter_starts(tmp_path):
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    venv = tmp_path / "colab-venv"
    # --without-pip: pip, like torch and numpy, comes from the preinstalled packages below
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   env=clean)
    py = venv / "bin" / "python"
    # Like Colab: torch, numpy, jupyter... are preinstalled (here: visible from this
    # environment's site-packages), dlbook_lib is not.
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True, env=clean).stdout.strip()
    Path(site, "preinstalled.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    lacks = subprocess.run([str(py), "-c", "import dlbook_lib"], cwd=tmp_path, capture_output=True,
                           env=clean)
    assert lacks.returncode != 0, "the stand-in Colab environment must start without dlbook_lib"

    standin = tmp_path / "standin"
    (standin / "google" / "colab").mkdir(parents=True)
    (standin / "google" / "__init__.py").write_text("")
    (standin / "google" / "colab" / "__init__.py").write_text('"""Stand-in for Colab."""\n')

    work = tmp_path / "chapter"
    work.mkdir()
    runner = tmp_path / "run.py"
    runner.write_text(textwrap.dedent(f"""
        import nbformat
        from nbclient import NotebookClient
        nb = nbformat.read({str(FIRST)!r}, as_version=4)
        # the Colab cell, the set-up cell and the first computations (nbval runs the rest);
        # then every module of the library, so a missing dependency shows here
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        nb.cells = nb.cells[:code[4] + 1]
        nb.cells.append(nbformat.v4.new_code_cell(
            "import importlib, pkgutil, sys, dlbook_lib\\n"
            "for m in pkgutil.iter_modules(dlbook_lib.__path__):\\n"
            "    importlib.import_module('dlbook_lib.' + m.name)\\n"
            "print(dlbook_lib.__file__.startswith(sys.prefix))"))
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={{"metadata": {{"path": {str(work)!r}}}}}).execute()
        last = nb.cells[-1].outputs[0]["text"].strip()
        assert last == "True", "dlbook_lib was not imported from the Colab environment: " + last
        print("chapter ran")
    """))
    # install from a copy of the package sources, so the build leaves nothing in the repository
    source = tmp_path / "source"
    shutil.copytree(nbt.ROOT / "dlbook_lib", source / "dlbook_lib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(nbt.ROOT / name, source / name)
    env = dict(clean, PYTHONPATH=str(standin), DLBOOK_LIB_SOURCE=str(source),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    result = subprocess.run([str(py), str(runner)], cwd=work, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0 and "chapter ran" in result.stdout, (
        result.stdout[-3000:] + result.stderr[-3000:])
