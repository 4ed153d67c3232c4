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
    dlbook_lib.setup(seed=5)
    a = (torch.rand(3), np.random.rand(3))
    dlbook_lib.setup(seed=5)
    b = (torch.rand(3), np.random.rand(3))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert torch.get_num_threads() == 1
    assert torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)


def test_setup_and_device_bad_input():
    with pytest.raises(TypeError, match="seed"):
        dlbook_lib.setup(seed=1.5)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        dlbook_lib.seed_everything(-1)
    assert dlbook_lib.device().type == ("cuda" if torch.cuda.is_available()
                                        else "cpu")


def test_show_source():
    listing = dlbook_lib.show_source(losses.mse)
    assert "def mse" in listing._repr_markdown_()
    assert repr(listing).startswith("<source of dlbook_lib.losses.mse:")
    with pytest.raises(TypeError, match="function"):
        dlbook_lib.show_source(42)


def test_losses_match_torch():
    rng = np.random.default_rng(0)
    p, t = rng.normal(size=50), rng.normal(size=50)
    tp, tt = torch.tensor(p), torch.tensor(t)
    assert losses.mse(p, t) == pytest.approx(torch.nn.functional.mse_loss(tp, tt).item(), rel=1e-12)
    assert losses.mae(p, t) == pytest.approx(torch.nn.functional.l1_loss(tp, tt).item(), rel=1e-12)
    assert losses.mse([1.0], [3.0]) == 4.0  # batch of one


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


def test_least_squares_line_refuses_equal_x():
    with pytest.raises(ValueError, match="all x are equal"):
        regression.least_squares_line([1.0, 1.0], [0.0, 2.0])


def test_plot_helpers():
    fig, ax = plt.subplots()
    plot.contour_with_path(ax, np.arange(3), np.arange(2), np.ones((2, 3)), [[0, 0], [1, 1]])
    plot.loss_curves(ax, {"a": [1.0, 0.5]})
    assert ax.get_yscale() == "log" and len(ax.get_lines()) == 3
    plt.close(fig)
