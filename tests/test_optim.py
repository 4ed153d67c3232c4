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


def test_heavy_ball_rate_on_a_quadratic():
    lmin, lmax = LAMS.min(), LAMS.max()
    kappa = lmax / lmin
    eta = 4 / (np.sqrt(lmax) + np.sqrt(lmin)) ** 2
    mu = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
    run = optim.run(optim.HeavyBall(eta, momentum=mu), quad_loss, quad_grad,
                    np.ones(4), steps=120)
    err = np.linalg.norm(run.params, axis=1)
    rate = np.exp(np.polyfit(np.arange(60, 120), np.log(err[60:120]), 1)[0])
    assert rate == pytest.approx(np.sqrt(mu), rel=0.03)


def test_plain_sgd_on_a_quadratic_closed_form_and_divergence():
    h = np.diag([1.0, 10.0])
    loss, grad = (lambda v: 0.5 * v @ h @ v), (lambda v: h @ v)
    run = optim.run(optim.SGD(0.1), loss, grad, [1.0, 1.0], steps=3)
    # each coordinate is multiplied by (1 - lr * h_ii) per step
    np.testing.assert_allclose(run.final, [0.9**3, 0.0**3], atol=1e-15)
    assert run.params.shape == (4, 2) and len(run.losses) == 4
    diverging = optim.run(optim.SGD(0.5), loss, grad, [1.0, 1.0], steps=10_000)
    assert len(diverging.losses) < 10_001 and diverging.losses[-1] > 1e12


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
                     steps=500)
    assert traj.losses[-1] > 1e12 and len(traj.losses) < 500
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(0.1, nesterov=True)
    with pytest.raises(TypeError, match="Optimizer"):
        optim.run("sgd", quad_loss, quad_grad, [1.0], steps=1)


# --- optim.run with mini-batches ---------------------------------------------

def test_run_with_batches_equals_torch_minibatch_sgd():
    from dlbook_lib import data, regression
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=11), rng.normal(size=11)
    # two epochs of data.batches, the second ending in a batch of one
    plan = data.batches(11, 4, seed=0) + data.batches(11, 5, seed=1)
    traj = optim.run(optim.SGD(0.1),
                     lambda th: regression.line_mse(th, x, y),
                     lambda th, idx: regression.line_mse_grad(th, x[idx],
                                                              y[idx]),
                     [0.5, -0.5], batches=plan)
    assert traj.params.shape == (len(plan) + 1, 2) == (7, 2)
    th = torch.tensor([0.5, -0.5], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([th], lr=0.1)
    ref = [th.detach().numpy().copy()]
    for idx in plan:
        opt.zero_grad()
        ((torch.tensor(y[idx]) - th[0] - th[1] * torch.tensor(x[idx])) ** 2
         ).mean().backward()
        opt.step()
        ref.append(th.detach().numpy().copy())
    np.testing.assert_allclose(traj.params, np.array(ref), rtol=1e-12,
                               atol=1e-14)
    # the recorded loss is the full-data loss at every iterate
    np.testing.assert_allclose(
        traj.losses, [regression.line_mse(p, x, y) for p in traj.params],
        rtol=1e-14)


def test_run_with_batches_steps_and_lookahead():
    seen = []

    def grad(th, batch):
        seen.append(batch)
        return quad_grad(th)

    # steps may use a prefix of the batches; the grad sees them in order
    short = optim.run(optim.SGD(0.02), quad_loss, grad, np.ones(4),
                      steps=2, batches=["a", "b", "c"])
    assert seen == ["a", "b"] and short.params.shape == (3, 4)
    full = optim.run(optim.SGD(0.02), quad_loss, quad_grad, np.ones(4),
                     steps=3)
    np.testing.assert_array_equal(short.params, full.params[:3])
    assert optim.run(optim.SGD(0.02), quad_loss, grad, np.ones(4),
                     batches=[]).params.shape == (1, 4)
    # a batch-independent gradient gives plain run's path, look-ahead too
    mu = 0.9
    with_batches = optim.run(optim.NesterovLookahead(0.02, momentum=mu),
                             quad_loss, lambda th, b: quad_grad(th),
                             np.ones(4), batches=range(30)).params
    plain = optim.run(optim.NesterovLookahead(0.02, momentum=mu), quad_loss,
                      quad_grad, np.ones(4), steps=30).params
    np.testing.assert_array_equal(with_batches, plain)
    with pytest.raises(ValueError, match="only 3 batches"):
        optim.run(optim.SGD(0.02), quad_loss, grad, np.ones(4), steps=4,
                  batches=["a", "b", "c"])
    with pytest.raises(TypeError, match="needs steps"):
        optim.run(optim.SGD(0.02), quad_loss, quad_grad, np.ones(4))


# --- adaptive rules (AdaGrad, RMSProp, Adam, AdamW) and one_cycle ---------
# (chapter 12). The torch twins run in float64 through optim.run_torch, which
# is itself checked against the independent harness torch_rule_path above.

LR_SCHED = torch.optim.lr_scheduler
ADAPTIVE = {
    "adagrad": (lambda: optim.AdaGrad(0.1),
                lambda p: torch.optim.Adagrad(p, lr=0.1), None),
    "adagrad+lr_decay": (
        lambda: optim.AdaGrad(lambda t: 0.1 / (1 + t * 0.05)),
        lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.05), None),
    "rmsprop": (lambda: optim.RMSProp(1e-3),
                lambda p: torch.optim.RMSprop(p, lr=1e-3), None),
    "rmsprop+momentum+decay": (
        lambda: optim.RMSProp(1e-4, alpha=0.9, momentum=0.9,
                              weight_decay=0.1, eps=1e-6),
        lambda p: torch.optim.RMSprop(p, lr=1e-4, alpha=0.9, momentum=0.9,
                                      weight_decay=0.1, eps=1e-6), None),
    "rmsprop+step schedule": (
        lambda: optim.RMSProp(optim.step_decay(1e-3, 20, 0.5)),
        lambda p: torch.optim.RMSprop(p, lr=1e-3),
        lambda o: LR_SCHED.StepLR(o, 20, 0.5)),
    "adam": (lambda: optim.Adam(0.05),
             lambda p: torch.optim.Adam(p, lr=0.05), None),
    "adam+l2": (lambda: optim.Adam(0.05, weight_decay=0.1),
                lambda p: torch.optim.Adam(p, lr=0.05, weight_decay=0.1),
                None),
    "adam+amsgrad+betas": (
        lambda: optim.Adam(0.05, betas=(0.8, 0.99), amsgrad=True, eps=1e-6),
        lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.8, 0.99),
                                   amsgrad=True, eps=1e-6), None),
    "adam+one_cycle": (
        lambda: optim.Adam(optim.one_cycle(0.1, 60)),
        lambda p: torch.optim.Adam(p, lr=0.1),
        lambda o: LR_SCHED.OneCycleLR(o, 0.1, total_steps=60,
                                      cycle_momentum=False)),
    "adamw": (lambda: optim.AdamW(0.05, weight_decay=0.5),
              lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.5),
              None),
    "adamw+amsgrad+cosine": (
        lambda: optim.AdamW(optim.cosine(0.05, 60, 1e-3), amsgrad=True),
        lambda p: torch.optim.AdamW(p, lr=0.05, amsgrad=True),
        lambda o: LR_SCHED.CosineAnnealingLR(o, T_max=60, eta_min=1e-3)),
}


@pytest.mark.parametrize("name", ADAPTIVE)
def test_adaptive_rules_equal_torch_over_60_steps(name):
    ours, theirs, sched = ADAPTIVE[name]
    rule = ours()
    path = optim.run(rule, rosen_loss, rosen_grad, [-1.2, 1.0],
                     steps=60).params
    ref = optim.run_torch(theirs, rosen_loss, rosen_grad, [-1.2, 1.0],
                          steps=60, make_scheduler=sched).params
    np.testing.assert_allclose(path, ref, rtol=1e-10, atol=1e-12)
    assert rule.t == 60 and np.abs(path[-1] - path[0]).max() > 1e-3


def test_run_torch_equals_an_independent_torch_loop():
    make = lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9)
    traj = optim.run_torch(make, rosen_loss, rosen_grad, [-1.2, 1.0],
                           steps=40)
    np.testing.assert_array_equal(traj.params,
                                  torch_rule_path([-1.2, 1.0], 40, make))
    np.testing.assert_allclose(traj.losses,
                               [rosen_loss(p) for p in traj.params])
    assert optim.run_torch(make, rosen_loss, rosen_grad, [0.0, 0.0],
                           steps=0).params.shape == (1, 2)


def test_two_parameters_of_different_shapes_keep_separate_state():
    rng = np.random.default_rng(0)
    w0, b0 = rng.normal(size=(3, 2)), rng.normal(size=2)
    grads = [(rng.normal(size=(3, 2)), rng.normal(size=2) * 100)
             for _ in range(30)]
    for ours, theirs in [
            (optim.Adam(0.01, amsgrad=True),
             lambda ps: torch.optim.Adam(ps, lr=0.01, amsgrad=True)),
            (optim.RMSProp(0.01, momentum=0.5),
             lambda ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0.5)),
            (optim.AdaGrad(0.1), lambda ps: torch.optim.Adagrad(ps, lr=0.1))]:
        params = {"weight": w0.copy(), "bias": b0.copy()}
        tw, tb = (torch.tensor(a, requires_grad=True) for a in (w0, b0))
        opt = theirs([tw, tb])
        for gw, gb in grads:
            ours.step(params, {"weight": gw, "bias": gb})
            tw.grad, tb.grad = torch.tensor(gw), torch.tensor(gb)
            opt.step()
        np.testing.assert_allclose(params["weight"], tw.detach().numpy(),
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(params["bias"], tb.detach().numpy(),
                                   rtol=1e-12, atol=1e-14)
        assert set(ours.state) == {"weight", "bias"}


def test_adagrad_mean_form_is_the_sum_form_with_lr_growing_like_sqrt_t():
    mean = optim.run(optim.AdaGrad(0.05, form="mean", eps=0.0), quad_loss,
                     quad_grad, np.ones(4), steps=80).params
    summed = optim.run(optim.AdaGrad(lambda t: 0.05 * np.sqrt(t + 1),
                                     eps=0.0),
                       quad_loss, quad_grad, np.ones(4), steps=80).params
    np.testing.assert_allclose(mean, summed, rtol=1e-12, atol=1e-14)
    plain = optim.run(optim.AdaGrad(0.05, eps=0.0), quad_loss, quad_grad,
                      np.ones(4), steps=80).params
    assert np.abs(plain - mean).max() > 1e-2
    # with a constant gradient g the t-th sum-form step is lr / sqrt(t)
    rule, p = optim.AdaGrad(0.3, eps=0.0), {"w": np.zeros(3)}
    steps = []
    for _ in range(5):
        before = p["w"].copy()
        rule.step(p, {"w": np.array([2.0, -0.5, 1e-3])})
        steps.append(before - p["w"])
    np.testing.assert_allclose(np.array(steps)[:, 0],
                               0.3 / np.sqrt(np.arange(1, 6)), rtol=1e-14)
    np.testing.assert_allclose(np.abs(steps), np.abs(steps)[:, :1] *
                               np.ones((1, 3)), rtol=1e-12)


def test_adam_without_bias_correction_has_the_derived_step_ratio():
    b1, b2, lr = 0.9, 0.999, 0.01
    t = np.arange(1, 301)
    for correct in (True, False):
        rule, p = optim.Adam(lr, eps=0.0, bias_correction=correct), {
            "w": np.zeros(2)}
        steps = []
        for _ in t:
            before = p["w"].copy()
            rule.step(p, {"w": np.array([3.0, -1e-4])})
            steps.append((before - p["w"]) / lr)
        steps = np.array(steps)
        expected = 1.0 if correct else (1 - b1 ** t) / np.sqrt(1 - b2 ** t)
        np.testing.assert_allclose(steps[:, 0], expected * np.ones_like(t),
                                   rtol=1e-12)
        np.testing.assert_allclose(steps[:, 1], -steps[:, 0], rtol=1e-12)


def test_zero_gradients_and_weight_decay_closed_forms():
    for rule in (optim.AdaGrad(0.1), optim.RMSProp(0.1, momentum=0.9),
                 optim.Adam(0.1, amsgrad=True),
                 optim.AdamW(0.1, weight_decay=0)):
        p = {"w": np.array([1.0, -2.0])}
        for _ in range(5):
            rule.step(p, {"w": np.zeros(2)})
        np.testing.assert_array_equal(p["w"], [1.0, -2.0])
    # AdamW with a zero gradient only decays: w_t = (1 - lr wd)^t w_0
    rule, p = optim.AdamW(0.1, weight_decay=0.5), {"w": np.array([1.0, -2.0])}
    for _ in range(7):
        rule.step(p, {"w": np.zeros(2)})
    np.testing.assert_allclose(p["w"], 0.95 ** 7 * np.array([1.0, -2.0]),
                               rtol=1e-14)


@pytest.mark.parametrize("kwargs", [
    {}, {"three_phase": True}, {"anneal": "linear"},
    {"three_phase": True, "anneal": "linear"},
])
def test_one_cycle_equals_torch_one_cycle_lr(kwargs):
    total = 97
    schedule = optim.one_cycle(0.2, total, **kwargs)
    theirs = dict(kwargs)
    if "anneal" in theirs:
        theirs["anneal_strategy"] = theirs.pop("anneal")
    th = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([th], lr=0.2, momentum=0.9)
    sched = LR_SCHED.OneCycleLR(opt, max_lr=0.2, total_steps=total, **theirs)
    ref = []
    for _ in range(total):
        ref.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    ours = [schedule(t) for t in range(total)]
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)
    assert ours[0] == pytest.approx(0.2 / 25, rel=1e-12)
    # max_lr itself is reached only when 0.3 * total is an integer
    assert max(ours) <= 0.2 * (1 + 1e-12)
    assert optim.one_cycle(0.2, 100, **kwargs)(29) == pytest.approx(0.2)
    assert ours[-1] == pytest.approx(0.2 / 25 / 1e4, rel=1e-9)
    assert schedule(total + 50) == ours[-1]   # stays at the minimum


def test_adaptive_rules_and_one_cycle_reject_bad_inputs():
    cases = [
        (lambda: optim.AdaGrad(0.1, form="rms"), "form"),
        (lambda: optim.AdaGrad(0.1, eps=-1e-10), "eps"),
        (lambda: optim.AdaGrad(-0.1), "lr"),
        (lambda: optim.RMSProp(0.1, alpha=1.0), "alpha"),
        (lambda: optim.RMSProp(0.1, momentum=-0.5), "momentum"),
        (lambda: optim.RMSProp(0.1, weight_decay=-1.0), "weight_decay"),
        (lambda: optim.Adam(0.1, betas=(0.9, 1.0)), "beta2"),
        (lambda: optim.Adam(0.1, betas=(-0.1, 0.999)), "beta1"),
        (lambda: optim.Adam(0.0), "lr"),
        (lambda: optim.AdamW(0.1, weight_decay=-0.01), "weight_decay"),
        (lambda: optim.one_cycle(0.1, 100, anneal="cosine"), "anneal"),
        (lambda: optim.one_cycle(0.0, 100), "max_lr"),
        (lambda: optim.one_cycle(0.1, 3), "total must be >= 4"),
        (lambda: optim.SGD(0.1, momentum=1.0), "momentum"),
    ]
    for make, words in cases:
        with pytest.raises(ValueError, match=words):
            make()
    with pytest.raises(TypeError, match="integer"):
        optim.one_cycle(0.1, 10.5)


# --- gradient clipping (chapter 13) -------------------------------------------

def grads_pair(seed, scale):
    """A grads dict of float64 arrays and torch parameters with the same
    gradients."""
    rng = np.random.default_rng(seed)
    grads = {"0.weight": scale * rng.normal(size=(4, 3)),
             "0.bias": scale * rng.normal(size=4),
             "1.weight": scale * rng.normal(size=(2, 4))}
    params = []
    for g in grads.values():
        p = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        p.grad = torch.tensor(g)
        params.append(p)
    return grads, params


@pytest.mark.parametrize("scale, max_norm", [(10.0, 1.0), (1e-3, 1e-5),
                                             (1.0, 0.5), (0.1, 5.0),
                                             (1e-7, 1e-6)])
def test_clip_grad_norm_equals_torch(scale, max_norm):
    grads, params = grads_pair(0, scale)
    before = {k: g.copy() for k, g in grads.items()}
    total = optim.clip_grad_norm(grads, max_norm)
    total_t = torch.nn.utils.clip_grad_norm_(params, max_norm)
    assert total == pytest.approx(total_t.item(), rel=1e-12)
    for g, p in zip(grads.values(), params):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-12, atol=0)
    new_norm = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
    if total + 1e-6 > max_norm:  # clipped: norm max_norm * n / (n + 1e-6);
        # with max_norm ~ eps this happens although n < max_norm
        assert new_norm == pytest.approx(max_norm * total / (total + 1e-6),
                                         rel=1e-12)
        assert new_norm < max_norm
    else:                    # below the threshold: unchanged (no-op)
        for k, g in grads.items():
            np.testing.assert_array_equal(g, before[k])


def test_clip_grad_norm_keeps_the_direction():
    grads, _ = grads_pair(1, 3.0)
    flat = np.concatenate([g.ravel() for g in grads.values()])
    optim.clip_grad_norm(grads, 1.0)
    clipped = np.concatenate([g.ravel() for g in grads.values()])
    cos = flat @ clipped / np.linalg.norm(flat) / np.linalg.norm(clipped)
    assert cos == pytest.approx(1.0, abs=1e-14)


def test_clip_grad_norm_of_a_zero_gradient_is_zero_and_a_noop():
    grads = {"w": np.zeros((2, 3)), "b": np.zeros(2)}
    p = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    p.grad = torch.zeros(2, 3, dtype=torch.float64)
    assert optim.clip_grad_norm(grads, 1.0) == 0.0
    assert torch.nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0
    assert not grads["w"].any() and not grads["b"].any()


@pytest.mark.parametrize("clip_value", [0.1, 1.0, 100.0])
def test_clip_grad_value_equals_torch(clip_value):
    grads, params = grads_pair(2, 1.0)
    before = {k: g.copy() for k, g in grads.items()}
    assert optim.clip_grad_value(grads, clip_value) is None
    torch.nn.utils.clip_grad_value_(params, clip_value)
    for g, p in zip(grads.values(), params):
        np.testing.assert_array_equal(g, p.grad.numpy())
        assert np.abs(g).max() <= clip_value
    if clip_value == 100.0:  # nothing above the threshold: unchanged
        for k, g in grads.items():
            np.testing.assert_array_equal(g, before[k])
    zero = {"w": np.zeros(3)}
    optim.clip_grad_value(zero, clip_value)
    assert not zero["w"].any()


def test_clip_grad_value_changes_the_direction():
    g0 = np.array([10.0, 1.0, -1.0])
    grads = {"w": g0.copy()}
    optim.clip_grad_value(grads, 1.0)
    np.testing.assert_array_equal(grads["w"], [1.0, 1.0, -1.0])
    cos = g0 @ grads["w"] / np.linalg.norm(g0) / np.linalg.norm(grads["w"])
    assert cos == pytest.approx(12 / np.sqrt(102 * 3), rel=1e-14)


def test_clipping_bad_inputs():
    ok = {"w": np.ones(3)}
    for clip in (optim.clip_grad_norm, optim.clip_grad_value):
        with pytest.raises(ValueError, match="must be > 0"):
            clip(ok, 0.0)
        with pytest.raises(ValueError, match="must be > 0"):
            clip(ok, -1.0)
        with pytest.raises(ValueError, match="must be finite"):
            clip(ok, float("inf"))
        with pytest.raises(TypeError, match="must be a real number"):
            clip(ok, "1")


# --- L1 proximal steps and max-norm (chapter 15) -----------------------------

def test_soft_threshold_equals_softshrink_and_the_brute_force_minimiser():
    v = np.linspace(-3, 3, 61)
    for t in (0.0, 0.35, 1.0, 5.0):
        ref = torch.nn.functional.softshrink(torch.tensor(v), t).numpy()
        np.testing.assert_allclose(optim.soft_threshold(v, t), ref,
                                   rtol=1e-15, atol=1e-15)
    # argmin_u (u - v)^2 / 2 + t |u| on a grid of spacing 1e-4
    u = np.linspace(-4, 4, 80001)
    for vi in (-2.0, -0.3, 0.0, 0.2, 0.7, 2.5):
        best = u[np.argmin(0.5 * (u - vi) ** 2 + 0.5 * np.abs(u))]
        assert abs(optim.soft_threshold([vi], 0.5)[0] - best) <= 1e-4
    out = optim.soft_threshold([-0.2, 0.2, -3.0], 0.5)
    assert not np.signbit(out[:2]).any()              # 0.0, never -0.0
    assert out[2] == -2.5


def lasso_problem(n=60, d=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_true = np.zeros(d)
    w_true[:3] = [2.0, -1.5, 1.0]
    y = X @ w_true + 0.5 * rng.normal(size=n)

    def grad(w):
        return X.T @ (X @ w - y) / n

    def loss(w):
        return 0.5 * np.mean((X @ w - y) ** 2)
    return X, y, loss, grad


@pytest.mark.parametrize("l1, wd", [(0.1, 0.0), (0.3, 0.0), (0.1, 0.2)])
def test_proximal_sgd_converges_to_sklearn_lasso_and_elastic_net(l1, wd):
    from sklearn.linear_model import ElasticNet, Lasso
    X, y, loss, grad = lasso_problem()
    lr = 1.0 / np.linalg.eigvalsh(X.T @ X / len(y)).max()
    path = optim.run(optim.ProximalSGD(lr, l1=l1, weight_decay=wd), loss,
                     grad, np.zeros(X.shape[1]), steps=3000)
    # sklearn: (1/2n)||y - Xw||^2 + a r ||w||_1 + a (1 - r)/2 ||w||^2
    alpha = l1 + wd
    ref = (Lasso(alpha=l1, fit_intercept=False, tol=1e-12, max_iter=100000)
           if wd == 0 else
           ElasticNet(alpha=alpha, l1_ratio=l1 / alpha, fit_intercept=False,
                      tol=1e-12, max_iter=100000)).fit(X, y).coef_
    np.testing.assert_allclose(path.final, ref, atol=1e-8)
    np.testing.assert_array_equal(path.final == 0, ref == 0)
    assert (path.final == 0).sum() >= 3


def test_proximal_sgd_one_step_and_l1_zero_is_sgd():
    p = {"w": np.array([1.0, -0.05, 0.3, -2.0])}
    g = {"w": np.array([0.5, 0.0, 1.0, -1.0])}
    optim.ProximalSGD(0.1, l1=1.0, weight_decay=0.5).step(p, g)
    v = np.array([1.0, -0.05, 0.3, -2.0]) * (1 - 0.05) - 0.1 * g["w"]
    np.testing.assert_allclose(p["w"], np.sign(v) * np.maximum(
        np.abs(v) - 0.1, 0), rtol=1e-15)
    a, b = {"w": np.ones(3)}, {"w": np.ones(3)}
    optim.ProximalSGD(0.1, l1=0.0, weight_decay=0.2).step(a, {"w": g["w"][:3]})
    optim.SGD(0.1, weight_decay=0.2).step(b, {"w": g["w"][:3]})
    np.testing.assert_array_equal(a["w"], b["w"])


def test_subgradient_l1_leaves_no_exact_zeros_where_the_proximal_step_does():
    X, y, loss, grad = lasso_problem()
    lr, l1 = 0.05, 0.3
    prox = optim.run(optim.ProximalSGD(lr, l1=l1), loss, grad,
                     np.zeros(X.shape[1]), steps=2000).final
    sub = optim.run(optim.SGD(lr), loss,
                    lambda w: grad(w) + l1 * np.sign(w),
                    np.full(X.shape[1], 0.01), steps=2000).final
    assert (prox == 0).sum() >= 5 and (sub == 0).sum() == 0
    small = prox == 0
    assert np.abs(sub[small]).max() < 2 * lr * l1   # they hover near zero


@pytest.mark.parametrize("c", [0.5, 1.0, 3.0])
def test_max_norm_equals_torch_renorm_and_is_the_closest_point(c):
    rng = np.random.default_rng(1)
    w = rng.normal(size=(6, 4)) * np.array([[0.1], [0.5], [1.0], [2.0],
                                             [0.0], [5.0]])
    ours = optim.max_norm(w, c)
    ref = torch.renorm(torch.tensor(w), 2, 0, c).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-12)
    norms = np.linalg.norm(w, axis=1)
    np.testing.assert_array_equal(ours[norms <= c], w[norms <= c])
    assert np.all(np.linalg.norm(ours, axis=1) <= c * (1 + 1e-12))
    # no point of the ball is closer to a row than its projection
    for row, proj in zip(w, ours):
        u = rng.normal(size=(2000, 4))
        u *= c * rng.uniform(0, 1, size=(2000, 1)) ** 0.25 / np.linalg.norm(
            u, axis=1, keepdims=True)
        assert np.linalg.norm(u - row, axis=1).min() >= \
            np.linalg.norm(proj - row) - 1e-12


def test_regularisation_helpers_bad_inputs():
    with pytest.raises(ValueError, match="t must be >= 0"):
        optim.soft_threshold([1.0], -0.1)
    with pytest.raises(ValueError, match="l1 must be >= 0"):
        optim.ProximalSGD(0.1, l1=-1.0)
    with pytest.raises(TypeError):
        optim.ProximalSGD(0.1)
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        optim.ProximalSGD(0.1, l1=0.1, weight_decay=-1.0)
    with pytest.raises(ValueError, match="lr must be > 0"):
        optim.ProximalSGD(0.0, l1=0.1)
    with pytest.raises(ValueError, match="c must be > 0"):
        optim.max_norm(np.ones((2, 2)), 0.0)
    with pytest.raises(ValueError, match="2 dimension"):
        optim.max_norm(np.ones(3), 1.0)
