"""dlbook_lib.layers: the NumPy layers equal their torch.nn twins.

The reference test is a network Linear -> BatchNorm -> ReLU -> Linear built from
the library's layers and the same network in torch (float64): forward and
backward in training and evaluation mode, and five SGD-with-momentum steps
driven by dlbook_lib.optim, all within 1e-10.
"""
import numpy as np
import pytest
import torch

from dlbook_lib import init, layers, optim

TOL = dict(rtol=1e-10, atol=1e-10)


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
