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


# --- update rules with state (optim.Optimizer) -------------------------------

def torch_rule_path(theta0, steps, make_opt, make_sched=None):
    """Iterates of a torch optimiser (and scheduler) on the Rosenbrock
    function, one scheduler step per update."""
    th = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    opt = make_opt([th])
    sched = make_sched(opt) if make_sched else None
    out = [th.detach().numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        th.grad = torch.from_numpy(rosen_grad(th.detach().numpy()))
        opt.step()
        if sched:
            sched.step()
        out.append(th.detach().numpy().copy())
    return np.array(out)


RULES = {
    "plain": (lambda: optim.SGD(1e-3),
              lambda p: torch.optim.SGD(p, lr=1e-3)),
    "momentum": (lambda: optim.SGD(1e-3, momentum=0.9),
                 lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9)),
    "dampening": (lambda: optim.SGD(1e-3, momentum=0.9, dampening=0.5),
                  lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9,
                                            dampening=0.5)),
    "nesterov+decay": (
        lambda: optim.SGD(1e-3, momentum=0.8, nesterov=True,
                          weight_decay=0.1),
        lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.8, nesterov=True,
                                  weight_decay=0.1)),
}


@pytest.mark.parametrize("name", RULES)
def test_sgd_rules_equal_torch_over_60_steps(name):
    ours, theirs = RULES[name]
    path = optim.run(ours(), rosen_loss, rosen_grad, [-1.2, 1.0],
                     steps=60).params
    np.testing.assert_allclose(path, torch_rule_path([-1.2, 1.0], 60, theirs),
                               rtol=1e-12, atol=1e-12)


SCHEDULES = {
    "step": (optim.step_decay(2e-3, 10, 0.5),
             lambda o: torch.optim.lr_scheduler.StepLR(o, 10, 0.5)),
    "exponential": (optim.exponential(2e-3, 0.97),
                    lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.97)),
    # over T_max steps only: past T_max torch's rate rises again (a cosine
    # of period 2 T_max), ours stays at lr_min
    "cosine": (optim.cosine(2e-3, 50, 1e-4),
               lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(
                   o, T_max=50, eta_min=1e-4)),
    "warmup": (optim.warmup(2e-3, 10, start=0.1),
               lambda o: torch.optim.lr_scheduler.LinearLR(
                   o, start_factor=0.1, total_iters=10)),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedules_with_momentum_equal_torch_schedulers(name):
    schedule, make_sched = SCHEDULES[name]
    rule = optim.SGD(schedule, momentum=0.9)
    path = optim.run(rule, rosen_loss, rosen_grad, [-1.2, 1.0],
                     steps=50).params
    ref = torch_rule_path(
        [-1.2, 1.0], 50,
        lambda p: torch.optim.SGD(p, lr=2e-3, momentum=0.9), make_sched)
    np.testing.assert_allclose(path, ref, rtol=1e-10, atol=1e-12)
    assert rule.t == 50


def test_heavy_ball_equals_torch_momentum_with_a_constant_rate_only():
    theta0 = [3.0, -2.0, 1.0, 0.5]
    hb = optim.run(optim.HeavyBall(0.02, momentum=0.9), quad_loss,
                   quad_grad, theta0, steps=50).params
    buf = optim.run(optim.SGD(0.02, momentum=0.9), quad_loss, quad_grad,
                    theta0, steps=50).params
    np.testing.assert_allclose(hb, buf, rtol=1e-12, atol=1e-14)
    decaying = optim.step_decay(0.02, 5, 0.5)
    hb = optim.run(optim.HeavyBall(decaying, momentum=0.9), quad_loss,
                   quad_grad, theta0, steps=20).params
    buf = optim.run(optim.SGD(decaying, momentum=0.9), quad_loss, quad_grad,
                    theta0, steps=20).params
    assert np.abs(hb - buf).max() > 1e-3


def test_nesterov_lookahead_plus_momentum_term_is_torch_nesterov():
    mu, lr = 0.9, 0.02
    rule = optim.NesterovLookahead(lr, momentum=mu)
    theta0 = np.array([3.0, -2.0, 1.0, 0.5])
    theta, thetas = theta0.copy(), []
    for _ in range(30):
        g = quad_grad(rule.lookahead("theta", theta))
        rule.step({"theta": theta}, {"theta": g})
        thetas.append(theta + mu * rule.state["theta"]["velocity"])
    ref = torch_path(quad_grad, theta0, lr, mu, 30, nesterov=True)[1:]
    np.testing.assert_allclose(np.array(thetas), ref, rtol=1e-12, atol=1e-14)


def test_run_stops_on_divergence_and_rules_validate():
    traj = optim.run(optim.SGD(1.0), quad_loss, quad_grad, [1.0] * 4,
                     steps=500, stop_above=1e6)
    assert traj.losses[-1] > 1e6 and len(traj.losses) < 500
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(0.1, nesterov=True)
    with pytest.raises(TypeError, match="Optimizer"):
        optim.run("sgd", quad_loss, quad_grad, [1.0], steps=1)
