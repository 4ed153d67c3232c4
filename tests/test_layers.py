"""dlbook_lib.layers: the NumPy layers equal their torch.nn twins.

The reference test is a network Linear -> BatchNorm -> ReLU -> Linear built from
the library's layers and the same network in torch (float64): forward and
backward in training and evaluation mode, and five SGD-with-momentum steps
driven by dlbook_lib.optim, all within 1e-10.
"""
import numpy as np
import pytest
import torch
from torch import nn

from dlbook_lib import init, layers, optim
from dlbook_lib.numeric import numerical_gradient

TOL = dict(rtol=1e-10, atol=1e-10)
RTOL, ATOL = 1e-10, 1e-12


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def twin(net: layers.Sequential) -> torch.nn.Sequential:
    """The torch network with the same architecture and weights."""
    mods = []
    for layer in net.layers:
        if isinstance(layer, layers.Linear):
            n_out, n_in = layer.params["weight"].shape
            mods.append(torch.nn.Linear(n_in, n_out, dtype=torch.float64))
        elif isinstance(layer, layers.BatchNorm):
            mods.append(torch.nn.BatchNorm1d(layer.num_features,
                                             dtype=torch.float64))
        else:
            mods.append({"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh,
                         "sigmoid": torch.nn.Sigmoid}[layer.name]())
    model = torch.nn.Sequential(*mods)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(net.params[name]))
    return model


def network():
    net = layers.Sequential(layers.Linear(6, 8, rng=1), layers.BatchNorm(8),
                            layers.Activation("relu"),
                            layers.Linear(8, 3, rng=2))
    return net, twin(net)


def test_parameters_are_named_like_torch():
    net, model = network()
    assert list(net.params) == [n for n, _ in model.named_parameters()]


@pytest.mark.parametrize("training", [True, False])
def test_forward_and_backward_equal_torch(training):
    net, model = network()
    x = np.random.default_rng(0).normal(size=(16, 6))
    dy = np.random.default_rng(1).normal(size=(16, 3))
    if not training:  # give the running statistics something to hold first
        net.forward(x * 2 + 1)
        model(torch.from_numpy(x * 2 + 1))
        net.eval()
        model.eval()
    xt = torch.from_numpy(x).requires_grad_()
    yt = model(xt)
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(net.forward(x), yt.detach().numpy(), **TOL)
    dx = net.backward(dy)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(net.grads[name], p.grad.numpy(), **TOL,
                                   err_msg=name)
    bn_np, bn_t = net.layers[1], model[1]
    np.testing.assert_allclose(bn_np.running_mean,
                               bn_t.running_mean.numpy(), **TOL)
    np.testing.assert_allclose(bn_np.running_var,
                               bn_t.running_var.numpy(), **TOL)


def test_five_momentum_steps_equal_torch():
    net, model = network()
    rng = np.random.default_rng(3)
    rule = optim.SGD(0.1, momentum=0.9)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(5):
        x = rng.normal(size=(10, 6))
        y = rng.integers(0, 3, size=10)
        out = model(torch.from_numpy(x))
        loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        logits = net.forward(x)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(10), y] -= 1.0
        net.backward(p / 10)                 # d(mean cross-entropy)/dlogits
        rule.step(net.params, net.grads)
    for name, q in model.named_parameters():
        np.testing.assert_allclose(net.params[name], q.detach().numpy(),
                                   **TOL, err_msg=name)


def test_batch_of_one_in_eval_mode_and_error_in_training():
    net, model = network()
    x = np.ones((1, 6))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        net.forward(x)
    net.eval()
    model.eval()
    np.testing.assert_allclose(net.forward(x),
                               model(torch.from_numpy(x)).detach().numpy(),
                               **TOL)


def test_mlp_builder_takes_an_init_scheme_and_batch_norm():
    net = layers.mlp([5, 7, 7, 2], "tanh", init=init.xavier_normal,
                     batch_norm=True, seed=4)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Linear", "BatchNorm", "Activation", "Linear",
                     "BatchNorm", "Activation", "Linear"]
    w = net.layers[0].params["weight"]
    assert w.shape == (7, 5) and np.all(net.layers[0].params["bias"] == 0)
    expected = init.xavier_normal((7, 5), rng=np.random.default_rng(4))
    np.testing.assert_array_equal(w, expected)
    with pytest.raises(ValueError, match="unknown activation"):
        layers.mlp([2, 2], "swish")


def test_default_init_draws_like_torch_bounds():
    lin = layers.Linear(400, 30, rng=0)
    bound = 1 / np.sqrt(400)
    assert np.abs(lin.params["weight"]).max() <= bound
    assert np.abs(lin.params["weight"]).max() > 0.95 * bound


def test_sequential_rejects_non_layers():
    with pytest.raises(TypeError, match="not a dlbook_lib.layers.Layer"):
        layers.Sequential(layers.Linear(2, 2), torch.nn.ReLU())


# --- batch norm (chapter 09) ------------------------------------------------

def bn_paired(shape, rng, momentum=0.1, eps=1e-5):
    """Our BatchNorm and torch's, with the same random gamma and beta, float64."""
    C = shape[1]
    ours = layers.BatchNorm(C, eps=eps, momentum=momentum)
    ref = (nn.BatchNorm1d if len(shape) == 2 else nn.BatchNorm2d)(C, eps=eps, momentum=momentum,
                                                                  dtype=torch.float64)
    gamma, beta = rng.normal(1.0, 0.5, size=C), rng.normal(size=C)
    ours.params["weight"][:], ours.params["bias"][:] = gamma, beta
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(gamma))
        ref.bias.copy_(torch.tensor(beta))
    return ours, ref


def bn_step(ours, ref, x, g):
    xt = torch.tensor(x, requires_grad=True)
    ref.weight.grad = ref.bias.grad = None
    y_ref = ref(xt)
    y_ref.backward(torch.tensor(g))
    y, dx = ours.forward(x), ours.backward(g)
    np.testing.assert_allclose(y, y_ref.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours.grads["weight"], ref.weight.grad.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours.grads["bias"], ref.bias.grad.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", [(2, 3), (7, 4), (64, 10), (1, 3, 1, 2), (3, 2, 4, 5)])
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batchnorm_matches_torch_in_training_and_eval(rng, shape, momentum):
    ours, ref = bn_paired(shape, rng, momentum=momentum)
    for _ in range(5):
        bn_step(ours, ref, rng.normal(2.0, 3.0, size=shape), rng.normal(size=shape))
    np.testing.assert_allclose(ours.running_mean, ref.running_mean.numpy(), rtol=1e-12, atol=ATOL)
    np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=1e-12, atol=ATOL)
    ours.eval()
    ref.eval()
    bn_step(ours, ref, rng.normal(2.0, 3.0, size=shape), rng.normal(size=shape))
    ours.train()
    ref.train()
    bn_step(ours, ref, rng.normal(size=shape), rng.normal(size=shape))


def test_running_statistics_conventions(rng):
    bn = layers.BatchNorm(3)
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
    bn = layers.BatchNorm(2)
    bn.params["weight"][:] = rng.normal(size=2)
    bn.forward(x)
    dx = bn.backward(g)

    def loss(v):
        fresh = layers.BatchNorm(2)
        fresh.params["weight"][:] = bn.params["weight"]
        return float((g * fresh.forward(v)).sum())

    np.testing.assert_allclose(dx, numerical_gradient(loss, x), rtol=1e-6, atol=1e-8)


def test_zero_upstream_gradient_and_constant_feature(rng):
    bn = layers.BatchNorm(2)
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
        layers.BatchNorm(3).forward(np.zeros(shape))
    # evaluation mode and a single image with several positions are fine, in both libraries
    assert layers.BatchNorm(3).eval().forward(np.ones(shape)).shape == shape
    assert layers.BatchNorm(3).forward(np.ones((1, 3, 2, 1))).shape == (1, 3, 2, 1)


def test_batchnorm_bad_inputs():
    with pytest.raises(ValueError, match="num_features must be >= 1"):
        layers.BatchNorm(0)
    with pytest.raises(TypeError, match="num_features must be an integer"):
        layers.BatchNorm(2.0)
    with pytest.raises(ValueError, match="eps must be > 0"):
        layers.BatchNorm(2, eps=0.0)
    with pytest.raises(ValueError, match="momentum must be <= 1"):
        layers.BatchNorm(2, momentum=1.5)
    bn = layers.BatchNorm(3)
    with pytest.raises(ValueError, match=r"BatchNorm\(4\) needs input \(N, 4\)"):
        layers.BatchNorm(4)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"got \(2, 3, 4\)"):
        bn(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        bn(np.array([[0.0, np.nan, 1.0], [1.0, 2.0, 3.0]]))
    with pytest.raises(RuntimeError, match="call forward before backward"):
        bn.backward(np.zeros((2, 3)))
    # backward trusts dy (validation happens where data enters: the call)
    with pytest.raises(TypeError, match="mode must be True or False"):
        bn.train("yes")
