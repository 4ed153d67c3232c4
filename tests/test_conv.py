"""dlbook_lib.conv: shape arithmetic against torch, layers against autograd."""
import itertools

import pytest
import torch
import torch.nn.functional as F

from dlbook_lib import conv


def test_output_size_matches_torch_over_a_grid():
    for n, k, p, s, d in itertools.product(range(1, 12), (1, 2, 3, 5), (0, 1, 2),
                                           (1, 2, 3), (1, 2)):
        span = d * (k - 1) + 1
        if n + 2 * p < span:
            with pytest.raises(ValueError, match="does not fit"):
                conv.output_size(n, k, padding=p, stride=s, dilation=d)
            continue
        out = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), padding=p,
                       stride=s, dilation=d)
        assert conv.output_size(n, k, padding=p, stride=s, dilation=d) == out.shape[-1]


def test_receptive_field_by_backpropagating_a_one_hot_gradient():
    for kernels, strides in [([3, 3, 3], [1, 1, 1]), ([5, 3], [2, 1]), ([3, 3, 3], [2, 2, 1])]:
        x = torch.zeros(1, 1, 64, requires_grad=True)
        h = x
        for k, s in zip(kernels, strides):
            h = F.conv1d(h, torch.ones(1, 1, k), stride=s)
        g = torch.zeros_like(h)
        g[..., h.shape[-1] // 2] = 1.0
        h.backward(g)
        assert int((x.grad != 0).sum()) == conv.receptive_field(kernels, strides)


def test_shape_functions_reject_bad_input():
    with pytest.raises(ValueError, match="stride"):
        conv.output_size(5, 3, stride=0)
    with pytest.raises(ValueError, match="one stride per layer"):
        conv.receptive_field([3, 3], [1])
