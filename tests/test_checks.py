import numpy as np
import pytest
import torch

from dlbook_lib import checks


def test_compare_passes_and_fails_on_the_allclose_rule():
    assert checks.compare([1.0, 2.0], [1.0, 2.0 + 1e-9], rtol=1e-8).passed
    assert not checks.compare([1.0, 2.0], [1.0, 2.0 + 1e-6], rtol=1e-8).passed
    # near zero the absolute tolerance decides
    assert checks.compare([1e-13], [0.0], rtol=1e-8, atol=1e-12).passed
    assert not checks.compare([1e-11], [0.0], rtol=1e-8, atol=1e-12).passed


def test_compare_accepts_torch_and_reports_errors():
    c = checks.compare(torch.tensor([1.0, 4.0], dtype=torch.float64), np.array([1.0, 2.0]))
    assert not c.passed
    assert c.max_abs_error == pytest.approx(2.0)
    assert c.max_rel_error == pytest.approx(1.0)
    assert "✗" in c.verdict() and "2.000e+00" in c.verdict()


def test_verdict_is_deterministic_and_hides_the_measured_error():
    a = checks.compare([1.0], [1.0 + 1e-15], "x", rtol=1e-10)
    b = checks.compare([1.0], [1.0 + 3e-15], "x", rtol=1e-10)
    assert a.verdict() == b.verdict() == "✓ x (rel. tol 1e-10, abs. tol 1e-12)"


def test_check_close_prints_and_raises(capsys):
    checks.check_close([1.0], [1.0], "same")
    assert capsys.readouterr().out.startswith("✓ same")
    with pytest.raises(AssertionError, match="✗ different"):
        checks.check_close([1.0], [2.0], "different")


@pytest.mark.parametrize(
    "args, kwargs, exc, msg",
    [
        (([1.0, 2.0], [1.0]), {}, ValueError, "shape"),
        (([1.0], [1.0]), {"rtol": -1.0}, ValueError, "rtol"),
        (([1.0], [1.0]), {"rtol": 0.0, "atol": 0.0}, ValueError, "both be 0"),
        ((["a"], [1.0]), {}, TypeError, "numbers"),
        (([np.nan], [1.0]), {}, ValueError, "NaN"),
        (([], []), {}, ValueError, "empty"),
    ],
)
def test_compare_rejects_bad_input(args, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        checks.compare(*args, **kwargs)


def test_check_true(capsys):
    checks.check_true(1 < 2, "order")
    assert capsys.readouterr().out == "✓ order\n"
    with pytest.raises(AssertionError, match="✗ order: detail"):
        checks.check_true(False, "order", "detail")


def test_group_prints_one_line_and_counts(capsys):
    from dlbook_lib import checks
    with checks.group("three things agree") as c:
        c.close(1.0, 1.0, rtol=1e-10)
        c.close([1.0, 2.0], [1.0, 2.0 + 1e-12], rtol=1e-9)
        c.true(2 > 1, "order")
    out = capsys.readouterr().out
    assert out == "\u2713 three things agree (3 checks, rel. tol 1e-09)\n"


def test_group_failure_lists_items_and_raises(capsys):
    from dlbook_lib import checks
    with pytest.raises(AssertionError, match="1 of 2 checks failed"):
        with checks.group("two things") as c:
            c.close(1.0, 1.0)
            c.close(1.0, 2.0, "the second")
    out = capsys.readouterr().out
    assert out.startswith("\u2717 two things") and "the second" in out


def test_empty_group_fails():
    from dlbook_lib import checks
    with pytest.raises(AssertionError, match="checked nothing"):
        with checks.group("nothing"):
            pass


def test_group_verdict_wraps_like_say(capsys):
    what = "a claim long enough to need a second line on the page " * 2
    with checks.group(what.strip()) as c:
        c.true(True, "x")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("  ")
    assert max(len(line) for line in lines) <= checks.WIDTH
