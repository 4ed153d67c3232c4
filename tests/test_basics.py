"""Set-up, source display, plotting, losses, the line model and the optimisers."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import dlbook_lib  # noqa: E402
from dlbook_lib import regression, losses, optim, plot  # noqa: E402


def test_setup_is_deterministic_and_single_threaded():
    dlbook_lib.setup(seed=5, style=False)
    a = (torch.rand(3), np.random.rand(3))
    dlbook_lib.setup(seed=5, style=False)
    b = (torch.rand(3), np.random.rand(3))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert torch.get_num_threads() == 1
    assert torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)


def test_setup_and_device_bad_input():
    with pytest.raises(ValueError, match="threads"):
        dlbook_lib.setup(threads=0)
    with pytest.raises(TypeError, match="seed"):
        dlbook_lib.setup(seed=1.5)
    with pytest.raises(ValueError, match="seed"):
        dlbook_lib.seed_everything(2**32)
    with pytest.raises(ValueError, match="prefer"):
        dlbook_lib.device("tpu")
    assert dlbook_lib.device("cpu").type == "cpu"


def test_show_source():
    listing = dlbook_lib.show_source(losses.mse)
    assert "def mse" in listing._repr_markdown_()
    assert repr(listing).startswith("<source of dlbook_lib.losses.mse:")
    with pytest.raises(TypeError, match="function, class or method"):
        dlbook_lib.show_source(42)


def test_losses_match_torch():
    rng = np.random.default_rng(0)
    p, t = rng.normal(size=50), rng.normal(size=50)
    tp, tt = torch.tensor(p), torch.tensor(t)
    assert losses.mse(p, t) == pytest.approx(torch.nn.functional.mse_loss(tp, tt).item(), rel=1e-12)
    assert losses.mae(p, t) == pytest.approx(torch.nn.functional.l1_loss(tp, tt).item(), rel=1e-12)
    assert losses.mse([1.0], [3.0]) == 4.0  # batch of one
    with pytest.raises(ValueError, match="no broadcasting"):
        losses.mse(np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="empty"):
        losses.mae([], [])


def test_line_model_against_autograd():
    rng = np.random.default_rng(1)
    x, y, theta = rng.normal(size=30), rng.normal(size=30), rng.normal(size=2)
    th = torch.tensor(theta, requires_grad=True)
    loss = ((torch.tensor(y) - th[0] - th[1] * torch.tensor(x)) ** 2).mean()
    loss.backward()
    assert regression.line_mse(theta, x, y) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(regression.line_mse_grad(theta, x, y), th.grad.numpy(), rtol=1e-12)
    hess = torch.autograd.functional.hessian(
        lambda t: ((torch.tensor(y) - t[0] - t[1] * torch.tensor(x)) ** 2).mean(), torch.tensor(theta))
    np.testing.assert_allclose(regression.line_mse_hessian(x), hess.numpy(), rtol=1e-12)
    np.testing.assert_allclose(regression.least_squares_line(x, y),
                               np.polyfit(x, y, 1)[::-1], rtol=1e-10)


def test_line_model_bad_input():
    with pytest.raises(ValueError, match=r"\[b, w\]"):
        regression.line_predict([1.0, 2.0, 3.0], [1.0])
    with pytest.raises(ValueError, match="same number of rows"):
        regression.line_mse([0.0, 1.0], [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="all x are equal"):
        regression.least_squares_line([1.0, 1.0], [0.0, 2.0])
    with pytest.raises(ValueError, match="dimension"):
        regression.line_mse_hessian(np.zeros((2, 2)))


def test_gradient_descent_on_a_quadratic():
    h = np.diag([1.0, 10.0])
    run = optim.gradient_descent(lambda v: 0.5 * v @ h @ v, lambda v: h @ v, [1.0, 1.0],
                                 lr=0.1, steps=3)
    # closed form: each coordinate is multiplied by (1 - lr * h_ii) per step
    np.testing.assert_allclose(run.final, [0.9**3, 0.0**3], atol=1e-15)
    assert run.params.shape == (4, 2) and len(run.losses) == 4
    diverging = optim.gradient_descent(lambda v: 0.5 * v @ h @ v, lambda v: h @ v, [1.0, 1.0],
                                       lr=0.5, steps=10_000)
    assert len(diverging.losses) < 10_001 and diverging.losses[-1] > 1e12
    with pytest.raises(ValueError, match="lr"):
        optim.gradient_descent(np.sum, np.sign, [1.0], lr=0.0, steps=1)
    with pytest.raises(ValueError, match="grad returned shape"):
        optim.gradient_descent(np.sum, lambda v: np.zeros(3), [1.0], lr=0.1, steps=1)
    with pytest.raises(TypeError, match="callables"):
        optim.gradient_descent(None, np.sign, [1.0], lr=0.1, steps=1)


def test_minibatch_sgd_matches_torch_sgd():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=11), rng.normal(size=11)
    plan = [[np.array([0, 3, 5]), np.array([1, 2, 4, 6, 7, 8, 9]), np.array([10])]]
    ours = optim.minibatch_sgd(lambda th, i: regression.line_mse_grad(th, x[i], y[i]), [0.5, -0.5],
                               plan, lr=0.1)
    th = torch.tensor([0.5, -0.5], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([th], lr=0.1)
    for idx in plan[0]:  # includes a batch of one
        opt.zero_grad()
        ((torch.tensor(y[idx]) - th[0] - th[1] * torch.tensor(x[idx])) ** 2).mean().backward()
        opt.step()
    np.testing.assert_allclose(ours[-1], th.detach().numpy(), rtol=1e-12)
    assert len(ours) == 4
    with pytest.raises(ValueError, match="empty mini-batch"):
        optim.minibatch_sgd(lambda th, i: th, [0.0], [[np.array([], dtype=int)]], lr=0.1)
    with pytest.raises(ValueError, match="non-empty list"):
        optim.minibatch_sgd(lambda th, i: th, [0.0], [], lr=0.1)


def test_plot_helpers():
    fig, ax = plt.subplots()
    plot.contour_with_path(ax, np.arange(3), np.arange(2), np.ones((2, 3)), [[0, 0], [1, 1]])
    plot.loss_curves(ax, {"a": [1.0, 0.5]})
    with pytest.raises(ValueError, match="loss_grid must have shape"):
        plot.contour_with_path(ax, np.arange(3), np.arange(2), np.ones((3, 2)))
    with pytest.raises(ValueError, match="path must have shape"):
        plot.contour_with_path(ax, np.arange(3), np.arange(2), np.ones((2, 3)), np.ones((4, 3)))
    with pytest.raises(ValueError, match="non-empty dict"):
        plot.loss_curves(ax, {})
    plt.close(fig)
