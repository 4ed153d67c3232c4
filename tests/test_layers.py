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

from dlbook_lib import activations, init, layers, losses, optim
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
        layers.mlp([2, 3, 2], "swish")


def test_default_init_draws_like_torch_bounds():
    lin = layers.Linear(400, 30, rng=0)
    bound = 1 / np.sqrt(400)
    assert np.abs(lin.params["weight"]).max() <= bound
    assert np.abs(lin.params["weight"]).max() > 0.95 * bound


def test_sequential_rejects_non_layers():
    with pytest.raises(TypeError, match="layer 1 is not a dlbook_lib.layers.Layer"):
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


# --- the network of chapter 05: layers.mlp against torch, to_torch ----------
# (moved here with the removal of the old NumPy MLP module and its tests; the
# losses themselves and the activations are tested against torch in
# test_losses.py and test_activations.py)

F = torch.nn.functional


def loss_and_grad(loss, out, target):
    """The mean loss and its gradient dL/d(output), from dlbook_lib.losses."""
    if loss == "mse":
        return losses.mse(out, target), losses.mse_grad(out, target)
    return losses.cross_entropy(out, target), losses.cross_entropy_grad(out, target)


def torch_loss(loss, out, target):
    return F.mse_loss(out, target) if loss == "mse" else F.cross_entropy(out, target)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("batch", [1, 7])
def test_network_equals_torch_forward_and_backward(activation, loss, batch):
    rng = np.random.default_rng(0)
    net = layers.mlp([5, 8, 6, 4], activation, seed=3)
    x = rng.normal(size=(batch, 5))
    target = rng.integers(0, 4, size=batch) if loss == "cross_entropy" else rng.normal(size=(batch, 4))
    out = net(x)
    value, d_out = loss_and_grad(loss, out, target)
    dx = net.backward(d_out)
    model = layers.to_torch(net)
    xt = torch.from_numpy(x).requires_grad_()
    out_t = model(xt)
    J = torch_loss(loss, out_t, torch.from_numpy(target))
    J.backward()
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12)
    assert value == pytest.approx(J.item(), rel=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert list(net.grads) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    for name, p in model.named_parameters():
        g = net.grads[name]
        assert g.shape == net.params[name].shape and g.dtype == np.float64
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name)


def test_single_linear_layer_network_and_float32_input():
    rng = np.random.default_rng(1)
    net = layers.mlp([3, 2], "relu", seed=0)
    assert [type(layer).__name__ for layer in net.layers] == ["Linear"]
    x = rng.normal(size=(4, 3)).astype(np.float32)
    y = np.array([0, 1, 1, 0])
    out = net(x)                      # converted to float64 on entry
    assert out.dtype == np.float64
    net.backward(loss_and_grad("cross_entropy", out, y)[1])
    model = layers.to_torch(net)
    F.cross_entropy(model(torch.from_numpy(x.astype(np.float64))), torch.from_numpy(y)).backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(net.grads[name], p.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("batch", [1, 6])
def test_linear_layer_matches_autograd(batch):
    rng = np.random.default_rng(2)
    lin = layers.Linear(4, 3, rng=2)
    x = rng.normal(size=(batch, 4))
    dy = rng.normal(size=(batch, 3))
    xt = torch.tensor(x, requires_grad=True)
    W = torch.tensor(lin.params["weight"], requires_grad=True)
    b = torch.tensor(lin.params["bias"], requires_grad=True)
    y = F.linear(xt, W, b)
    y.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(lin(x), y.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(lin.backward(dy), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(lin.grads["weight"], W.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(lin.grads["bias"], b.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "elu", "gelu"])
def test_activation_layer_backward_matches_autograd(name):
    rng = np.random.default_rng(3)
    z = np.concatenate([rng.normal(scale=3.0, size=(5, 4)), np.zeros((1, 4)),
                        np.array([[-40.0, 40.0, -1000.0, 1000.0]])])  # kink and extremes
    dy = rng.normal(size=z.shape)
    zt = torch.tensor(z, requires_grad=True)
    activations.torch_module(name)(zt).backward(torch.from_numpy(dy))
    layer = layers.Activation(name)
    layer(z)
    np.testing.assert_allclose(layer.backward(dy), zt.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(layer.backward(np.zeros_like(dy)), 0.0)  # zero upstream gradient
    assert layer.params == {} and layer.grads == {}


def test_zero_gradient_at_a_perfect_mse_fit():
    net = layers.mlp([2, 3, 2], "tanh", seed=0)
    x = np.ones((3, 2))
    target = net(x).copy()
    value, d_out = loss_and_grad("mse", net(x), target)
    net.backward(d_out)
    assert value == 0.0
    assert all(np.all(g == 0.0) for g in net.grads.values())


def test_mlp_builder_is_seeded_and_draws_like_nn_linear():
    a, b = layers.mlp([10, 20, 3], "tanh", seed=5), layers.mlp([10, 20, 3], "tanh", seed=5)
    c = layers.mlp([10, 20, 3], "tanh", seed=6)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["0.weight"], c.params["0.weight"])
    for name, n_in in (("0", 10), ("2", 20)):
        for kind in ("weight", "bias"):
            assert np.abs(a.params[f"{name}.{kind}"]).max() <= 1 / np.sqrt(n_in)
    assert repr(a) == "Sequential(Linear(10, 20), Activation('tanh'), Linear(20, 3))"


def test_to_torch_equals_the_numpy_network_in_training_and_eval_mode():
    net, _ = network()                        # Linear, BatchNorm, ReLU, Linear
    rng = np.random.default_rng(4)
    net.forward(rng.normal(2.0, 3.0, size=(9, 6)))   # running statistics move away from 0, 1
    for mode in ("train", "eval"):
        getattr(net, mode)()
        model = layers.to_torch(net)
        assert model.training == net.training and model[1].training == net.training
        x, dy = rng.normal(size=(5, 6)), rng.normal(size=(5, 3))
        xt = torch.from_numpy(x).requires_grad_()
        yt = model(xt)
        yt.backward(torch.from_numpy(dy))
        np.testing.assert_allclose(net.forward(x), yt.detach().numpy(), **TOL)
        np.testing.assert_allclose(net.backward(dy), xt.grad.numpy(), **TOL)
        for name, p in model.named_parameters():
            np.testing.assert_allclose(net.grads[name], p.grad.numpy(), **TOL, err_msg=name)
        np.testing.assert_allclose(model[1].running_mean.numpy(), net.layers[1].running_mean, **TOL)
        np.testing.assert_allclose(model[1].running_var.numpy(), net.layers[1].running_var, **TOL)


def test_to_torch_copies_weights_and_leaves_the_random_state_alone():
    net = layers.mlp([3, 4, 2], "relu", seed=0)
    state = torch.get_rng_state()
    model = layers.to_torch(net)
    assert torch.equal(state, torch.get_rng_state())
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    assert [n for n, _ in model.named_parameters()] == list(net.params)
    assert all(p.dtype == torch.float64 for p in model.parameters())
    np.testing.assert_array_equal(model[2].bias.detach().numpy(), net.params["2.bias"])
    with torch.no_grad():
        model[0].weight.zero_()                          # a copy, not the same memory
    assert np.abs(net.params["0.weight"]).max() > 0


def test_to_torch_refuses_what_it_cannot_copy():
    with pytest.raises(ValueError, match="no torch.nn twin"):
        layers.to_torch(layers.Sequential(layers.Linear(2, 2), layers.Activation("hard_sigmoid")))
    with pytest.raises(ValueError, match="learns its own parameter"):
        layers.to_torch(layers.Sequential(layers.Activation("prelu")))


@pytest.mark.parametrize(
    "call, exc, msg",
    [
        (lambda: layers.mlp([3]), ValueError, "needs an input and an output size"),
        (lambda: layers.mlp([3, 0]), ValueError, "n_out must be >= 1"),
        (lambda: layers.mlp([3, 2.5]), TypeError, "n_out must be an integer"),
        (lambda: layers.Linear(0, 2), ValueError, "n_in must be >= 1"),
        (lambda: layers.Linear(2, 2, init=init.constant, bias="0"), TypeError,
         "bias must be a real number"),
        (lambda: layers.Activation("swish"), ValueError, "unknown activation 'swish'"),
    ],
)
def test_bad_settings_at_the_constructors_are_named(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


# --- residual blocks (chapter 13) ---------------------------------------------

class TorchResidual(nn.Module):
    """x + inner(x), the torch twin of layers.Residual."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return x + self.inner(x)


def residual_network():
    """Linear -> Residual(Linear, tanh, Linear) -> Residual(Linear, ReLU)
    -> Linear, ours and torch's with the same weights (float64)."""
    net = layers.Sequential(
        layers.Linear(5, 6, rng=1),
        layers.Residual(layers.Sequential(layers.Linear(6, 4, rng=2),
                                          layers.Activation("tanh"),
                                          layers.Linear(4, 6, rng=3))),
        layers.Residual(layers.Sequential(layers.Linear(6, 6, rng=4),
                                          layers.Activation("relu"))),
        layers.Linear(6, 3, rng=5))
    d = torch.float64
    model = nn.Sequential(
        nn.Linear(5, 6, dtype=d),
        TorchResidual(nn.Sequential(nn.Linear(6, 4, dtype=d), nn.Tanh(),
                                    nn.Linear(4, 6, dtype=d))),
        TorchResidual(nn.Sequential(nn.Linear(6, 6, dtype=d), nn.ReLU())),
        nn.Linear(6, 3, dtype=d))
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(net.params[name]))
    return net, model


def test_residual_names_forward_backward_and_grads_equal_torch(rng):
    net, model = residual_network()
    assert list(net.params) == [n for n, _ in model.named_parameters()]
    assert "1.inner.0.weight" in net.params
    for batch in (9, 1):
        x, dy = rng.normal(size=(batch, 5)), rng.normal(size=(batch, 3))
        xt = torch.from_numpy(x).requires_grad_()
        model.zero_grad()
        yt = model(xt)
        yt.backward(torch.from_numpy(dy))
        np.testing.assert_allclose(net(x), yt.detach().numpy(), **TOL)
        np.testing.assert_allclose(net.backward(dy), xt.grad.numpy(), **TOL)
        for name, p in model.named_parameters():
            np.testing.assert_allclose(net.grads[name], p.grad.numpy(), **TOL,
                                       err_msg=name)


def test_residual_jacobian_is_identity_plus_inner_jacobian(rng):
    inner = layers.Sequential(layers.Linear(4, 4, rng=0),
                              layers.Activation("sigmoid"))
    block = layers.Residual(inner)
    x = rng.normal(size=(1, 4))

    def rows(layer):            # Jacobian row by row: backward of e_i
        layer.forward(x)
        return np.array([layer.backward(np.eye(4)[[i]])[0] for i in range(4)])

    np.testing.assert_allclose(rows(block), np.eye(4) + rows(inner),
                               rtol=1e-14, atol=1e-15)
    fd = numerical_gradient(lambda v: float(block.forward(v)[0, 2]), x)
    np.testing.assert_allclose(rows(block)[2], fd[0], rtol=1e-7, atol=1e-9)


def test_residual_zero_branch_is_identity_and_zero_upstream_gradient(rng):
    lin = layers.Linear(3, 3, init=lambda shape, rng: np.zeros(shape))
    block = layers.Residual(lin)
    x = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(block(x), x)
    g = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(block.backward(g), g)  # identity path
    np.testing.assert_allclose(block.grads["inner.weight"], g.T @ x)
    np.testing.assert_array_equal(block.backward(np.zeros((4, 3))),
                                  np.zeros((4, 3)))
    assert not block.grads["inner.weight"].any()


def test_residual_optimiser_updates_the_inner_arrays_and_modes_propagate():
    inner = layers.Sequential(layers.Linear(2, 2, rng=0), layers.BatchNorm(2))
    block = layers.Residual(inner)
    block.forward(np.arange(8.0).reshape(4, 2))
    block.backward(np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.0],
                             [2.0, 1.0]]))
    before = inner.layers[0].params["weight"].copy()
    optim.SGD(0.1).step(block.params, block.grads)
    assert not np.allclose(inner.layers[0].params["weight"], before)
    block.eval()
    assert not inner.training and not inner.layers[1].training
    block.train()
    assert inner.layers[1].training


# --- Dropout (chapter 15) ---------------------------------------------------

def torch_dropout_with_mask(x, p, seed):
    """torch.nn.Dropout's output and input gradient on x (float64, no zero
    entries), and the keep mask read off its output."""
    torch.manual_seed(seed)
    xt = torch.tensor(x, requires_grad=True)
    yt = nn.Dropout(p)(xt)
    g = np.random.default_rng(seed + 1).normal(size=x.shape)
    yt.backward(torch.tensor(g))
    return yt.detach().numpy(), xt.grad.numpy(), yt.detach().numpy() != 0, g


@pytest.mark.parametrize("p, shape", [(0.5, (8, 6)), (0.2, (1, 5)),
                                      (0.8, (3, 4, 2, 2))])
def test_dropout_equals_torch_given_the_same_mask(p, shape):
    x = np.random.default_rng(0).uniform(0.5, 2.0, size=shape)   # no zeros
    y_ref, dx_ref, keep, g = torch_dropout_with_mask(x, p, seed=3)
    layer = layers.Dropout(p).use_mask(keep)
    np.testing.assert_allclose(layer(x), y_ref, **TOL)
    np.testing.assert_allclose(layer.backward(g), dx_ref, **TOL)
    np.testing.assert_array_equal(layer.keep, keep)
    assert 0 < keep.sum() < keep.size or keep.size < 10


def test_dropout_eval_is_identity_like_torch_and_noninverted_scales():
    x = np.random.default_rng(1).normal(size=(5, 7))
    layer = layers.Dropout(0.3).eval()
    ref = nn.Dropout(0.3).eval()(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(ref, x)
    g = np.ones_like(x)
    np.testing.assert_array_equal(layer.backward(g), g)
    plain = layers.Dropout(0.3, inverted=False).eval()
    np.testing.assert_allclose(plain(x), 0.7 * x, rtol=1e-15)
    np.testing.assert_allclose(plain.backward(g), 0.7 * g, rtol=1e-15)
    plain.train()
    keep = np.random.default_rng(2).random(x.shape) > 0.3
    np.testing.assert_array_equal(plain.use_mask(keep)(x), x * keep)


def test_dropout_p_zero_is_identity_in_training_mode():
    x = np.random.default_rng(2).normal(size=(4, 3))
    layer = layers.Dropout(0.0)
    np.testing.assert_array_equal(layer(x), x)
    assert layer.keep.all()
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)),
                                  np.ones_like(x))
    np.testing.assert_array_equal(nn.Dropout(0.0)(torch.tensor(x)).numpy(), x)


def test_dropout_keeps_the_expectation_and_has_the_derived_variance():
    # E[y] = x and Var[y] = x^2 p / (1 - p) for inverted dropout, by Monte
    # Carlo over 200000 masks: within 5 standard errors
    p, x = 0.3, np.array([[0.5, -2.0, 3.0]])
    layer = layers.Dropout(p, seed=7)
    ys = np.concatenate([layer.forward(np.repeat(x, 1000, axis=0))
                         for _ in range(200)])
    n = len(ys)
    var = x ** 2 * p / (1 - p)
    assert np.all(np.abs(ys.mean(axis=0) - x) < 5 * np.sqrt(var / n))
    np.testing.assert_allclose(ys.var(axis=0), var[0], rtol=0.02)
    assert abs(layer.keep.mean() - (1 - p)) < 0.05


def test_dropout_masks_are_seeded_fresh_each_pass_and_fixed_on_request():
    x = np.ones((50, 20))
    a, b = layers.Dropout(0.5, seed=4), layers.Dropout(0.5, seed=4)
    first = a(x)
    np.testing.assert_array_equal(first, b(x))
    assert not np.array_equal(first, a(x))           # a new mask
    keep = first != 0
    a.use_mask(keep)
    np.testing.assert_array_equal(a(x), first)
    np.testing.assert_array_equal(a(x), first)       # stays fixed
    a.use_mask(None)
    assert not np.array_equal(a(x), first)


def test_dropout_in_a_network_passes_a_gradient_check_with_a_fixed_mask():
    from dlbook_lib import gradcheck
    rng = np.random.default_rng(5)
    drop = layers.Dropout(0.4, seed=1)
    net = layers.Sequential(layers.Linear(4, 6, rng=1),
                            layers.Activation("tanh"), drop,
                            layers.Linear(6, 2, rng=2))
    x, y = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    drop.use_mask(rng.random((5, 6)) > 0.4)
    def loss(out):
        return losses.mse(out, y), losses.mse_grad(out, y)

    assert gradcheck.check_model(net, loss, x).passed
    drop.use_mask(None)                  # a new mask at every forward pass
    assert not gradcheck.check_model(net, loss, x).passed


def test_dropout_bad_inputs():
    with pytest.raises(ValueError,
                       match=r"^dropout probability p must be < 1\.0, "
                             r"got 1\.5$"):
        layers.Dropout(1.5)
    for p in (1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="dropout probability p must be"):
            layers.Dropout(p)
    for p in ("0.5", True):
        with pytest.raises(TypeError, match="must be a real number"):
            layers.Dropout(p)
    assert repr(layers.Dropout(0.25, inverted=False)) == \
        "Dropout(p=0.25, inverted=False)"


# --- Flatten (chapter 17) ------------------------------------------------------

def test_flatten_equals_torch_and_reshapes_the_gradient_back():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    flat = layers.Flatten()
    y = flat(x)
    np.testing.assert_array_equal(y, nn.Flatten()(torch.from_numpy(x)).numpy())
    dy = np.random.default_rng(0).normal(size=y.shape)
    xt = torch.tensor(x, requires_grad=True)
    nn.Flatten()(xt).backward(torch.from_numpy(dy))
    np.testing.assert_array_equal(flat.backward(dy), xt.grad.numpy())
    twin = layers.to_torch(layers.Sequential(layers.Flatten(), layers.Linear(12, 2)))
    assert isinstance(twin[0], nn.Flatten)
