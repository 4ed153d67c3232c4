"""dlbook_lib.norm against PyTorch: layer, instance and group norm as one computation over
different axes, and edge cases (chapter 09). Batch norm: tests/test_layers.py."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlbook_lib import norm

RTOL, ATOL = 1e-10, 1e-12


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_normalize_axes_match_torch(rng):
    x = rng.normal(1.0, 2.0, size=(3, 4, 5, 2))
    xt = torch.tensor(x)
    np.testing.assert_allclose(norm.normalize(x, (0, 2, 3)),
                               F.batch_norm(xt, None, None, training=True).numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(norm.normalize(x, (1, 2, 3)), F.layer_norm(xt, x.shape[1:]).numpy(),
                               rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(norm.normalize(x, (-2, -1)), F.instance_norm(xt).numpy(), rtol=RTOL, atol=ATOL)
    x2 = rng.normal(size=(6, 9))
    np.testing.assert_allclose(norm.normalize(x2, 1), nn.LayerNorm(9, dtype=torch.float64)(
        torch.tensor(x2)).detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("groups", [1, 2, 4, 8])
def test_group_norm_matches_torch(rng, groups):
    x = rng.normal(size=(2, 8, 3, 3))
    ref = nn.GroupNorm(groups, 8, dtype=torch.float64)
    np.testing.assert_allclose(norm.group_norm(x, groups), ref(torch.tensor(x)).detach().numpy(),
                               rtol=RTOL, atol=ATOL)
    x1 = rng.normal(size=(1, 8, 5))  # 1-D signals and a batch of one work too
    np.testing.assert_allclose(norm.group_norm(x1, groups),
                               F.group_norm(torch.tensor(x1), groups).numpy(), rtol=RTOL, atol=ATOL)


def test_group_norm_refuses_groups_that_do_not_divide_the_channels():
    with pytest.raises(ValueError):
        norm.group_norm(np.zeros((2, 6, 3)), 4)
