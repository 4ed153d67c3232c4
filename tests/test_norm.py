"""dlbook_lib.norm against PyTorch: batch norm (1-D and 2-D, train and eval, running statistics,
backward), layer, instance and group norm, edge cases and bad inputs (chapter 09)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlbook_lib import norm
from dlbook_lib.checks import numerical_gradient

RTOL, ATOL = 1e-10, 1e-12


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def paired(shape, rng, momentum=0.1, eps=1e-5):
    """Our BatchNorm and torch's, with the same random gamma and beta, float64."""
    C = shape[1]
    ours = norm.BatchNorm(C, eps=eps, momentum=momentum)
    ref = (nn.BatchNorm1d if len(shape) == 2 else nn.BatchNorm2d)(C, eps=eps, momentum=momentum,
                                                                  dtype=torch.float64)
    gamma, beta = rng.normal(1.0, 0.5, size=C), rng.normal(size=C)
    ours.gamma, ours.beta = gamma.copy(), beta.copy()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(gamma))
        ref.bias.copy_(torch.tensor(beta))
    return ours, ref


def step(ours, ref, x, g):
    xt = torch.tensor(x, requires_grad=True)
    ref.weight.grad = ref.bias.grad = None
    y_ref = ref(xt)
    y_ref.backward(torch.tensor(g))
    y, dx = ours.forward(x), ours.backward(g)
    np.testing.assert_allclose(y, y_ref.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours.dgamma, ref.weight.grad.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours.dbeta, ref.bias.grad.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", [(2, 3), (7, 4), (64, 10), (1, 3, 1, 2), (3, 2, 4, 5)])
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batchnorm_matches_torch_in_training_and_eval(rng, shape, momentum):
    ours, ref = paired(shape, rng, momentum=momentum)
    for _ in range(5):
        step(ours, ref, rng.normal(2.0, 3.0, size=shape), rng.normal(size=shape))
    np.testing.assert_allclose(ours.running_mean, ref.running_mean.numpy(), rtol=1e-12, atol=ATOL)
    np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=1e-12, atol=ATOL)
    ours.eval()
    ref.eval()
    step(ours, ref, rng.normal(2.0, 3.0, size=shape), rng.normal(size=shape))
    ours.train()
    ref.train()
    step(ours, ref, rng.normal(size=shape), rng.normal(size=shape))


def test_running_statistics_conventions(rng):
    bn = norm.BatchNorm(3)
    x = rng.normal(size=(5, 3))
    bn.forward(x)
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1), rtol=1e-12)
    before = (bn.running_mean.copy(), bn.running_var.copy())
    bn.eval().forward(x)  # eval mode must not update the running statistics
    np.testing.assert_array_equal(bn.running_mean, before[0])
    np.testing.assert_array_equal(bn.running_var, before[1])


def test_backward_matches_finite_differences(rng):
    x, g = rng.normal(size=(5, 2, 2, 2)), rng.normal(size=(5, 2, 2, 2))
    bn = norm.BatchNorm(2)
    bn.gamma = rng.normal(size=2)
    bn.forward(x)
    dx = bn.backward(g)

    def loss(v):
        fresh = norm.BatchNorm(2)
        fresh.gamma = bn.gamma
        return float((g * fresh.forward(v)).sum())

    np.testing.assert_allclose(dx, numerical_gradient(loss, x), rtol=1e-6, atol=1e-8)


def test_zero_upstream_gradient_and_constant_feature(rng):
    bn = norm.BatchNorm(2)
    x = np.column_stack([np.full(4, 3.0), rng.normal(size=4)])  # feature 0 is constant
    y = bn.forward(x)
    np.testing.assert_allclose(y[:, 0], 0.0, atol=1e-12)  # eps keeps 0 / 0 away
    np.testing.assert_array_equal(bn.backward(np.zeros_like(x)), np.zeros_like(x))
    ref = nn.BatchNorm1d(2, dtype=torch.float64)
    np.testing.assert_allclose(y, ref(torch.tensor(x)).detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1, 1)])
def test_one_value_per_channel_raises_like_torch(shape):
    layer = (nn.BatchNorm1d if len(shape) == 2 else nn.BatchNorm2d)(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        layer(torch.zeros(shape))
    with pytest.raises(ValueError, match="expected more than 1 value per channel when training"):
        norm.BatchNorm(3).forward(np.zeros(shape))
    # evaluation mode and a single image with several positions are fine, in both libraries
    assert norm.BatchNorm(3).eval().forward(np.ones(shape)).shape == shape
    assert norm.BatchNorm(3).forward(np.ones((1, 3, 2, 1))).shape == (1, 3, 2, 1)


def test_batchnorm_bad_inputs():
    with pytest.raises(ValueError, match="num_features must be >= 1"):
        norm.BatchNorm(0)
    with pytest.raises(TypeError, match="num_features must be an integer"):
        norm.BatchNorm(2.0)
    with pytest.raises(ValueError, match="eps must be > 0"):
        norm.BatchNorm(2, eps=0.0)
    with pytest.raises(ValueError, match="momentum must be <= 1"):
        norm.BatchNorm(2, momentum=1.5)
    bn = norm.BatchNorm(3)
    with pytest.raises(ValueError, match="x has 3 channels on axis 1 but this BatchNorm was built for "
                                         "num_features=4"):
        norm.BatchNorm(4).forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="must have 2 or 4 dimension"):
        bn.forward(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        bn.forward(np.array([[0.0, np.nan, 1.0], [1.0, 2.0, 3.0]]))
    with pytest.raises(RuntimeError, match="call forward before backward"):
        bn.backward(np.zeros((2, 3)))
    bn.forward(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match="dy must have the shape of the last input"):
        bn.backward(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="mode must be True or False"):
        bn.train("yes")


def test_normalize_axes_match_torch(rng):
    x = rng.normal(1.0, 2.0, size=(3, 4, 5, 2))
    xt = torch.tensor(x)
    np.testing.assert_allclose(norm.normalize(x, (0, 2, 3)),
                               F.batch_norm(xt, None, None, training=True).numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(norm.normalize(x, (1, 2, 3)), F.layer_norm(xt, x.shape[1:]).numpy(),
                               rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(norm.normalize(x, (-2, -1)), F.instance_norm(xt).numpy(), rtol=RTOL, atol=ATOL)
    x2 = rng.normal(size=(6, 9))
    np.testing.assert_allclose(norm.normalize(x2, 1), nn.LayerNorm(9, dtype=torch.float64)(
        torch.tensor(x2)).detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("groups", [1, 2, 4, 8])
def test_group_norm_matches_torch(rng, groups):
    x = rng.normal(size=(2, 8, 3, 3))
    ref = nn.GroupNorm(groups, 8, dtype=torch.float64)
    np.testing.assert_allclose(norm.group_norm(x, groups), ref(torch.tensor(x)).detach().numpy(),
                               rtol=RTOL, atol=ATOL)
    x1 = rng.normal(size=(1, 8, 5))  # 1-D signals and a batch of one work too
    np.testing.assert_allclose(norm.group_norm(x1, groups),
                               F.group_norm(torch.tensor(x1), groups).numpy(), rtol=RTOL, atol=ATOL)


def test_normalize_and_group_norm_bad_inputs():
    x = np.zeros((2, 6, 3))
    with pytest.raises(ValueError, match="num_groups=4 must divide the number of channels 6"):
        norm.group_norm(x, 4)
    with pytest.raises(ValueError, match="num_groups must be >= 1"):
        norm.group_norm(x, 0)
    with pytest.raises(ValueError, match=r"shape \(N, C, ...\)"):
        norm.group_norm(np.zeros(5), 1)
    with pytest.raises(ValueError, match="out of range"):
        norm.normalize(x, (3,))
    with pytest.raises(ValueError, match="must not repeat"):
        norm.normalize(x, (1, -2))
    with pytest.raises(ValueError, match="at least one axis"):
        norm.normalize(x, ())
    with pytest.raises(ValueError, match="eps must be > 0"):
        norm.normalize(x, (1,), eps=0.0)
