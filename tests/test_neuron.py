"""dlbook_lib.neuron (and losses.one_hot, train.make_mlp, train.train_classifier) against PyTorch and analytic results, including edge cases."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlbook_lib import activations, data, losses, neuron, train
from dlbook_lib.data import Split

RNG = np.random.default_rng(0)
EXTREME = np.array([[1000.0, 0.0, -1000.0], [-800.0, -800.0, -805.0], [1e4, 1e4, 1e4],
                    [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("z", [RNG.normal(scale=5.0, size=(7, 4)), EXTREME, RNG.normal(size=(1, 3))])
def test_softmax_and_log_softmax_match_torch(z):
    zt = torch.tensor(z)
    np.testing.assert_allclose(losses.softmax(z), F.softmax(zt, dim=1).numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(losses.log_softmax(z), F.log_softmax(zt, dim=1).numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(losses.logsumexp(z), torch.logsumexp(zt, dim=1).numpy(), rtol=1e-12)


def test_softmax_of_a_vector_and_shift_invariance():
    z = RNG.normal(size=6)
    p = losses.softmax(z)
    assert p.shape == (6,) and p.sum() == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(losses.softmax(z - 500.0), p, rtol=1e-12)


@pytest.mark.parametrize("z, y", [(RNG.normal(scale=3.0, size=(9, 5)), RNG.integers(0, 5, size=9)),
                                  (EXTREME, np.array([2, 2, 0, 1])),
                                  (np.array([[0.5, -1.0]]), np.array([1]))])  # batch of one
def test_cross_entropy_and_its_gradient_match_torch(z, y):
    zt = torch.tensor(z, requires_grad=True)
    loss = F.cross_entropy(zt, torch.tensor(y))
    loss.backward()
    assert losses.cross_entropy(z, y) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(losses.cross_entropy_grad(z, y), zt.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_cross_entropy_extreme_value_is_exact():
    # label 2 of (1000, 0, -1000): loss = logsumexp - z_2 = 1000 + 1000
    assert losses.cross_entropy(EXTREME[:1], [2]) == pytest.approx(2000.0, rel=1e-15)
    assert losses.cross_entropy(EXTREME[:1], [0]) == pytest.approx(0.0, abs=1e-300)


def test_sigmoid_and_binary_cross_entropy_match_torch():
    z = np.concatenate([RNG.normal(scale=5.0, size=20), [-800.0, 800.0, 0.0]])
    y = np.concatenate([RNG.integers(0, 2, size=20), [1, 0, 1]]).astype(float)
    np.testing.assert_allclose(activations.sigmoid(z), torch.sigmoid(torch.tensor(z)).numpy(), rtol=1e-12, atol=1e-300)
    ref = F.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(y)).item()
    assert losses.binary_cross_entropy_with_logits(z, y) == pytest.approx(ref, rel=1e-12)
    soft = RNG.uniform(size=23)  # probabilities as targets are allowed
    ref = F.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(soft)).item()
    assert losses.binary_cross_entropy_with_logits(z, soft) == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("n", [1, 40])
def test_logistic_grad_matches_autograd(n):
    x, y = RNG.normal(size=(n, 3)), RNG.integers(0, 2, size=n).astype(float)
    w, b = RNG.normal(size=3), -0.4
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(torch.tensor(x) @ wt + bt, torch.tensor(y))
    loss.backward()
    assert neuron.logistic_loss(w, b, x, y) == pytest.approx(loss.item(), rel=1e-12)
    gw, gb = neuron.logistic_grad(w, b, x, y)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-10)
    assert gb == pytest.approx(bt.grad.item(), rel=1e-10)


def test_zero_gradient_at_perfect_prediction():
    # softmax_ce_grad is zero exactly when p equals the one-hot target (approached at large margins)
    g = losses.cross_entropy_grad(np.array([[800.0, 0.0, 0.0]]), [0])
    np.testing.assert_array_equal(g, np.zeros((1, 3)))


def test_one_hot():
    np.testing.assert_array_equal(losses.one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])


def test_perceptron_separable_and_xor():
    x = RNG.uniform(-1, 1, size=(200, 2))
    keep = np.abs(x @ [1.0, 1.0] - 0.2) > 0.1
    x = x[keep]
    y = (x @ [1.0, 1.0] - 0.2 > 0).astype(int)
    res = neuron.perceptron_train(x, y, max_epochs=200, seed=3)
    assert res.converged
    np.testing.assert_array_equal(neuron.perceptron_predict(res.w, res.b, x), y)
    assert res.mistakes == sum(res.errors_per_epoch) and res.errors_per_epoch[-1] == 0
    xor = neuron.perceptron_train([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0], max_epochs=50)
    assert not xor.converged and xor.epochs == 50
    one = neuron.perceptron_train([[1.0, 2.0]], [1])  # a single example: one update, then done
    assert one.converged and one.mistakes == 1


def test_mlp_shapes_and_seed():
    net = train.make_mlp([5, 7, 3], activation="tanh", seed=4)
    assert [type(m).__name__ for m in net] == ["Linear", "Tanh", "Linear"]
    same = train.make_mlp([5, 7, 3], activation="tanh", seed=4)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), same.parameters()))
    before = torch.random.get_rng_state()
    train.make_mlp([5, 3], seed=1)
    assert torch.equal(before, torch.random.get_rng_state()), "mlp must not disturb the global generator"


def test_train_classifier_is_deterministic_and_learns():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    split = Split(x[:200], y[:200], x[200:250], y[200:250], x[250:], y[250:])
    runs = [train.train_classifier(train.make_mlp([4, 2], seed=0), split, epochs=15, lr=0.05,
                                      batch_size=32, seed=0) for _ in range(2)]
    assert runs[0].val_curve == runs[1].val_curve and runs[0].test_acc == runs[1].test_acc
    assert runs[0].test_acc > 0.9
    assert 1 <= runs[0].best_epoch <= 15 and len(runs[0].train_loss) == 15
    assert runs[0].val_acc == max(runs[0].val_curve)


def test_bad_inputs_have_clear_messages():
    with pytest.raises(ValueError, match=r"y must lie in \[0, 1\] for 2 classes"):
        neuron.perceptron_train(np.zeros((2, 2)), [0, 2])
    with pytest.raises(ValueError, match="lr must be > 0"):
        neuron.perceptron_train(np.zeros((2, 2)), [0, 1], lr=0.0)
    with pytest.raises(ValueError, match="input and output sizes"):
        train.make_mlp([4])
    with pytest.raises(ValueError, match="activation"):
        train.make_mlp([4, 2], activation="swish")
    tiny = data.train_val_test_split(np.zeros((20, 2)), np.arange(20) % 2)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        train.train_classifier("model", tiny, epochs=1, lr=0.1,
                                  batch_size=1)
    with pytest.raises(TypeError, match="Split"):
        train.train_classifier(train.make_mlp([2, 2]), (1, 2), epochs=1, lr=0.1, batch_size=1)
