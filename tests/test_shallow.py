"""dlbook_lib.shallow: units, one hidden layer, interpolants and the tent map (chapter 02)."""
import numpy as np
import pytest
import torch

from dlbook_lib import activations, shallow


def test_hard_sigmoid_values_and_relu_identity_exact_on_dyadic_grid():
    grid = np.arange(-2048, 2049) / 256.0
    for x0, x1, c in [(0.0, 1.0, 1.0), (-0.75, 1.25, 3.0), (-4.0, -2.0, -0.5)]:
        h = activations.hard_sigmoid(grid, x0=x0, x1=x1, c=c)
        assert np.array_equal(h, shallow.hard_sigmoid_from_relus(grid, x0=x0, x1=x1, c=c))
        assert np.all(h[grid <= x0] == 0.0) and np.all(h[grid >= x1] == c)
    assert activations.hard_sigmoid(0.5) == 0.5  # default unit ramp
    assert np.array_equal(activations.get("hard_sigmoid").f(grid), np.clip(grid, 0, 1))


def test_hard_sigmoid_identity_random_parameters():
    rng = np.random.default_rng(0)
    for _ in range(10):
        x0, x1 = np.sort(rng.normal(size=2))
        c = rng.normal()
        x = rng.uniform(-5, 5, 1000)
        np.testing.assert_allclose(shallow.hard_sigmoid_from_relus(x, x0=x0, x1=x1, c=c),
                                   activations.hard_sigmoid(x, x0=x0, x1=x1, c=c), rtol=1e-12, atol=1e-13)


def test_unknown_activation_name_is_rejected():
    with pytest.raises(ValueError, match="unknown activation"):
        shallow.OneHiddenLayer(W=[1.0], b=[0.0], c=[1.0], b0=0.0,
                               activation_name="swish")(np.zeros(2))


@pytest.mark.parametrize("activation_name,torch_act", [("sigmoid", torch.nn.Sigmoid()),
                                                       ("relu", torch.nn.ReLU())])
@pytest.mark.parametrize("n,d,k", [(1, 1, 1), (7, 3, 4), (20, 1, 6)])
def test_one_hidden_layer_loop_matrix_and_torch_agree(activation_name, torch_act, n, d, k):
    rng = np.random.default_rng(n * 100 + d * 10 + k)
    x, W, b, c, b0 = (rng.normal(size=(n, d)), rng.normal(size=(k, d)), rng.normal(size=k),
                      rng.normal(size=k), float(rng.normal()))
    loop = shallow.one_hidden_layer_loop(x, W, b, c, b0, activation_name)
    matrix = shallow.one_hidden_layer_matrix(x, W, b, c, b0, activation_name)
    seq = torch.nn.Sequential(torch.nn.Linear(d, k), torch_act, torch.nn.Linear(k, 1)).double()
    with torch.no_grad():
        seq[0].weight.copy_(torch.tensor(W))
        seq[0].bias.copy_(torch.tensor(b))
        seq[2].weight.copy_(torch.tensor(c)[None, :])
        seq[2].bias.fill_(b0)
        ref = seq(torch.tensor(x))[:, 0].numpy()
    assert loop.shape == matrix.shape == (n,)
    np.testing.assert_allclose(loop, matrix, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(matrix, ref, rtol=1e-12, atol=1e-13)
    model = shallow.OneHiddenLayer(W, b, c, b0, activation_name)
    assert model.n_params == sum(p.numel() for p in seq.parameters())
    assert model.n_units == k
    assert repr(model).startswith("OneHiddenLayer(units=")


def test_one_hidden_layer_accepts_1d_input_when_d_is_1():
    W, b, c = np.array([[2.0]]), np.array([-1.0]), np.array([3.0])
    x = np.array([0.0, 0.5, 1.0])
    np.testing.assert_array_equal(shallow.one_hidden_layer_matrix(x, W, b, c, 1.0, "relu"),
                                  [1.0, 1.0, 4.0])


def test_one_hidden_layer_unknown_activation():
    W, b, c = np.ones((2, 3)), np.zeros(2), np.zeros(2)
    with pytest.raises(ValueError, match="activation"):
        shallow.one_hidden_layer_matrix(np.ones((4, 3)), W, b, c, 0.0, "softmax")


def test_relu_interpolant_matches_numpy_interp():
    rng = np.random.default_rng(1)
    knots = np.sort(rng.uniform(-3, 3, 12))
    values = rng.normal(size=12)
    net = shallow.relu_interpolant(knots, values)
    x = np.concatenate([np.linspace(knots[0], knots[-1], 5001), knots])
    np.testing.assert_allclose(net(x), np.interp(x, knots, values), rtol=1e-11, atol=1e-11)
    assert net.n_units == 11 and net.activation_name == "relu"
    # outside: constant on the left, last piece continued on the right
    assert net(np.array([knots[0] - 5.0]))[0] == pytest.approx(values[0], abs=1e-12)
    last_slope = (values[-1] - values[-2]) / (knots[-1] - knots[-2])
    assert net(np.array([knots[-1] + 1.0]))[0] == pytest.approx(values[-1] + last_slope, rel=1e-10)


def test_relu_interpolant_one_piece_and_error_rate():
    net = shallow.relu_interpolant([0.0, 2.0], [1.0, 5.0])  # a single line, one unit
    np.testing.assert_allclose(net(np.array([0.0, 1.0, 2.0])), [1.0, 3.0, 5.0])
    # x^2 on k equal pieces of [0, 1]: max error exactly 1 / (4 k^2), at the midpoints
    x = np.arange(4097) / 4096
    for k in (1, 2, 8, 64):
        kn = np.arange(k + 1) / k
        err = np.abs(shallow.relu_interpolant(kn, kn**2)(x) - x**2).max()
        assert err == pytest.approx(1 / (4 * k**2), rel=1e-9)


def test_relu_interpolant_bad_input():
    with pytest.raises(ValueError, match="at least 2 knots"):
        shallow.relu_interpolant([1.0], [1.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        shallow.relu_interpolant([0.0, 0.0, 1.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="got 2 knots and 3 values"):
        shallow.relu_interpolant([0.0, 1.0], [1.0, 2.0, 3.0])


def test_fit_output_layer_is_least_squares():
    rng = np.random.default_rng(2)
    x = rng.uniform(-2, 2, 100)
    W, b = rng.normal(size=(5, 1)), rng.normal(size=5)
    true = shallow.OneHiddenLayer(W, b, rng.normal(size=5), 0.7)
    fit = shallow.fit_output_layer(x, true(x), W, b)
    np.testing.assert_allclose(fit.c, true.c, rtol=1e-8)
    assert fit.b0 == pytest.approx(0.7, rel=1e-8)
    # normal equations: residual orthogonal to the features
    y = np.sin(x)
    fit = shallow.fit_output_layer(x, y, W, b, "relu")
    features = np.column_stack([np.ones_like(x), activations.relu(x[:, None] @ W.T + b)])
    np.testing.assert_allclose(features.T @ (y - fit(x)), 0.0, atol=1e-10)
    with pytest.raises(ValueError, match="same number of rows"):
        shallow.fit_output_layer(x, y[:-1], W, b)


def test_tent_map_and_powers():
    x = np.arange(1025) / 1024
    t = shallow.tent_map(x)
    np.testing.assert_array_equal(t, np.where(x <= 0.5, 2 * x, 2 - 2 * x))
    np.testing.assert_array_equal(shallow.tent_map_power(x, 0), x)
    np.testing.assert_array_equal(shallow.tent_map_power(x, 3), shallow.tent_map(shallow.tent_map(t)))
    with pytest.raises(ValueError, match="depth"):
        shallow.tent_map_power(x, -1)
    with pytest.raises(TypeError, match="depth"):
        shallow.tent_map_power(x, 2.0)


@pytest.mark.parametrize("depth", [1, 2, 5, 9])
def test_deep_tent_net_is_exact_and_small(depth):
    x = np.arange(2**12 + 1) / 2**12
    net = shallow.deep_tent_net(depth)
    with torch.no_grad():
        out = net(torch.tensor(x)[:, None])[:, 0].numpy()
    np.testing.assert_array_equal(out, shallow.tent_map_power(x, depth))
    assert sum(p.numel() for p in net.parameters()) == 6 * depth + 1
    assert shallow.count_linear_pieces(x, out, tol=0.0) == 2**depth


def test_deep_tent_net_bad_input():
    with pytest.raises(ValueError, match="depth"):
        shallow.deep_tent_net(0)
    with pytest.raises(TypeError, match="dtype"):
        shallow.deep_tent_net(2, dtype=torch.int64)
    assert next(shallow.deep_tent_net(1, dtype=torch.float32).parameters()).dtype == torch.float32


def test_count_linear_pieces():
    x = np.linspace(-1, 1, 201)
    assert shallow.count_linear_pieces(x, 3 * x + 1) == 1
    assert shallow.count_linear_pieces(x, np.abs(x)) == 2
    assert shallow.count_linear_pieces(x, activations.hard_sigmoid(x, x0=-0.5, x1=0.5)) == 3
    assert shallow.count_linear_pieces([0.0, 1.0], [0.0, 5.0]) == 1  # two samples, one piece
    with pytest.raises(ValueError, match="strictly increasing"):
        shallow.count_linear_pieces([0.0, 0.0, 1.0], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2"):
        shallow.count_linear_pieces([0.0], [0.0])
    with pytest.raises(ValueError, match="tol"):
        shallow.count_linear_pieces(x, x, tol=-1.0)


@pytest.mark.parametrize("activation_name", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("n,d,k", [(1, 1, 1), (9, 2, 5)])
def test_one_hidden_layer_to_torch_is_the_same_network(activation_name, n, d,
                                                       k):
    rng = np.random.default_rng(10 * d + k)
    x, W, b, c, b0 = (rng.normal(size=(n, d)), rng.normal(size=(k, d)),
                      rng.normal(size=k), rng.normal(size=k),
                      float(rng.normal()))
    model = shallow.OneHiddenLayer(W, b, c, b0, activation_name)
    net = model.to_torch()
    assert isinstance(net[1], type(activations.torch_module(activation_name)))
    assert sum(p.numel() for p in net.parameters()) == model.n_params
    assert all(p.dtype == torch.float64 for p in net.parameters())
    with torch.no_grad():
        out = net(torch.tensor(x))[:, 0].numpy()
    # against the loops, which share no code with torch's layers
    np.testing.assert_allclose(
        out, shallow.one_hidden_layer_loop(x, W, b, c, b0, activation_name),
        rtol=1e-12, atol=1e-13)
    # the copy is a copy: changing the torch net leaves the model alone
    with torch.no_grad():
        net[0].weight.zero_()
    np.testing.assert_array_equal(model.W, W)


def test_one_hidden_layer_to_torch_accepts_lists():
    net = shallow.OneHiddenLayer([[1.0], [-1.0]], [0, 1], [2, 3], 1,
                                 "relu").to_torch()
    with torch.no_grad():
        out = net(torch.tensor([[0.5], [2.0]], dtype=torch.float64))
    # 1 + 2 relu(0.5) + 3 relu(0.5) = 3.5;  1 + 2 relu(2) + 3 relu(-1) = 5
    np.testing.assert_array_equal(out[:, 0].numpy(), [3.5, 5.0])
