"""Hygiene of the committed chapter notebooks and of the table of contents.

nbval (run by the same `pytest` command) re-executes every chapter and compares its stored text
outputs; these tests check what nbval cannot see: order of execution, kernel, leaks of machine
details, the Colab cell, the table of contents and whether the stored outputs still belong to
the current code (the executor's fingerprint).
"""
import json
import re

import nbformat
import pytest

from tools import notebooks as nbt

NOTEBOOKS = nbt.chapter_notebooks()
IDS = [p.name for p in NOTEBOOKS]
ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
MACHINE_PATH = re.compile(r"(/home/|/root/|/work/|/tmp/|/Users/|site-packages|[A-Z]:\\\\)")


def load(path):
    return nbformat.read(path, as_version=4)


def text_outputs(nb):
    for i, cell in enumerate(nbt.code_cells(nb)):
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                yield i, out.text
            elif out.output_type == "error":
                yield i, "\n".join(out.traceback)
            else:
                for mime, value in out.get("data", {}).items():
                    if mime.startswith("text/") or mime == "application/json":
                        yield i, value if isinstance(value, str) else json.dumps(value)


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks found in chapters/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_fully_executed_in_order_without_errors(path):
    nb = load(path)
    counts = [c.execution_count for c in nbt.code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: code cells must be executed once each, top to bottom (execution counts "
        f"{counts}); run `{nbt.EXECUTE_COMMAND} chapters/{path.name}`")
    errors = [i for i, c in enumerate(nbt.code_cells(nb))
              if any(o.output_type == "error" for o in c.outputs)]
    assert not errors, f"{path.name}: code cells {errors} store error outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_kernel(path):
    nb = load(path)
    assert nb.metadata.kernelspec.name == nbt.KERNEL_NAME
    assert nb.metadata.kernelspec.language == "python"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_memory_addresses_or_machine_paths_in_outputs(path):
    for i, text in text_outputs(load(path)):
        assert not ADDRESS.search(text), f"{path.name}, code cell {i}: memory address in output: {text[:200]!r}"
        assert not MACHINE_PATH.search(text), f"{path.name}, code cell {i}: machine path in output: {text[:200]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_colab_cell_first_and_setup_second(path):
    cells = nbt.code_cells(load(path))
    assert cells[0].source == nbt.colab_cell_source(), (
        f"{path.name}: the first code cell must be the Colab install cell generated from "
        f"_config.yml; run `{nbt.EXECUTE_COMMAND} chapters/{path.name}` to refresh it")
    assert set(nbt.COLAB_TAGS) <= set(cells[0].metadata.get("tags", []))
    assert "dlbook_lib.setup(" in cells[1].source, f"{path.name}: the second code cell must call dlbook_lib.setup()"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_fingerprint_is_current(path):
    reason = nbt.stale_reason(load(path), path)
    assert reason is None, reason


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_shape(path):
    nb = load(path)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), (
        f"{path.name}: a chapter starts with a markdown title")
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Summary" in markdown and "## Exercises" in markdown
    assert "{cite" in markdown, f"{path.name}: cite at least one reference"
    solutions = [c for c in nbt.code_cells(nb) if "hide-cell" in c.metadata.get("tags", [])]
    assert solutions, f"{path.name}: exercises need hidden (hide-cell) solution cells"
    assert not any("nbval-skip" in c.metadata.get("tags", []) for c in nbt.code_cells(nb)[1:]), (
        f"{path.name}: only the Colab cell may be skipped by nbval")


def test_toc_and_chapters_correspond_one_to_one():
    entries = nbt.toc_files()
    assert len(entries) == len(set(entries)), f"duplicate entries in _toc.yml: {entries}"
    for entry in entries:
        assert any((nbt.ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), (
            f"_toc.yml lists {entry}, which does not exist")
    chapters_in_toc = {e for e in entries if e.startswith("chapters/")}
    on_disk = {p.relative_to(nbt.ROOT).with_suffix("").as_posix() for p in NOTEBOOKS}
    assert chapters_in_toc == on_disk, (
        f"in _toc.yml but not on disk: {sorted(chapters_in_toc - on_disk)}; "
        f"on disk but not in _toc.yml: {sorted(on_disk - chapters_in_toc)}")


def test_execution_statistics_cover_every_chapter():
    stats = json.loads(nbt.STATS_JSON.read_text())
    recorded = set(stats["chapters"])
    on_disk = {p.relative_to(nbt.ROOT).as_posix() for p in NOTEBOOKS}
    assert recorded == on_disk, f"execution statistics missing for {sorted(on_disk - recorded)}"
    page = nbt.STATS_PAGE.read_text()
    for rel in on_disk:
        assert rel.removesuffix(".ipynb") in page
    for rel, rec in stats["chapters"].items():
        assert rec["seconds"] <= 30.0, f"{rel} took {rec['seconds']} s, over the 30 s budget"


WIDTH = 80  # the book's pages show about 80 characters of code without clipping


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_code_and_printed_lines_fit_the_page(path):
    nb = load(path)
    wide = []
    for i, cell in enumerate(nbt.code_cells(nb)):
        wide += [f"code cell {i}, code: {line[:60]}..." for line in cell.source.splitlines()
                 if len(line) > WIDTH]
    for i, text in text_outputs(nb):
        wide += [f"code cell {i}, output: {line[:60]}..." for line in text.splitlines()
                 if len(line) > WIDTH]
    assert not wide, (f"{path.name}: {len(wide)} lines wider than {WIDTH} characters:\n"
                      + "\n".join(wide[:20]))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_figure_has_a_caption_and_alt_text(path):
    missing = []
    for i, cell in enumerate(nbt.code_cells(load(path))):
        if not any("image/png" in o.get("data", {}) for o in cell.outputs):
            continue
        mystnb = cell.metadata.get("mystnb", {})
        alt = mystnb.get("image", {}).get("alt", "")
        caption = mystnb.get("figure", {}).get("caption", "")
        if not caption or len(alt.split()) < 5 or "$" in alt:
            missing.append(i)
    assert not missing, (
        f"{path.name}: code cells {missing} draw a figure without a caption "
        "(metadata mystnb.figure.caption) or without alt text of five words or more, in plain "
        "text (mystnb.image.alt)")


VERDICT = ("\u2713", "\u2717")
EXERCISE_HEADING = re.compile(r"\*\*Exercise (\d+\.\d+)\b")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_one_verdict_line_per_check_cell(path):
    crowded = []
    for i, text in text_outputs(load(path)):
        n = sum(1 for line in text.splitlines() if line.lstrip().startswith(VERDICT))
        if n > 1:
            crowded.append(f"code cell {i}: {n} verdict lines")
    assert not crowded, (
        f"{path.name}: a check cell prints one verdict line (use dlbook_lib.checks.group for "
        "many comparisons):\n" + "\n".join(crowded))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercises_check_themselves_and_solutions_are_hidden(path):
    nb = load(path)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    code = [c for c in nbt.code_cells(nb)]
    names = EXERCISE_HEADING.findall(markdown)
    assert names, f"{path.name}: no exercises"
    all_code = "\n".join(c.source for c in code)
    unchecked = [n for n in names if f'exercise("{n}"' not in all_code]
    assert not unchecked, (f"{path.name}: exercises {unchecked} have no checker "
                           f'(dlbook_lib.exercises.exercise("N.k", test, answer_N_k, hint=...))')
    solutions = [c for c in code if nbt.SOLUTION_TAG in c.metadata.get("tags", [])]
    for name in names:
        verified = [c for c in solutions if f"ex_{name.replace('.', '_')}.verify(" in c.source]
        assert verified, (f"{path.name}: exercise {name} needs a cell tagged "
                          f"'{nbt.SOLUTION_TAG}' that calls ex_{name.replace('.', '_')}"
                          ".verify(solution, wrong=..., wrong_is=...)")
    for cell in solutions:
        assert (cell.source.startswith(nbt.SOLUTION_TITLE)
                and cell.metadata.get("jupyter", {}).get("source_hidden")
                and cell.metadata.get("cellView") == "form"
                and "hide-cell" in cell.metadata.get("tags", [])), (
            f"{path.name}: a solution cell is not hidden in HTML, Jupyter and Colab; "
            "re-run python -m tools.execute on the chapter")
    answers = [c for c in code if re.search(r"^(answer|prediction)_\d+_\d+ = None", c.source,
                                            re.M)]
    assert len(answers) >= len(names), (
        f"{path.name}: each exercise needs a cell where the reader writes the answer "
        "(answer_N_k = None or prediction_N_k = None)")
    assert "one_of(" in all_code and "prediction_" in all_code, (
        f"{path.name}: at least one exercise asks the reader to predict an outcome "
        "(prediction_N_k checked with dlbook_lib.exercises.one_of)")
