"""Unit tests of dlbook_lib.calculus against torch.autograd and closed forms."""
import math

import numpy as np
import pytest
import torch
from torch.autograd.functional import jacobian

from dlbook_lib import calculus


def t64(a):
    return torch.tensor(a, dtype=torch.float64)


def torch_map(x):
    """R^3 -> R^2, nonlinear in every input."""
    return torch.stack([x[0] * torch.sin(x[1]) + x[2] ** 2, torch.exp(x[0] - x[2]) * x[1]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numerical_jacobian_matches_autograd(seed):
    x = np.random.default_rng(seed).normal(size=3)
    numeric = calculus.numerical_jacobian(lambda z: torch_map(t64(z)), x)
    exact = jacobian(torch_map, t64(x)).numpy()
    assert numeric.shape == (2, 3)
    np.testing.assert_allclose(numeric, exact, rtol=1e-6, atol=1e-8)


def test_numerical_jacobian_numpy_function_and_matrix_input():
    A = np.random.default_rng(3).normal(size=(2, 3))
    f = lambda X: np.tanh(X).sum(axis=0)  # (2, 3) -> (3,)
    numeric = calculus.numerical_jacobian(f, A)
    exact = jacobian(lambda X: torch.tanh(X).sum(dim=0), t64(A)).numpy()
    assert numeric.shape == exact.shape == (3, 2, 3)
    np.testing.assert_allclose(numeric, exact, rtol=1e-6, atol=1e-8)


def test_numerical_jacobian_scalar_in_scalar_out():
    jac = calculus.numerical_jacobian(np.sin, 0.3)
    assert jac.shape == ()
    assert abs(float(jac) - math.cos(0.3)) < 1e-9


def test_numerical_jacobian_scalar_out_is_gradient():
    x = np.array([0.5, -1.0, 2.0])
    jac = calculus.numerical_jacobian(lambda z: float(np.sum(z**2)), x)
    assert jac.shape == (3,)
    np.testing.assert_allclose(jac, 2 * x, rtol=1e-8)


def test_numerical_jacobian_one_element_vector():
    jac = calculus.numerical_jacobian(lambda z: np.exp(z), np.array([0.7]))
    assert jac.shape == (1, 1)
    np.testing.assert_allclose(jac, [[math.exp(0.7)]], rtol=1e-8)


def test_numerical_jacobian_does_not_modify_input():
    x = np.array([1.0, 2.0, 3.0])
    calculus.numerical_jacobian(lambda z: z * 2, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_numerical_jacobian_bad_inputs():
    with pytest.raises(TypeError, match="callable"):
        calculus.numerical_jacobian(3.0, [1.0])
    with pytest.raises(ValueError, match="eps"):
        calculus.numerical_jacobian(np.sin, [1.0], eps=0.0)
    with pytest.raises(TypeError, match="eps"):
        calculus.numerical_jacobian(np.sin, [1.0], eps="small")
    with pytest.raises(ValueError, match="NaN"):
        calculus.numerical_jacobian(np.sin, [np.nan])
    with pytest.raises(ValueError, match="empty"):
        calculus.numerical_jacobian(np.sin, [])
    with pytest.raises(TypeError, match="numbers"):
        calculus.numerical_jacobian(np.sin, ["a"])
    with pytest.raises(ValueError, match="f\\(x\\)"):
        calculus.numerical_jacobian(lambda z: z * np.inf, [1.0])  # infinite output
    with pytest.raises(ValueError, match="same shape"):
        calculus.numerical_jacobian(lambda z: np.zeros(2) if z[0] == 1.0 else np.zeros(3), [1.0])


@pytest.mark.parametrize("seed", [0, 1])
def test_numerical_vjp_matches_autograd(seed):
    rng = np.random.default_rng(seed)
    x, v = rng.normal(size=3), rng.normal(size=2)
    xt = t64(x).requires_grad_(True)
    (exact,) = torch.autograd.grad(torch_map(xt), xt, grad_outputs=t64(v))
    numeric = calculus.numerical_vjp(lambda z: torch_map(t64(z)), x, v)
    np.testing.assert_allclose(numeric, exact.numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(numeric, v @ jacobian(torch_map, t64(x)).numpy(), rtol=1e-6, atol=1e-8)


def test_numerical_vjp_scalar_output_and_bad_v():
    g = calculus.numerical_vjp(lambda z: float(np.sum(z**3)), np.array([1.0, 2.0]), 2.0)
    np.testing.assert_allclose(g, 2.0 * 3 * np.array([1.0, 4.0]), rtol=1e-8)
    with pytest.raises(ValueError, match="shape of f\\(x\\)"):
        calculus.numerical_vjp(lambda z: z, np.array([1.0, 2.0]), np.ones(3))
    with pytest.raises(TypeError, match="callable"):
        calculus.numerical_vjp(None, [1.0], [1.0])


def example_graph():
    g = calculus.ComputationalGraph()
    g.input("x"); g.input("y")
    g.op("a", "mul", "x", "y"); g.op("b", "sin", "x"); g.op("c", "add", "a", "b")
    g.op("d", "neg", "y"); g.op("e", "exp", "d"); g.op("f", "mul", "c", "e")
    return g


@pytest.mark.parametrize("point", [(1.2, 0.7), (-0.3, 2.0), (0.0, 0.0)])
def test_graph_values_and_adjoints_match_autograd(point):
    g = example_graph()
    values = g.forward(x=point[0], y=point[1])
    adjoint = g.backward(values)
    p = t64(point).requires_grad_(True)
    f = (p[0] * p[1] + torch.sin(p[0])) * torch.exp(-p[1])
    (grad,) = torch.autograd.grad(f, p)
    assert abs(values["f"] - f.item()) < 1e-14
    np.testing.assert_allclose([adjoint["x"], adjoint["y"]], grad.numpy(), rtol=1e-12, atol=1e-15)
    assert adjoint["f"] == 1.0


def test_every_primitive_derivative_matches_autograd():
    torch_ops = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "neg": torch.neg,
                 "square": torch.square, "sin": torch.sin, "cos": torch.cos, "exp": torch.exp,
                 "log": torch.log, "tanh": torch.tanh}
    assert set(torch_ops) == set(calculus.PRIMITIVES)
    args = [0.7, 1.9]
    for name, prim in calculus.PRIMITIVES.items():
        xs = [t64(a).requires_grad_(True) for a in args[:prim.arity]]
        out = torch_ops[name](*xs)
        grads = torch.autograd.grad(out, xs)
        assert abs(prim.value(*args[:prim.arity]) - out.item()) < 1e-14, name
        np.testing.assert_allclose(prim.partials(*args[:prim.arity]), [gr.item() for gr in grads],
                                   rtol=1e-14, err_msg=name)


def test_graph_unused_node_gets_zero_adjoint_and_reused_node_accumulates():
    g = calculus.ComputationalGraph()
    g.input("x"); g.input("unused")
    g.op("s", "mul", "x", "x")  # the same parent twice: d(x*x)/dx = 2x
    values = g.forward(x=3.0, unused=5.0)
    adjoint = g.backward(values)
    assert adjoint["x"] == 6.0 and adjoint["unused"] == 0.0


def test_graph_table_and_single_input():
    g = calculus.ComputationalGraph()
    g.input("x")
    g.op("y", "tanh", "x")
    rows = g.table(x=0.5)
    assert [r[0] for r in rows] == ["x", "y"]
    assert rows[1][1] == "tanh(x)"
    assert abs(rows[0][3] - (1 - math.tanh(0.5) ** 2)) < 1e-15


def test_graph_backward_to_an_intermediate_output():
    g = example_graph()
    adjoint = g.backward(g.forward(x=1.0, y=2.0), output="c")
    assert adjoint["y"] == 1.0  # c = x*y + sin x, so dc/dy = x
    assert adjoint["e"] == 0.0 and adjoint["f"] == 0.0


def test_graph_bad_inputs():
    g = calculus.ComputationalGraph()
    with pytest.raises(ValueError, match="empty"):
        g.backward({})
    g.input("x")
    with pytest.raises(ValueError, match="already exists"):
        g.input("x")
    with pytest.raises(ValueError, match="identifiers"):
        g.input("not a name")
    with pytest.raises(ValueError, match="unknown operation"):
        g.op("y", "relu", "x")
    with pytest.raises(ValueError, match="takes 2"):
        g.op("y", "mul", "x")
    with pytest.raises(ValueError, match="undefined"):
        g.op("y", "add", "x", "z")
    g.op("y", "log", "x")
    with pytest.raises(ValueError, match="exactly the inputs"):
        g.forward(x=1.0, z=2.0)
    with pytest.raises(TypeError, match="real number"):
        g.forward(x="1")
    with pytest.raises(ValueError, match="positive"):
        g.forward(x=-1.0)
    with pytest.raises(ValueError, match="unknown output"):
        g.backward(g.forward(x=1.0), output="q")
    with pytest.raises(ValueError, match="missing"):
        g.backward({"x": 1.0})
