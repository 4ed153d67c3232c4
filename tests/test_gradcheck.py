import numpy as np
import pytest
import torch

from dlbook_lib import gradcheck, layers, losses

ACTIVATIONS = ("sigmoid", "tanh", "relu")
LOSSES = {"mse": (losses.mse, losses.mse_grad),
          "cross_entropy": (losses.cross_entropy, losses.cross_entropy_grad)}


def _net_and_loss(activation="tanh", loss="cross_entropy"):
    """A layers.mlp network, its loss as a function of a dict of parameters,
    and its gradients from the backward pass."""
    rng = np.random.default_rng(0)
    net = layers.mlp([4, 5, 3], activation, seed=1)
    x = rng.normal(size=(6, 4))
    y = rng.integers(0, 3, size=6) if loss == "cross_entropy" else rng.normal(size=(6, 3))
    value, grad = LOSSES[loss]

    def loss_fn(params):
        copy = layers.mlp([4, 5, 3], activation, seed=1)
        for name, p in params.items():
            copy.params[name][...] = p
        return value(copy(x), y)

    net.backward(grad(net(x), y))
    return net, loss_fn, net.grads


def test_relative_error_reference_values():
    g = np.array([1.0, -2.0, 3.0])
    assert gradcheck.relative_error(g, g) == 0.0
    assert gradcheck.relative_error(g, 2 * g) == pytest.approx(1 / 3)
    assert gradcheck.relative_error(g, -g) == pytest.approx(1.0)
    assert gradcheck.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gradcheck.relative_error(torch.tensor([1.0]), [1.0]) == 0.0


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_correct_gradients_pass(activation, loss):
    net, loss_fn, grads = _net_and_loss(activation, loss)
    report = gradcheck.gradient_check(loss_fn, net.params, grads)
    assert report.passed and report.failed == []
    assert max(report.errors.values()) < 1e-7
    assert report.verdict().startswith("✓ all 4 parameter gradients agree")


def test_wrong_gradient_is_named():
    net, loss_fn, grads = _net_and_loss()
    bad = dict(grads, **{"2.bias": 2 * grads["2.bias"]})
    report = gradcheck.gradient_check(loss_fn, net.params, bad)
    assert report.failed == ["2.bias"]
    assert report.errors["2.bias"] == pytest.approx(1 / 3, rel=1e-6)
    assert "✗ gradients disagree for 2.bias" in report.verdict()
    assert "3.3e-01" in report.table()


def test_against_autograd_on_a_matrix_function():
    rng = np.random.default_rng(1)
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    W_t = torch.tensor(W, requires_grad=True)
    ((W_t @ torch.from_numpy(x)) ** 2).sum().backward()
    report = gradcheck.gradient_check(lambda p: float(np.sum((p["W"] @ x) ** 2)), {"W": W},
                                      {"W": W_t.grad.numpy()})
    assert report.passed
    assert report.errors["W"] < 1e-9


def test_zero_gradient_passes():
    report = gradcheck.gradient_check(lambda p: 5.0, {"a": np.ones(3)}, {"a": np.zeros(3)})
    assert report.passed and report.errors["a"] == 0.0


def test_report_table_shows_the_bound_a_pass_met_and_the_error_of_a_failure():
    # 3.2e-9 and 9.9e-8 print alike: a pass shows the bound, not round-off digits
    for small in (3.2e-9, 9.9e-8):
        report = gradcheck.GradCheckReport({"W1": small, "b1": 0.25}, 1e-7)
        assert report.table().splitlines() == ["      W1  rel. error <= 1e-07  ✓",
                                               "      b1  rel. error  2.5e-01  ✗"]
    assert not report.passed


@pytest.mark.parametrize(
    "kwargs, exc, msg",
    [
        ({"params": {}, "grads": {}}, ValueError, "non-empty dicts"),
        ({"grads": {"b": np.ones(2)}}, ValueError, "same names"),
        ({"grads": {"a": np.ones(3)}}, ValueError, "has shape"),
        ({"eps": 0.0}, ValueError, "eps must be >"),
        ({"threshold": -1.0}, ValueError, "threshold must be >"),
        ({"grads": {"a": ["x", "y"]}}, TypeError, "numbers"),
    ],
)
def test_bad_inputs_are_named(kwargs, exc, msg):
    args = {"loss_fn": lambda p: float(np.sum(p["a"] ** 2)), "params": {"a": np.ones(2)},
            "grads": {"a": 2 * np.ones(2)}}
    args.update(kwargs)
    with pytest.raises(exc, match=msg):
        gradcheck.gradient_check(args.pop("loss_fn"), args.pop("params"), args.pop("grads"), **args)


def test_relative_error_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        gradcheck.relative_error(np.ones(3), np.ones(4))


def test_check_model_passes_a_correct_network_and_catches_a_wrong_backward():
    net = layers.mlp([4, 6, 3], "tanh", seed=0)
    x = np.random.default_rng(0).normal(size=(5, 4))
    y = np.array([0, 1, 2, 1, 0])

    def loss(out):
        return losses.cross_entropy(out, y), losses.cross_entropy_grad(out, y)

    before = {k: v.copy() for k, v in net.params.items()}
    report = gradcheck.check_model(net, loss, x)
    assert report.passed and set(report.errors) == set(net.params)
    for k, v in net.params.items():          # parameters restored
        np.testing.assert_array_equal(v, before[k])
    # a backward pass with the activation's derivative dropped is caught
    net.layers[1].backward = lambda dy: dy
    bad = gradcheck.check_model(net, loss, x)
    assert not bad.passed and "0.weight" in bad.failed
