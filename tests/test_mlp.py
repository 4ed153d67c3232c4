import numpy as np
import pytest
import torch

from dlbook_lib import mlp

F = torch.nn.functional


def _target(loss, batch, k, rng):
    if loss == "cross_entropy":
        return rng.integers(0, k, size=batch)
    return rng.normal(size=(batch, k))


def _torch_loss_and_grads(net, x, target, loss):
    model = mlp.to_torch(net)
    out = model(torch.from_numpy(np.asarray(x, dtype=np.float64)))
    t = torch.from_numpy(target)
    J = F.mse_loss(out, t) if loss == "mse" else F.cross_entropy(out, t)
    J.backward()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    grads = {}
    for l, lin in enumerate(linears, start=1):
        grads[f"W{l}"], grads[f"b{l}"] = lin.weight.grad.numpy(), lin.bias.grad.numpy()
    return J.item(), out.detach().numpy(), grads


@pytest.mark.parametrize("activation", mlp.ACTIVATIONS)
@pytest.mark.parametrize("loss", mlp.LOSSES)
@pytest.mark.parametrize("batch", [1, 7])
def test_gradients_match_autograd(activation, loss, batch):
    rng = np.random.default_rng(0)
    net = mlp.MLP([5, 8, 6, 4], activation, seed=3)
    x = rng.normal(size=(batch, 5))
    target = _target(loss, batch, 4, rng)
    value, grads = net.loss_and_grads(x, target, loss)
    value_t, out_t, grads_t = _torch_loss_and_grads(net, x, target, loss)
    np.testing.assert_allclose(net.forward(x)[0], out_t, rtol=1e-12)
    assert value == pytest.approx(value_t, rel=1e-12)
    assert list(grads) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    for name, g in grads.items():
        assert g.shape == net.params[name].shape
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, grads_t[name], rtol=1e-10, atol=1e-14)


def test_single_layer_network_and_float32_input():
    rng = np.random.default_rng(1)
    net = mlp.MLP([3, 2], "relu", seed=0)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    y = np.array([0, 1, 1, 0])
    _, grads = net.loss_and_grads(x, y)
    _, _, grads_t = _torch_loss_and_grads(net, x.astype(np.float64), y, "cross_entropy")
    for name in grads:
        np.testing.assert_allclose(grads[name], grads_t[name], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name, torch_fn", [("sigmoid", torch.sigmoid), ("tanh", torch.tanh),
                                            ("relu", torch.relu)])
def test_activations_and_derivatives(name, torch_fn):
    z = torch.linspace(-30, 30, 601, dtype=torch.float64, requires_grad=True)
    a = torch_fn(z)
    a.sum().backward()
    np.testing.assert_allclose(mlp.activate(name, z.detach().numpy()), a.detach().numpy(), rtol=1e-14, atol=1e-300)
    # 1 - tanh(z)^2 cancels for large abs(z): compare to absolute precision there
    np.testing.assert_allclose(mlp.activation_derivative(name, z.detach().numpy()), z.grad.numpy(),
                               rtol=1e-12, atol=1e-15)


def test_sigmoid_extreme_inputs_do_not_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = mlp.activate("sigmoid", np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(s, [0.0, 0.5, 1.0])


def test_linear_backward_matches_autograd():
    rng = np.random.default_rng(2)
    a = torch.tensor(rng.normal(size=(6, 4)), requires_grad=True)
    W = torch.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    b = torch.tensor(rng.normal(size=3), requires_grad=True)
    z = F.linear(a, W, b)
    delta = rng.normal(size=(6, 3))
    z.backward(torch.from_numpy(delta))
    np.testing.assert_allclose(mlp.linear_forward(a.detach(), W.detach(), b.detach()), z.detach().numpy(), rtol=1e-14)
    dW, db, da = mlp.linear_backward(delta, a.detach(), W.detach())
    np.testing.assert_allclose(dW, W.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(db, b.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(da, a.grad.numpy(), rtol=1e-12)


def test_losses_match_torch_and_cross_entropy_is_stable():
    rng = np.random.default_rng(3)
    out = rng.normal(size=(5, 4)) * 300  # large logits
    y = rng.integers(0, 4, size=5)
    out_t = torch.tensor(out, requires_grad=True)
    J = F.cross_entropy(out_t, torch.from_numpy(y))
    J.backward()
    value, delta = mlp.loss_and_delta("cross_entropy", out, y)
    assert np.isfinite(value) and value == pytest.approx(J.item(), rel=1e-12)
    np.testing.assert_allclose(delta, out_t.grad.numpy(), rtol=1e-10, atol=1e-15)
    t = rng.normal(size=(5, 4))
    out_t = torch.tensor(out, requires_grad=True)
    J = F.mse_loss(out_t, torch.from_numpy(t))
    J.backward()
    value, delta = mlp.loss_and_delta("mse", out, t)
    assert value == pytest.approx(J.item(), rel=1e-12)
    np.testing.assert_allclose(delta, out_t.grad.numpy(), rtol=1e-12)


def test_zero_gradient_at_a_perfect_mse_fit():
    net = mlp.MLP([2, 3, 2], "tanh", seed=0)
    x = np.ones((3, 2))
    target, _ = net.forward(x)
    value, grads = net.loss_and_grads(x, target, "mse")
    assert value == 0.0
    assert all(np.all(g == 0.0) for g in grads.values())


def test_init_is_seeded_and_like_nn_linear():
    a, b = mlp.MLP([10, 20, 3], seed=5), mlp.MLP([10, 20, 3], seed=5)
    c = mlp.MLP([10, 20, 3], seed=6)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W1"], c.params["W1"])
    assert np.abs(a.params["W1"]).max() <= 1 / np.sqrt(10)
    assert np.abs(a.params["W2"]).max() <= 1 / np.sqrt(20)
    assert repr(a) == "MLP(sizes=[10, 20, 3], activation='tanh')"


def test_sgd_step_matches_torch_sgd():
    rng = np.random.default_rng(4)
    net = mlp.MLP([4, 5, 3], "sigmoid", seed=1)
    model = mlp.to_torch(net)
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    x, y = rng.normal(size=(8, 4)), rng.integers(0, 3, size=8)
    for _ in range(5):
        _, grads = net.loss_and_grads(x, y)
        net.sgd_step(grads, 0.3)
        opt.zero_grad()
        F.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        opt.step()
    np.testing.assert_allclose(net.params["W1"], model[0].weight.detach().numpy(), rtol=1e-12)
    np.testing.assert_array_equal(net.predict(x), model(torch.from_numpy(x)).argmax(1).numpy())


@pytest.mark.parametrize(
    "call, exc, msg",
    [
        (lambda: mlp.MLP([3, 2], "softplus"), ValueError, "unknown activation 'softplus'"),
        (lambda: mlp.MLP([3]), ValueError, "at least an input and an output"),
        (lambda: mlp.MLP([3, 0]), ValueError, "sizes\\[1\\] must be >= 1"),
        (lambda: mlp.MLP([3, 2.5]), TypeError, "sizes\\[1\\] must be an integer"),
        (lambda: mlp.MLP([3, 2]).loss(np.ones((2, 3)), np.array([0, 1]), "hinge"), ValueError, "unknown loss 'hinge'"),
        (lambda: mlp.MLP([3, 2]).forward(np.ones((2, 4))), ValueError, "3 features per row"),
        (lambda: mlp.MLP([3, 2]).forward(np.ones(3)), ValueError, "2 dimension"),
        (lambda: mlp.MLP([3, 2]).forward(np.ones((0, 3))), ValueError, "empty"),
        (lambda: mlp.MLP([3, 2]).forward([["a", "b", "c"]]), TypeError, "numbers"),
        (lambda: mlp.MLP([3, 2]).loss(np.ones((2, 3)), np.array([0.0, 1.0])), TypeError, "integer class labels"),
        (lambda: mlp.MLP([3, 2]).loss(np.ones((2, 3)), np.array([0, 2])), ValueError, "lie in \\[0, 1\\] for 2 classes"),
        (lambda: mlp.MLP([3, 2]).loss(np.ones((2, 3)), np.array([0, 1, 1])), ValueError, "same number of rows"),
        (lambda: mlp.MLP([3, 2]).loss(np.ones((2, 3)), np.ones((2, 3)), "mse"), ValueError, "output's shape"),
        (lambda: mlp.linear_forward(np.ones((2, 3)), np.ones((4, 2)), np.ones(4)), ValueError, "shapes do not fit"),
        (lambda: mlp.linear_backward(np.ones((2, 3)), np.ones((2, 3)), np.ones((4, 3))), ValueError, "shapes do not fit"),
        (lambda: mlp.activate("gelu", np.ones(2)), ValueError, "unknown activation"),
        (lambda: mlp.activation_derivative("relu", np.array([np.nan])), ValueError, "NaN"),
        (lambda: mlp.to_torch("net"), TypeError, "must be an MLP"),
    ],
)
def test_bad_inputs_are_named(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_backward_and_sgd_step_reject_mismatches():
    net = mlp.MLP([3, 4, 2], seed=0)
    out, cache = net.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match="list of 2"):
        net.backward(cache[:1], out)
    with pytest.raises(ValueError, match="output's shape"):
        net.backward(cache, np.ones((3, 2)))
    grads = net.backward(cache, np.ones_like(out))
    with pytest.raises(ValueError, match="must have the keys"):
        net.sgd_step({"W1": grads["W1"]}, 0.1)
    with pytest.raises(ValueError, match="lr must be >"):
        net.sgd_step(grads, 0.0)
    bad = dict(grads, W1=np.ones((3, 4)))
    with pytest.raises(ValueError, match="grads\\['W1'\\] has shape"):
        net.sgd_step(bad, 0.1)


def test_to_torch_copies_weights_and_leaves_the_random_state_alone():
    net = mlp.MLP([3, 4, 2], "relu", seed=0)
    state = torch.get_rng_state()
    model = mlp.to_torch(net)
    assert torch.equal(state, torch.get_rng_state())
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    np.testing.assert_array_equal(model[2].bias.detach().numpy(), net.params["b2"])
    assert all(p.dtype == torch.float64 for p in model.parameters())
