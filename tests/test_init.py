"""dlbook_lib.init against torch.nn.init: fan computation, sample statistics of large tensors
against the closed-form variances, reproducibility, applying schemes to torch layers, bad inputs."""
import math
from functools import partial

import numpy as np
import pytest
import torch
from torch import nn

from dlbook_lib import init

SHAPES = [(1, 1), (3, 5), (128, 256), (256, 40), (32, 16, 3, 3), (8, 4, 5), (2, 3, 1, 1, 2)]
BIG = (512, 1024)          # 524 288 samples: relative standard error of a variance about 0.2 %


def torch_fans(shape):
    return nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(shape):
    assert init.fans(shape) == torch_fans(shape)


def test_fans_of_linear_are_in_then_out():
    layer = nn.Linear(7, 3)                       # weight shape (3, 7)
    assert init.fans(layer.weight.shape) == (7, 3)


def torch_sample(fn, shape=BIG, seed=0, **kwargs):
    t = torch.empty(shape, dtype=torch.float64)
    return fn(t, generator=torch.Generator().manual_seed(seed), **kwargs).numpy()


def test_xavier_uniform_matches_torch_statistics():
    fan_in, fan_out = init.fans(BIG)
    var = 2.0 / (fan_in + fan_out)
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    ours, theirs = init.xavier_uniform(BIG, rng=0), torch_sample(nn.init.xavier_uniform_)
    for w in (ours, theirs):
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.999 * bound                # the bound is reached, not just respected
        assert w.var() == pytest.approx(var, rel=0.01)
        assert abs(w.mean()) < 5 * math.sqrt(var / w.size)


@pytest.mark.parametrize("gain", [1.0, 5.0 / 3.0])
def test_xavier_normal_matches_torch_statistics(gain):
    std = gain * math.sqrt(2.0 / sum(init.fans(BIG)))
    for w in (init.xavier_normal(BIG, gain=gain, rng=1), torch_sample(nn.init.xavier_normal_, gain=gain)):
        assert w.std() == pytest.approx(std, rel=0.01)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("slope", [0.0, 0.2])
def test_kaiming_normal_matches_torch(mode, slope):
    nonlinearity = "relu" if slope == 0.0 else "leaky_relu"
    fan_in, fan_out = init.fans(BIG)
    fan = fan_in if mode == "fan_in" else fan_out
    std = math.sqrt(2.0 / ((1 + slope**2) * fan))
    assert init.kaiming_std(BIG, mode=mode, negative_slope=slope) == pytest.approx(std, rel=1e-15)
    assert std == pytest.approx(nn.init.calculate_gain(nonlinearity, slope) / math.sqrt(fan), rel=1e-12)
    ours = init.kaiming_normal(BIG, mode=mode, negative_slope=slope, rng=2)
    theirs = torch_sample(nn.init.kaiming_normal_, a=slope, mode=mode, nonlinearity=nonlinearity)
    for w in (ours, theirs):
        assert w.std() == pytest.approx(std, rel=0.01)


def test_kaiming_on_conv_shape_uses_receptive_field():
    shape = (64, 32, 3, 3)
    std = math.sqrt(2.0 / (32 * 9))
    w = init.kaiming_normal(shape, rng=3)
    assert w.shape == shape
    assert w.std() == pytest.approx(std, rel=0.02)
    t = torch_sample(nn.init.kaiming_normal_, shape=shape, nonlinearity="relu")
    assert t.std() == pytest.approx(std, rel=0.02)


def test_kaiming_with_slope_one_is_lecun():
    assert init.kaiming_std((10, 50), negative_slope=1.0) == pytest.approx(math.sqrt(1 / 50), rel=1e-15)
    assert init.lecun_normal(BIG, rng=4).var() == pytest.approx(1 / BIG[1], rel=0.01)


def test_normal_and_constant():
    w = init.normal(BIG, 0.01, rng=5)
    assert w.std() == pytest.approx(0.01, rel=0.01)
    c = init.constant((3, 4), 0.5)
    assert c.shape == (3, 4) and np.all(c == 0.5) and c.dtype == np.float64


def test_seed_and_generator_reproducibility():
    a = init.xavier_normal((20, 30), rng=7)
    b = init.xavier_normal((20, 30), rng=7)
    c = init.xavier_normal((20, 30), rng=8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    assert np.array_equal(init.kaiming_normal((4, 6), rng=g1), init.kaiming_normal((4, 6), rng=g2))
    # a shared generator advances: two draws from it differ
    assert not np.array_equal(init.kaiming_normal((4, 6), rng=g1), init.kaiming_normal((4, 6), rng=g1))


def test_forward_variance_of_a_relu_layer_is_preserved():
    """The derivation's prediction in one layer: E[z^2] stays 1 with Kaiming fan_in."""
    rng = np.random.default_rng(10)
    z = rng.standard_normal((4000, 512))
    w = init.kaiming_normal((256, 512), rng=11)
    assert np.mean((np.maximum(z, 0) @ w.T) ** 2) == pytest.approx(1.0, rel=0.05)


def test_init_linear_layers_sets_every_linear_layer():
    net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5, bias=False),
                        nn.Sequential(nn.Linear(5, 3)))
    out = init.init_linear_layers(net, partial(init.constant, value=0.25), bias=0.1)
    assert out is net
    for layer in (net[0], net[2], net[3][0]):
        assert torch.all(layer.weight == 0.25)
    assert torch.all(net[0].bias == 0.1) and torch.all(net[3][0].bias == 0.1)


def test_init_linear_layers_is_reproducible_and_keeps_dtype():
    make = lambda: nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2)).double()  # noqa: E731
    a = init.init_linear_layers(make(), init.xavier_uniform, rng=3)
    b = init.init_linear_layers(make(), init.xavier_uniform, rng=3)
    for p, q in zip(a.parameters(), b.parameters()):
        assert p.dtype == torch.float64 and torch.equal(p, q)
    assert not torch.equal(a[0].weight[:2, :2], a[2].weight[:2, :2])   # layers get different draws
    expected = init.xavier_uniform((8, 6), rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a[0].weight.detach().numpy(), expected)


@pytest.mark.parametrize("bad_shape, error", [
    ((5,), ValueError), ((), ValueError), ((3, 0), ValueError), ((3, -2), ValueError),
    ((3, 2.5), TypeError), (7, TypeError), ("ab", TypeError), ((True, 3), TypeError),
])
def test_bad_shapes(bad_shape, error):
    with pytest.raises(error):
        init.fans(bad_shape)
    with pytest.raises(error):
        init.xavier_normal(bad_shape)


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode must be"):
        init.kaiming_normal((3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match="negative_slope"):
        init.kaiming_std((3, 4), negative_slope=-0.1)
    with pytest.raises(TypeError, match="bias must be a real number"):
        init.init_linear_layers(nn.Linear(2, 2), init.xavier_normal, bias="0")
    with pytest.raises(ValueError, match="no torch.nn.Linear"):
        init.init_linear_layers(nn.ReLU(), init.xavier_normal)
    with pytest.raises(ValueError, match="scheme returned shape"):
        init.init_linear_layers(nn.Linear(2, 3), lambda shape, rng: np.zeros((2, 3)))
