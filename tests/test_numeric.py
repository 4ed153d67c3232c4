"""Unit tests of dlbook_lib.numeric (finite differences) against torch.autograd
and closed forms."""
import math

import numpy as np
import pytest
import torch
from torch.autograd.functional import jacobian

from dlbook_lib import numeric as nd


def t64(a):
    return torch.tensor(a, dtype=torch.float64)


def torch_map(x):
    """R^3 -> R^2, nonlinear in every input."""
    return torch.stack([x[0] * torch.sin(x[1]) + x[2] ** 2, torch.exp(x[0] - x[2]) * x[1]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numerical_jacobian_matches_autograd(seed):
    x = np.random.default_rng(seed).normal(size=3)
    numeric = nd.numerical_jacobian(lambda z: torch_map(t64(z)), x)
    exact = jacobian(torch_map, t64(x)).numpy()
    assert numeric.shape == (2, 3)
    np.testing.assert_allclose(numeric, exact, rtol=1e-6, atol=1e-8)


def test_numerical_jacobian_numpy_function_and_matrix_input():
    A = np.random.default_rng(3).normal(size=(2, 3))
    f = lambda X: np.tanh(X).sum(axis=0)  # (2, 3) -> (3,)
    numeric = nd.numerical_jacobian(f, A)
    exact = jacobian(lambda X: torch.tanh(X).sum(dim=0), t64(A)).numpy()
    assert numeric.shape == exact.shape == (3, 2, 3)
    np.testing.assert_allclose(numeric, exact, rtol=1e-6, atol=1e-8)


def test_numerical_jacobian_scalar_in_scalar_out():
    jac = nd.numerical_jacobian(np.sin, 0.3)
    assert jac.shape == ()
    assert abs(float(jac) - math.cos(0.3)) < 1e-9


def test_numerical_jacobian_scalar_out_is_gradient():
    x = np.array([0.5, -1.0, 2.0])
    jac = nd.numerical_jacobian(lambda z: float(np.sum(z**2)), x)
    assert jac.shape == (3,)
    np.testing.assert_allclose(jac, 2 * x, rtol=1e-8)


def test_numerical_jacobian_one_element_vector():
    jac = nd.numerical_jacobian(lambda z: np.exp(z), np.array([0.7]))
    assert jac.shape == (1, 1)
    np.testing.assert_allclose(jac, [[math.exp(0.7)]], rtol=1e-8)


def test_numerical_jacobian_does_not_modify_input():
    x = np.array([1.0, 2.0, 3.0])
    nd.numerical_jacobian(lambda z: z * 2, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_numerical_jacobian_bad_inputs():
    with pytest.raises(ValueError, match="eps"):
        nd.numerical_jacobian(np.sin, [1.0], eps=0.0)
    with pytest.raises(TypeError, match="eps"):
        nd.numerical_jacobian(np.sin, [1.0], eps="small")
    with pytest.raises(ValueError, match="NaN"):
        nd.numerical_jacobian(np.sin, [np.nan])
    with pytest.raises(ValueError, match="empty"):
        nd.numerical_jacobian(np.sin, [])
    with pytest.raises(TypeError, match="numbers"):
        nd.numerical_jacobian(np.sin, ["a"])



@pytest.mark.parametrize("seed", [0, 1])
def test_numerical_vjp_matches_autograd(seed):
    rng = np.random.default_rng(seed)
    x, v = rng.normal(size=3), rng.normal(size=2)
    xt = t64(x).requires_grad_(True)
    (exact,) = torch.autograd.grad(torch_map(xt), xt, grad_outputs=t64(v))
    numeric = nd.numerical_vjp(lambda z: torch_map(t64(z)), x, v)
    np.testing.assert_allclose(numeric, exact.numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(numeric, v @ jacobian(torch_map, t64(x)).numpy(), rtol=1e-6, atol=1e-8)


def test_numerical_vjp_scalar_output_and_bad_v():
    g = nd.numerical_vjp(lambda z: float(np.sum(z**3)), np.array([1.0, 2.0]), 2.0)
    np.testing.assert_allclose(g, 2.0 * 3 * np.array([1.0, 4.0]), rtol=1e-8)
    with pytest.raises(ValueError, match="shape of f\\(x\\)"):
        nd.numerical_vjp(lambda z: z, np.array([1.0, 2.0]), np.ones(3))


def test_numerical_gradient_matches_analytic_and_orders():
    f = lambda v: float(np.sum(np.sin(v) * v**2))
    grad = lambda v: np.cos(v) * v**2 + 2 * v * np.sin(v)
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    np.testing.assert_allclose(nd.numerical_gradient(f, x), grad(x), rtol=1e-8)
    # one-sided differences are an order less accurate than centred ones
    err_c = np.abs(nd.numerical_gradient(f, x, eps=1e-4) - grad(x)).max()
    err_f = np.abs(nd.numerical_gradient(f, x, eps=1e-4, method="forward") - grad(x)).max()
    assert err_f > 100 * err_c
    assert x[0, 0] == 0.3  # input untouched


def test_numerical_gradient_bad_input():
    with pytest.raises(ValueError, match="method"):
        nd.numerical_gradient(np.sum, [1.0], method="backward")
    with pytest.raises(ValueError, match="eps"):
        nd.numerical_gradient(np.sum, [1.0], eps=0.0)
    with pytest.raises(ValueError, match="scalar"):
        nd.numerical_gradient(lambda v: v, [1.0, 2.0])


def test_numerical_gradient_of_a_torch_function():
    f = lambda v: (torch.tensor(v, requires_grad=True) ** 3).sum()
    x = np.array([0.5, -1.5])
    np.testing.assert_allclose(nd.numerical_gradient(f, x), 3 * x**2, rtol=1e-8)
