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
        (([1.0], [1.0]), {"what": ""}, TypeError, "non-empty"),
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
    with pytest.raises(TypeError, match="single truth value"):
        checks.check_true(np.array([True, False]), "array")


def test_numerical_gradient_matches_analytic_and_orders():
    f = lambda v: float(np.sum(np.sin(v) * v**2))
    grad = lambda v: np.cos(v) * v**2 + 2 * v * np.sin(v)
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    np.testing.assert_allclose(checks.numerical_gradient(f, x), grad(x), rtol=1e-8)
    # one-sided differences are an order less accurate than centred ones
    err_c = np.abs(checks.numerical_gradient(f, x, eps=1e-4) - grad(x)).max()
    err_f = np.abs(checks.numerical_gradient(f, x, eps=1e-4, method="forward") - grad(x)).max()
    assert err_f > 100 * err_c
    assert x[0, 0] == 0.3  # input untouched


def test_numerical_gradient_bad_input():
    with pytest.raises(TypeError, match="callable"):
        checks.numerical_gradient(3, [1.0])
    with pytest.raises(ValueError, match="method"):
        checks.numerical_gradient(np.sum, [1.0], method="backward")
    with pytest.raises(ValueError, match="eps"):
        checks.numerical_gradient(np.sum, [1.0], eps=0.0)
    with pytest.raises(ValueError, match="scalar"):
        checks.numerical_gradient(lambda v: v, [1.0, 2.0])


def test_check_gradient_catches_a_wrong_gradient():
    f = lambda v: float(np.sum(v**3))
    x = np.array([0.5, -1.5])
    checks.check_gradient(f, 3 * x**2, x, "right")
    with pytest.raises(AssertionError):
        checks.check_gradient(f, 2 * x**2, x, "wrong")
    with pytest.raises(ValueError, match="shape"):
        checks.check_gradient(f, np.zeros(3), x, "shape")
