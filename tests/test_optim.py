"""Momentum and Nesterov momentum (dlbook_lib.optim) against torch.optim.SGD and closed forms."""
import numpy as np
import pytest
import torch

from dlbook_lib import optim

LAMS = np.array([1.0, 3.0, 10.0, 30.0])


def quad_loss(th):
    return 0.5 * np.sum(LAMS * th ** 2)


def quad_grad(th):
    return LAMS * th


def rosen_loss(th):
    return (1 - th[0]) ** 2 + 100 * (th[1] - th[0] ** 2) ** 2


def rosen_grad(th):
    return np.array([-2 * (1 - th[0]) - 400 * th[0] * (th[1] - th[0] ** 2), 200 * (th[1] - th[0] ** 2)])


def torch_path(grad, theta0, lr, mu, steps, nesterov):
    th = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([th], lr=lr, momentum=mu, nesterov=nesterov)
    out = [th.detach().numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        th.grad = torch.tensor(grad(th.detach().numpy()))
        opt.step()
        out.append(th.detach().numpy().copy())
    return np.array(out)


@pytest.mark.parametrize("problem", [(quad_loss, quad_grad, np.ones(4), 0.02),
                                     (rosen_loss, rosen_grad, np.array([-1.2, 1.0]), 1e-3)])
@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9])
def test_momentum_forms_match_torch(problem, mu):
    loss, grad, th0, lr = problem
    for form in ("velocity", "buffer"):
        run = optim.momentum_sgd(loss, grad, th0, lr=lr, momentum=mu, steps=100, form=form)
        assert run.params.shape == (101, len(th0)) and len(run.losses) == 101
        np.testing.assert_allclose(run.params, torch_path(grad, th0, lr, mu, 100, False), rtol=1e-12, atol=1e-14)
    nest = optim.nesterov_sgd(loss, grad, th0, lr=lr, momentum=mu, steps=100, form="buffer")
    if mu > 0:  # torch refuses nesterov=True without momentum
        np.testing.assert_allclose(nest.params, torch_path(grad, th0, lr, mu, 100, True), rtol=1e-12, atol=1e-14)
    look = optim.nesterov_sgd(loss, grad, th0, lr=lr, momentum=mu, steps=100, form="lookahead").params
    phi = look.copy()
    phi[1:] = look[1:] + mu * (look[1:] - look[:-1])
    np.testing.assert_allclose(nest.params, phi, rtol=1e-10, atol=1e-12)


def test_zero_momentum_is_gradient_descent_and_zero_steps():
    gd = optim.gradient_descent(quad_loss, quad_grad, np.ones(4), lr=0.05, steps=20)
    for fn in (optim.momentum_sgd, optim.nesterov_sgd):
        run = fn(quad_loss, quad_grad, np.ones(4), lr=0.05, momentum=0.0, steps=20)
        np.testing.assert_allclose(run.params, gd.params, rtol=1e-14)
        assert fn(quad_loss, quad_grad, np.ones(4), lr=0.05, momentum=0.9, steps=0).params.shape == (1, 4)


def test_heavy_ball_rate_on_a_quadratic():
    lmin, lmax = LAMS.min(), LAMS.max()
    kappa = lmax / lmin
    eta = 4 / (np.sqrt(lmax) + np.sqrt(lmin)) ** 2
    mu = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
    run = optim.momentum_sgd(quad_loss, quad_grad, np.ones(4), lr=eta, momentum=mu, steps=120)
    err = np.linalg.norm(run.params, axis=1)
    rate = np.exp(np.polyfit(np.arange(60, 120), np.log(err[60:120]), 1)[0])
    assert rate == pytest.approx(np.sqrt(mu), rel=0.03)


def test_divergence_stops_early():
    run = optim.momentum_sgd(quad_loss, quad_grad, np.ones(4), lr=1.0, momentum=0.9, steps=10_000)
    assert len(run.losses) < 10_001 and run.losses[-1] > 1e12
    run = optim.nesterov_sgd(quad_loss, quad_grad, np.ones(4), lr=1.0, momentum=0.9, steps=10_000)
    assert len(run.losses) < 10_001


def test_bad_inputs():
    with pytest.raises(ValueError, match="momentum"):
        optim.momentum_sgd(quad_loss, quad_grad, np.ones(4), lr=0.1, momentum=1.0, steps=1)
    with pytest.raises(ValueError, match="momentum"):
        optim.nesterov_sgd(quad_loss, quad_grad, np.ones(4), lr=0.1, momentum=-0.1, steps=1)
    with pytest.raises(ValueError, match="form"):
        optim.momentum_sgd(quad_loss, quad_grad, np.ones(4), lr=0.1, momentum=0.9, steps=1, form="torch")
    with pytest.raises(ValueError, match="form"):
        optim.nesterov_sgd(quad_loss, quad_grad, np.ones(4), lr=0.1, momentum=0.9, steps=1, form="velocity")
    with pytest.raises(ValueError, match="lr"):
        optim.momentum_sgd(quad_loss, quad_grad, np.ones(4), lr=0.0, momentum=0.9, steps=1)
    with pytest.raises(ValueError, match="grad returned shape"):
        optim.nesterov_sgd(quad_loss, lambda th: np.zeros(3), np.ones(4), lr=0.1, momentum=0.9, steps=1)
    with pytest.raises(TypeError, match="callables"):
        optim.momentum_sgd(None, quad_grad, np.ones(4), lr=0.1, momentum=0.9, steps=1)
    with pytest.raises(ValueError, match="dimension"):
        optim.momentum_sgd(quad_loss, quad_grad, np.ones((2, 2)), lr=0.1, momentum=0.9, steps=1)
