"""dlbook_lib.diagnostics: per-layer statistics equal a hand-written pass."""
import numpy as np
import pytest
import torch
from torch import nn

from dlbook_lib import diagnostics
from tests.test_layers import TorchResidual


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 6),
                         nn.Tanh(), nn.Linear(6, 3)).double()


def test_statistics_equal_a_manual_forward_and_backward():
    model = net()
    x = torch.randn(40, 5, dtype=torch.float64, generator=torch.Generator()
                    .manual_seed(1))
    y = torch.arange(40) % 3
    stats = diagnostics.layer_statistics(model, x, y)
    assert [s.name for s in stats] == ["0", "2", "4"]
    h, zs, acts = x, [], []
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.Linear):
            h.retain_grad()
            zs.append(h)
        else:
            acts.append(h)
    nn.functional.cross_entropy(h, y).backward()
    for s, z in zip(stats, zs):
        assert s.z_std == pytest.approx(z.std().item(), rel=1e-12)
        assert s.grad_std == pytest.approx(z.grad.std().item(), rel=1e-12)
        assert s.dead == int((z <= 0).all(dim=0).sum())
    for s, a in zip(stats[:2], acts):
        assert s.a_mean == pytest.approx(a.mean().item(), rel=1e-12)
        assert s.a_std == pytest.approx(a.std().item(), rel=1e-12)
    assert stats[-1].a_std is None
    table = diagnostics.as_table(stats, ("z_std", "a_std"))
    assert table.shape == (3, 2) and np.isnan(table[-1, 1])
    assert not model[0]._forward_hooks         # hooks removed


def test_dead_units_counts_units_off_for_every_input():
    z = torch.tensor([[-1.0, 2.0, 0.0], [-3.0, -1.0, 0.0]])
    assert diagnostics.dead_units(z) == 2
    conv = torch.zeros(4, 3, 5)
    conv[:, 1, 2] = 1.0
    assert diagnostics.dead_units(conv) == 2


def test_without_targets_no_gradient_and_clear_errors():
    stats = diagnostics.layer_statistics(net(), torch.zeros(3, 5,
                                         dtype=torch.float64))
    assert all(s.grad_std is None for s in stats)
    with pytest.raises(TypeError, match="Sequential"):
        diagnostics.layer_statistics(nn.Linear(2, 2), torch.zeros(1, 2))


def test_weight_grad_norms_in_order_including_nested_blocks():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(),
                          TorchResidual(nn.Sequential(nn.Linear(5, 5),
                                                      nn.Tanh())),
                          nn.Conv1d(1, 2, 3), nn.Flatten(),
                          nn.Linear(6, 2)).double()
    x = torch.randn(7, 4, dtype=torch.float64)
    out = model[:3](x).unsqueeze(1)
    model[5](model[4](model[3](out))).pow(2).sum().backward()
    norms = diagnostics.weight_grad_norms(model)
    assert list(norms) == ["0", "2.inner.0", "3", "5"]
    for name, value in norms.items():
        w = model.get_submodule(name).weight.grad
        assert value == pytest.approx(np.sqrt((w.numpy() ** 2).sum()),
                                      rel=1e-12)
    model.zero_grad(set_to_none=False)       # zero gradients: norms 0
    assert all(v == 0.0 for v in diagnostics.weight_grad_norms(model).values())


def test_weight_grad_norms_errors():
    with pytest.raises(ValueError, match="call loss.backward"):
        diagnostics.weight_grad_norms(net())
    with pytest.raises(ValueError, match="no linear or convolutional"):
        diagnostics.weight_grad_norms(nn.Sequential(nn.ReLU()))


def test_update_ratios_equal_lr_grad_over_weight_for_plain_sgd():
    model = net()
    x = torch.randn(9, 5, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(2))
    y = torch.arange(9) % 3
    nn.functional.cross_entropy(model(x), y).backward()
    before = diagnostics.weight_snapshot(model)
    assert list(before) == ["0", "2", "4"]
    expected = {n: 0.3 * model.get_submodule(n).weight.grad.norm().item()
                / model.get_submodule(n).weight.norm().item()
                for n in before}
    torch.optim.SGD(model.parameters(), lr=0.3).step()
    ratios = diagnostics.update_ratios(before, model)
    for n in before:
        assert ratios[n] == pytest.approx(expected[n], rel=1e-10)
    # no step: all ratios 0; the snapshot is a copy, not a view
    assert all(v == 0.0 for v in diagnostics.update_ratios(
        diagnostics.weight_snapshot(model), model).values())
    assert not torch.equal(before["0"], model[0].weight)


def test_update_ratios_measure_the_actual_step_of_adam():
    model = net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.ones(2, 5, dtype=torch.float64)).sum().backward()
    before = diagnostics.weight_snapshot(model)
    opt.step()
    # Adam's first step moves every weight with nonzero gradient by lr
    for n, r in diagnostics.update_ratios(before, model).items():
        w0, g = before[n], model.get_submodule(n).weight.grad
        step = 1e-3 * (g.abs() > 1e-6).double()
        assert r == pytest.approx(step.norm().item() / w0.norm().item(),
                                  rel=1e-5)


def test_update_ratios_zero_weights_and_errors():
    model = nn.Sequential(nn.Linear(2, 2))
    with torch.no_grad():
        model[0].weight.zero_()
    before = diagnostics.weight_snapshot(model)
    assert diagnostics.update_ratios(before, model) == {"0": 0.0}
    with torch.no_grad():
        model[0].weight.add_(1.0)
    assert diagnostics.update_ratios(before, model) == {"0": float("inf")}
    for wrong in ({}, {"1": before["0"]}, [before["0"]]):
        with pytest.raises(ValueError, match="weight_snapshot"):
            diagnostics.update_ratios(wrong, model)
