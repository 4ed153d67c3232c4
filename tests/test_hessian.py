"""Hessian-vector products, full Hessians, power iteration and Lanczos (dlbook_lib.hessian)."""
import numpy as np
import pytest
import torch

from dlbook_lib import hessian


def small_problem(seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(25, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(25, generator=gen, dtype=torch.float64)
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
    params = list(net.parameters())

    def closure():
        return ((net(x).squeeze(1) - y) ** 2).mean()

    def flat_loss(theta):
        W1, b1, W2, b2 = hessian.unflatten(theta, params)
        return ((torch.tanh(x @ W1.T + b1) @ W2.T + b2).squeeze(1) - y).pow(2).mean()

    reference = torch.autograd.functional.hessian(flat_loss, hessian.flatten(params).detach())
    return closure, params, reference.numpy()


def test_flatten_unflatten_round_trip():
    a, b = torch.arange(6.0).reshape(2, 3), torch.tensor([7.0])
    flat = hessian.flatten([a, b])
    assert flat.tolist() == [0, 1, 2, 3, 4, 5, 7]
    back = hessian.unflatten(flat, [a, b])
    assert torch.equal(back[0], a) and torch.equal(back[1], b)


def test_hvp_and_full_hessian_match_autograd():
    closure, params, H = small_problem()
    n = hessian.num_params(params)
    assert n == 21
    rng = np.random.default_rng(0)
    for _ in range(3):
        v = torch.tensor(rng.normal(size=n))
        np.testing.assert_allclose(hessian.hvp(closure, params, v).numpy(), H @ v.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(hessian.full_hessian(closure, params).numpy(), H, rtol=1e-10, atol=1e-13)
    # zero vector gives zero product
    assert torch.count_nonzero(hessian.hvp(closure, params, torch.zeros(n))) == 0


def test_hvp_of_linear_loss_is_zero():
    w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    out = hessian.hvp(lambda: (w * torch.tensor([3.0, 4.0], dtype=torch.float64)).sum(), [w],
                      torch.ones(2, dtype=torch.float64))
    assert torch.equal(out, torch.zeros(2, dtype=torch.float64))


def test_power_iteration_and_lanczos_match_eigvalsh():
    closure, params, H = small_problem(2)
    lam = np.linalg.eigvalsh(H)
    top, vec = hessian.power_iteration(closure, params, iters=2000, tol=1e-13)
    dominant = lam[np.argmax(np.abs(lam))]
    assert top == pytest.approx(dominant, rel=1e-6)
    assert float(vec.norm()) == pytest.approx(1.0, rel=1e-12)
    ritz = hessian.lanczos(closure, params, len(lam))
    np.testing.assert_allclose(ritz, lam, rtol=1e-7, atol=1e-10)
    few = hessian.lanczos(closure, params, 12)
    assert len(few) == 12 and lam[0] - 1e-12 <= few[0] and few[-1] <= lam[-1] + 1e-12
    assert hessian.lanczos(closure, params, 1).shape == (1,)  # one step: the Rayleigh quotient


def test_lanczos_stops_when_krylov_space_is_exhausted():
    w = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    D = torch.tensor([1.0, 1.0, 3.0, 3.0], dtype=torch.float64)
    ritz = hessian.lanczos(lambda: 0.5 * (D * w * w).sum(), [w], 4)
    np.testing.assert_allclose(ritz, [1.0, 3.0], rtol=1e-12)  # two distinct eigenvalues only


def test_classify_critical_point():
    assert hessian.classify_critical_point([1.0, 2.0]) == "minimum"
    assert hessian.classify_critical_point([-1.0, -2.0]) == "maximum"
    assert hessian.classify_critical_point([-1.0, 0.0, 2.0]) == "saddle"
    assert hessian.classify_critical_point([0.0, 2.0]) == "inconclusive"
    assert hessian.classify_critical_point([1e-12, 2.0]) == "inconclusive"
    assert hessian.classify_critical_point([0.0, 0.0]) == "inconclusive"


def test_bad_inputs():
    closure, params, _ = small_problem()
    with pytest.raises(TypeError, match="list of tensors"):
        hessian.hvp(closure, params[0], torch.zeros(3))
    with pytest.raises(ValueError, match="k must be <="):
        hessian.lanczos(closure, params, 22)
    with pytest.raises(ValueError, match="iters"):
        hessian.power_iteration(closure, params, iters=0)
    with pytest.raises(ValueError, match="tol"):
        hessian.power_iteration(closure, params, tol=-1.0)
    with pytest.raises(ValueError, match="seed"):
        hessian.lanczos(closure, params, 3, seed=-1)
    with pytest.raises(ValueError, match="tol"):
        hessian.classify_critical_point([1.0], tol=-1.0)
