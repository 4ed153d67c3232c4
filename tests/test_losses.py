"""dlbook_lib.losses against PyTorch: values, gradients, extreme inputs and the hinge's 0/1 labels (chapter 07)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlbook_lib import losses
from dlbook_lib.numeric import numerical_gradient

RTOL = 1e-12
NO_FLOAT_TROUBLE = dict(over="raise", invalid="raise", divide="raise")  # underflow is harmless


def t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def autograd(torch_loss, x, *rest):
    xt = t(x, grad=True)
    value = torch_loss(xt, *rest)
    value.backward()
    return value.item(), xt.grad.numpy()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ----------------------------------------------------------------------------- regression
@pytest.mark.parametrize("shape", [(1,), (37,), (4, 5)])
def test_regression_losses_and_gradients_match_torch(rng, shape):
    p, y = rng.normal(scale=2.0, size=shape), rng.normal(scale=2.0, size=shape)
    cases = [(losses.mse, losses.mse_grad, F.mse_loss),
             (losses.mae, losses.mae_grad, F.l1_loss)]
    for delta in (0.3, 1.0, 4.0):
        cases.append((lambda a, b, d=delta: losses.huber(a, b, d),
                      lambda a, b, d=delta: losses.huber_grad(a, b, d),
                      lambda a, b, d=delta: F.huber_loss(a, b, delta=d)))
    for loss, grad, torch_loss in cases:
        value, g = autograd(torch_loss, p, t(y))
        assert loss(p, y) == pytest.approx(value, rel=RTOL)
        np.testing.assert_allclose(grad(p, y), g, rtol=RTOL, atol=1e-15)
        assert grad(p, y).shape == p.shape


def test_regression_gradients_match_finite_differences(rng):
    p, y = rng.normal(size=20), rng.normal(size=20)
    r = p - y
    assert np.abs(r).min() > 1e-3 and np.abs(np.abs(r) - 0.5).min() > 1e-3  # away from kinks
    for loss, grad in ((losses.mse, losses.mse_grad), (losses.mae, losses.mae_grad),
                       (lambda a, b: losses.huber(a, b, 0.5), lambda a, b: losses.huber_grad(a, b, 0.5))):
        np.testing.assert_allclose(grad(p, y), numerical_gradient(lambda q: loss(q, y), p), rtol=1e-6)


def test_huber_conventions(rng):
    p, y = rng.normal(scale=3.0, size=100), rng.normal(size=100)
    for beta in (0.1, 1.0, 2.5):
        assert losses.huber(p, y, beta) / beta == pytest.approx(
            F.smooth_l1_loss(t(p), t(y), beta=beta).item(), rel=RTOL)
    big = np.abs(p - y).max() + 1.0
    assert losses.huber(p, y, big) == pytest.approx(losses.mse(p, y) / 2, rel=RTOL)
    # continuity at the threshold: both branches give delta^2 / 2
    assert losses.huber([2.0], [0.0], 2.0) == pytest.approx(2.0, rel=RTOL)
    assert losses.huber([2.0 + 1e-9], [0.0], 2.0) == pytest.approx(2.0, rel=1e-8)


def test_mae_subgradient_at_zero_residual_matches_autograd():
    p, y = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0])
    _, g = autograd(F.l1_loss, p, t(y))
    np.testing.assert_array_equal(losses.mae_grad(p, y), g)
    assert losses.mae_grad(p, y)[0] == 0.0


# ----------------------------------------------------------------------------- hinge losses
def test_binary_hinge_matches_sklearn_and_multi_margin(rng):
    from sklearn.metrics import hinge_loss

    s = rng.normal(scale=2.0, size=80)
    y = rng.choice([-1.0, 1.0], size=80)
    keep = np.abs(1 - y * s) > 1e-3
    s, y = s[keep], y[keep]
    assert losses.hinge(s, y) == pytest.approx(hinge_loss(y, s), rel=RTOL)
    scores = t(np.stack([np.zeros_like(s), s], axis=1), grad=True)
    value = 2 * F.multi_margin_loss(scores, torch.tensor((y > 0).astype(np.int64)))
    value.backward()
    assert losses.hinge(s, y) == pytest.approx(value.item(), rel=RTOL)
    np.testing.assert_allclose(losses.hinge_grad(s, y), scores.grad[:, 1].numpy(), rtol=RTOL)
    np.testing.assert_allclose(losses.hinge_grad(s, y),
                               numerical_gradient(lambda v: losses.hinge(v, y), s), rtol=1e-6, atol=1e-8)


def test_binary_hinge_batch_of_one_and_zero_gradient_beyond_margin():
    assert losses.hinge([0.25], [1.0]) == 0.75
    np.testing.assert_array_equal(losses.hinge_grad([0.25], [-1.0]), [1.0])
    np.testing.assert_array_equal(losses.hinge_grad([3.0, -2.0], [1.0, -1.0]), [0.0, 0.0])


def test_binary_hinge_refuses_0_1_labels():
    with pytest.raises(ValueError, match=r"-1 or \+1.*2 \* label - 1"):
        losses.hinge([0.3, 0.1], [0, 1])
    with pytest.raises(ValueError, match=r"got values \[0.0, 1.0\]"):
        losses.hinge_grad([0.3, 0.1], [0, 1])


@pytest.mark.parametrize("margin", [1.0, 0.5, 2.0])
def test_weston_watkins_is_torch_multi_margin_loss(rng, margin):
    z = rng.normal(scale=1.5, size=(40, 6))
    y = rng.integers(0, 6, size=40)
    value, g = autograd(lambda a: F.multi_margin_loss(a, torch.tensor(y), margin=margin), z)
    assert losses.multiclass_hinge(z, y, margin) == pytest.approx(value, rel=RTOL)
    np.testing.assert_allclose(losses.multiclass_hinge_grad(z, y, margin), g, rtol=RTOL, atol=1e-15)


def test_crammer_singer_against_a_torch_formula(rng):
    z = rng.normal(scale=1.5, size=(40, 6))
    y = rng.integers(0, 6, size=40)
    zt = t(z, grad=True)
    yt = torch.tensor(y)
    true_score = zt.gather(1, yt[:, None]).squeeze(1)
    others = zt.masked_fill(F.one_hot(yt, 6).bool(), -torch.inf).max(dim=1).values
    value = torch.clamp(1.0 - true_score + others, min=0).mean()
    value.backward()
    assert losses.multiclass_hinge(z, y, kind="crammer_singer") == pytest.approx(value.item(), rel=RTOL)
    np.testing.assert_allclose(losses.multiclass_hinge_grad(z, y, kind="crammer_singer"),
                               zt.grad.numpy(), rtol=RTOL, atol=1e-15)


def test_multiclass_hinge_batch_of_one_and_bad_inputs():
    z, y = np.array([[2.0, 0.0, 1.5]]), np.array([0])
    # WW: (max(0, 1 - 2 + 0) + max(0, 1 - 2 + 1.5)) / 3 = 0.5 / 3; CS: max(0, 1 - 2 + 1.5) = 0.5
    assert losses.multiclass_hinge(z, y) == pytest.approx(0.5 / 3, rel=RTOL)
    assert losses.multiclass_hinge(z, y, kind="crammer_singer") == pytest.approx(0.5, rel=RTOL)
    np.testing.assert_allclose(losses.multiclass_hinge_grad(z, y), [[-1 / 3, 0.0, 1 / 3]])
    with pytest.raises(ValueError, match="kind must be"):
        losses.multiclass_hinge(z, y, kind="svm")
    with pytest.raises(ValueError, match="kind must be"):
        losses.multiclass_hinge_grad(z, y, kind="svm")


# ----------------------------------------------------------------------------- softmax and friends
EXTREME = np.array([[1000.0, 999.0, 998.0, -1000.0],
                    [-1000.0, -1001.0, -1002.0, -1000.0],
                    [1000.0, -1000.0, 0.0, 1000.0],
                    [0.0, -800.0, 3.0, 1e-3]])


def test_logsumexp_softmax_log_softmax_match_torch_on_extreme_logits(rng):
    z = np.concatenate([EXTREME, rng.normal(scale=300.0, size=(30, 4))])
    with np.errstate(**NO_FLOAT_TROUBLE):
        lse, sm, lsm = losses.logsumexp(z), losses.softmax(z), losses.log_softmax(z)
    np.testing.assert_allclose(lse, torch.logsumexp(t(z), dim=1).numpy(), rtol=1e-14)
    np.testing.assert_allclose(sm, torch.softmax(t(z), dim=1).numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(lsm, torch.log_softmax(t(z), dim=1).numpy(), rtol=1e-14)
    assert np.isfinite(lsm).all()
    np.testing.assert_allclose(sm.sum(axis=1), 1.0, rtol=1e-15)


def test_softmax_axis_and_vector_input(rng):
    z = rng.normal(size=(3, 5))
    np.testing.assert_allclose(losses.softmax(z, axis=0), torch.softmax(t(z), dim=0).numpy(), rtol=1e-14)
    np.testing.assert_allclose(losses.logsumexp(z, axis=0), torch.logsumexp(t(z), dim=0).numpy(), rtol=1e-14)
    v = rng.normal(size=7)
    assert losses.logsumexp(v).shape == ()
    assert float(losses.logsumexp(v)) == pytest.approx(torch.logsumexp(t(v), 0).item(), rel=1e-14)
    np.testing.assert_allclose(losses.softmax([5.0]), [1.0])  # a single class
    np.testing.assert_allclose(losses.softmax(v + 1234.5), losses.softmax(v), rtol=1e-12)  # shift invariance


# ----------------------------------------------------------------------------- cross-entropies
@pytest.mark.parametrize("n", [1, 25])
def test_cross_entropy_matches_torch(rng, n):
    z = rng.normal(scale=2.0, size=(n, 7))
    y = rng.integers(0, 7, size=n)
    value, g = autograd(lambda a: F.cross_entropy(a, torch.tensor(y)), z)
    assert losses.cross_entropy(z, y) == pytest.approx(value, rel=RTOL)
    np.testing.assert_allclose(losses.cross_entropy_grad(z, y), g, rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(losses.cross_entropy_grad(z, y),
                               numerical_gradient(lambda v: losses.cross_entropy(v, y), z), rtol=1e-6, atol=1e-8)
    nll = -torch.distributions.Categorical(logits=t(z)).log_prob(torch.tensor(y)).mean().item()
    assert losses.cross_entropy(z, y) == pytest.approx(nll, rel=RTOL)


def test_cross_entropy_extreme_logits_do_not_overflow():
    y = np.array([3, 0, 1, 1])
    with np.errstate(**NO_FLOAT_TROUBLE):
        value, grad = losses.cross_entropy(EXTREME, y), losses.cross_entropy_grad(EXTREME, y)
    tv, tg = autograd(lambda a: F.cross_entropy(a, torch.tensor(y)), EXTREME)
    assert value == pytest.approx(tv, rel=1e-14)
    np.testing.assert_allclose(grad, tg, rtol=1e-12, atol=1e-300)
    assert losses.cross_entropy(np.array([[0.0, -1000.0]]), np.array([1])) == pytest.approx(1000.0, rel=1e-14)


def test_cross_entropy_accepts_torch_tensors_and_lists(rng):
    z = rng.normal(size=(3, 4))
    assert losses.cross_entropy(torch.tensor(z), torch.tensor([0, 1, 2])) == pytest.approx(
        losses.cross_entropy(z, np.array([0, 1, 2])), rel=RTOL)
    assert losses.cross_entropy(z.tolist(), [0, 1, 2]) == losses.cross_entropy(z, np.array([0, 1, 2]))


@pytest.mark.parametrize("n", [1, 30])
def test_binary_cross_entropy_matches_torch(rng, n):
    y = rng.uniform(0.0, 1.0, size=n)  # soft targets are allowed
    z = rng.normal(scale=3.0, size=n)
    value, g = autograd(lambda a: F.binary_cross_entropy_with_logits(a, t(y)), z)
    assert losses.binary_cross_entropy_with_logits(z, y) == pytest.approx(value, rel=RTOL)
    np.testing.assert_allclose(losses.binary_cross_entropy_with_logits_grad(z, y), g, rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(losses.binary_cross_entropy_with_logits_grad(z, y),
                               numerical_gradient(lambda v: losses.binary_cross_entropy_with_logits(v, y), z),
                               rtol=1e-6, atol=1e-8)


def test_binary_cross_entropy_is_bernoulli_nll(rng):
    z = rng.normal(scale=3.0, size=40)
    y = rng.integers(0, 2, size=40).astype(float)
    nll = -torch.distributions.Bernoulli(logits=t(z)).log_prob(t(y)).mean().item()
    assert losses.binary_cross_entropy_with_logits(z, y) == pytest.approx(nll, rel=RTOL)


def test_binary_cross_entropy_with_extreme_logits():
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0, 40.0])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.0])
    with np.errstate(**NO_FLOAT_TROUBLE):
        value = losses.binary_cross_entropy_with_logits(z, y)
        grad = losses.binary_cross_entropy_with_logits_grad(z, y)
    tv, tg = autograd(lambda a: F.binary_cross_entropy_with_logits(a, t(y)), z)
    assert value == pytest.approx(tv, rel=1e-14)
    assert value == pytest.approx((1000 + 1000 + 40) / 5, rel=1e-14)
    np.testing.assert_allclose(grad, tg, rtol=1e-12, atol=1e-300)


# ------------------------------------------------------------------ Gaussian likelihood
@pytest.mark.parametrize("shape", [(1,), (50,), (3, 4)])
def test_gaussian_nll_matches_torch_value_and_gradients(rng, shape):
    mu, y = rng.normal(size=shape), rng.normal(size=shape)
    var = rng.uniform(0.05, 3.0, size=shape)
    var.flat[0] = 1e-9                      # below eps: clamped
    for full in (False, True):
        mt, vt = t(mu, grad=True), t(var, grad=True)
        value = F.gaussian_nll_loss(mt, t(y), vt, full=full, eps=1e-6)
        value.backward()
        assert losses.gaussian_nll(mu, var, y, full=full) == pytest.approx(
            value.item(), rel=RTOL)
        g_mu, g_var = losses.gaussian_nll_grad(mu, var, y)
        np.testing.assert_allclose(g_mu, mt.grad.numpy(), rtol=RTOL)
        np.testing.assert_allclose(g_var, vt.grad.numpy(), rtol=RTOL)
    assert losses.gaussian_nll(mu, var, y, full=True) - losses.gaussian_nll(
        mu, var, y) == pytest.approx(0.5 * np.log(2 * np.pi), abs=1e-8)
    # (the clamped entry makes the loss about 1e6: round-off of 1e-10)


def test_gaussian_nll_is_the_normal_density_and_matches_finite_differences(rng):
    mu, y = rng.normal(size=20), rng.normal(size=20)
    var = rng.uniform(0.2, 2.0, size=20)
    logp = torch.distributions.Normal(t(mu), t(np.sqrt(var))).log_prob(t(y))
    assert losses.gaussian_nll(mu, var, y, full=True) == pytest.approx(
        -logp.mean().item(), rel=RTOL)
    g_mu, g_var = losses.gaussian_nll_grad(mu, var, y)
    np.testing.assert_allclose(g_mu, numerical_gradient(
        lambda m: losses.gaussian_nll(m, var, y), mu), rtol=1e-6)
    np.testing.assert_allclose(g_var, numerical_gradient(
        lambda v: losses.gaussian_nll(mu, v, y), var), rtol=1e-6)


def test_gaussian_nll_variance_gradient_vanishes_at_the_squared_residual(rng):
    mu, y = rng.normal(size=10), rng.normal(size=10)
    best = (y - mu) ** 2
    np.testing.assert_allclose(losses.gaussian_nll_grad(mu, best, y)[1], 0,
                               atol=1e-12)
    _, g_var = losses.gaussian_nll_grad(mu, 2 * best, y)
    assert np.all(g_var > 0)                # too large a variance: shrink it
    # a zero residual and a zero variance: the clamped value eps is used
    assert losses.gaussian_nll([1.0], [0.0], [1.0], eps=1e-4) == pytest.approx(
        0.5 * np.log(1e-4), rel=RTOL)


def test_regression_losses_refuse_shapes_that_would_broadcast():
    pred, y = np.zeros((4, 1)), np.ones(4)
    for f in (losses.mse, losses.mse_grad, losses.mae, losses.mae_grad, losses.huber):
        with pytest.raises(ValueError, match=r"shape \(4, 1\).*shape \(4,\)"):
            f(pred, y)
