"""dlbook_lib.activations against PyTorch (values and autograd derivatives), including the
kink at 0, extreme inputs and an unknown name."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlbook_lib import activations as act

TORCH_TWINS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.01),
    "prelu": lambda t: F.prelu(t, torch.tensor([0.25], dtype=t.dtype)),
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
    "silu": F.silu,
    "hard_sigmoid": lambda t: torch.clamp(t, 0.0, 1.0),
}
# includes the kink at 0 (exactly), tiny inputs, a dense grid and extreme inputs
GRID = np.concatenate([np.linspace(-8.0, 8.0, 801), [-1e-300, 1e-300, -1000.0, 1000.0, -40.0, 40.0]])
assert 0.0 in GRID


def torch_value_and_grad(name, x):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = TORCH_TWINS[name](xt)
    y.sum().backward()
    return y.detach().numpy(), xt.grad.numpy()


def test_registry_matches_the_twins():
    assert set(act.ACTIVATIONS) == set(TORCH_TWINS)


@pytest.mark.parametrize("name", sorted(set(TORCH_TWINS) - {"hard_sigmoid"}))
def test_torch_module_is_the_twin(name):
    t = torch.tensor(GRID, dtype=torch.float32)
    with torch.no_grad():
        torch.testing.assert_close(act.torch_module(name)(t), TORCH_TWINS[name](t))


def test_torch_module_refuses_an_activation_without_twin():
    with pytest.raises(ValueError, match="no torch.nn twin"):
        act.torch_module("hard_sigmoid")


@pytest.mark.parametrize("name", sorted(TORCH_TWINS))
def test_values_and_derivatives_match_torch(name):
    a = act.get(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow or invalid-value warnings fail the test
        values, grads = a.f(GRID), a.grad(GRID)
    ref_values, ref_grads = torch_value_and_grad(name, GRID)
    assert values.dtype == np.float64 and grads.dtype == np.float64
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grads))
    np.testing.assert_allclose(values, ref_values, rtol=1e-12, atol=1e-15)
    # derivatives in the far tails are differences of large terms: absolute round-off ~1e-15
    np.testing.assert_allclose(grads, ref_grads, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(TORCH_TWINS))
def test_derivative_at_zero_is_torchs_choice_exactly(name):
    _, ref = torch_value_and_grad(name, np.array([0.0]))
    assert act.get(name).grad(np.array([0.0]))[0] == pytest.approx(ref[0], rel=1e-15, abs=0.0)


@pytest.mark.parametrize("name", sorted(TORCH_TWINS))
def test_huge_inputs_give_finite_results_without_warnings(name):
    a = act.get(name)
    x = np.array([-1e300, -1e30, 1e30, 1e300])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values, grads = a.f(x), a.grad(x)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grads))


@pytest.mark.parametrize("name", sorted(TORCH_TWINS))
def test_derivative_matches_central_differences_away_from_kinks(name):
    a = act.get(name)
    x = np.array([-3.3, -1.1, -0.4, 0.3, 0.9, 2.7])
    h = 1e-6
    fd = (a.f(x + h) - a.f(x - h)) / (2 * h)
    np.testing.assert_allclose(a.grad(x), fd, rtol=1e-7, atol=1e-9)


def test_registry_ranges_and_constants():
    x = np.linspace(-60, 60, 120001)
    for a in act.ACTIVATIONS.values():
        v = a.f(x)
        assert v.min() >= a.low - 1e-12 and v.max() <= a.high
        if math.isfinite(a.low):
            assert v.min() - a.low < 1e-6
    assert act.SELU_LAMBDA == pytest.approx(F.selu(torch.tensor(1.0, dtype=torch.float64)).item(), rel=1e-15)
    assert act.SELU_LAMBDA * act.SELU_ALPHA == pytest.approx(
        -F.selu(torch.tensor(-800.0, dtype=torch.float64)).item(), rel=1e-15)


def test_identities():
    x = np.linspace(-20, 20, 4001)
    np.testing.assert_allclose(act.tanh(x), 2 * act.sigmoid(2 * x) - 1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(act.tanh_grad(x), 1 - np.tanh(x) ** 2, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(act.sigmoid_grad(x), act.sigmoid(x) * (1 - act.sigmoid(x)), rtol=1e-9, atol=1e-15)
    assert act.sigmoid_grad(x).max() == 0.25 and act.sigmoid_grad(0.0) == 0.25
    np.testing.assert_allclose(act.selu(x), act.SELU_LAMBDA * act.elu(x, act.SELU_ALPHA), rtol=1e-15)
    np.testing.assert_allclose(act.prelu(x, 0.3), act.leaky_relu(x, 0.3), rtol=0)


@pytest.mark.parametrize("a", [0.25, -1.0, 1.5])
def test_prelu_slope_gradient_matches_autograd(a):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=50), [0.0]])
    upstream = rng.normal(size=51)
    xt = torch.tensor(x, requires_grad=True)
    at = torch.tensor([a], dtype=torch.float64, requires_grad=True)
    (F.prelu(xt, at) * torch.tensor(upstream)).sum().backward()
    assert np.sum(upstream * act.prelu_grad_a(x, a)) == pytest.approx(at.grad.item(), rel=1e-12)
    np.testing.assert_allclose(upstream * act.prelu_grad(x, a), xt.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(act.prelu(x, a), F.prelu(xt, at).detach().numpy(), rtol=1e-15)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_elu_with_other_alphas(alpha):
    xt = torch.tensor(GRID, requires_grad=True)
    F.elu(xt, alpha=alpha).sum().backward()
    np.testing.assert_allclose(act.elu(GRID, alpha), F.elu(xt, alpha=alpha).detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(act.elu_grad(GRID, alpha), xt.grad.numpy(), rtol=1e-13)


@pytest.mark.parametrize("shape", [(7, 2), (3, 5, 4), (1, 3)])
def test_maxout_and_its_gradient_match_torch(shape):
    rng = np.random.default_rng(1)
    z = rng.normal(size=shape)
    z[0, ..., 1] = z[0, ..., 0]  # a tie: the first piece wins, as in torch.max(dim=-1)
    zt = torch.tensor(z, requires_grad=True)
    upstream = torch.tensor(rng.normal(size=shape[:-1]))
    out = zt.max(dim=-1).values
    (out * upstream).sum().backward()
    np.testing.assert_allclose(act.maxout(z), out.detach().numpy(), rtol=0)
    np.testing.assert_allclose(upstream.numpy()[..., None] * act.maxout_grad(z), zt.grad.numpy(), rtol=0)
    assert np.all(act.maxout_grad(z).sum(axis=-1) == 1)


def test_maxout_with_a_zero_piece_is_relu():
    z = np.linspace(-3, 3, 61)
    np.testing.assert_array_equal(act.maxout(np.stack([z, np.zeros_like(z)], axis=-1)), act.relu(z))


def test_shapes_scalars_and_lists():
    assert act.relu(-2).shape == () and act.relu(-2) == 0.0
    assert act.sigmoid([[0.0, 0.0]]).shape == (1, 2)
    assert act.gelu(torch.tensor([1.0])).dtype == np.float64
    assert act.get("silu").f(0.0) == 0.0


def test_unknown_activation_name_is_rejected():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        act.get("swish")
