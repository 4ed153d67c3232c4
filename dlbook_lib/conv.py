"""Convolution: shape arithmetic (:doc:`/chapters/16_convolution`) and the
from-scratch convolution and pooling layers
(:doc:`/chapters/17_convolution_backprop`).

Conventions are PyTorch's: arrays are (batch, channels, height, width) for 2-D
layers, and "convolution" means cross-correlation (the kernel is not flipped),
as in ``torch.nn.functional.conv2d``.
"""
from __future__ import annotations

from ._validate import check_int


def output_size(n: int, k: int, *, padding: int = 0, stride: int = 1,
                dilation: int = 1) -> int:
    """Length of the output of a convolution or pooling along one axis:
    floor((n + 2p - d(k - 1) - 1) / s) + 1, as in ``torch.nn.Conv1d``.

    ``n`` is the input length, ``k`` the kernel size, ``p`` the padding on
    each side, ``s`` the stride and ``d`` the dilation. Raises
    ``ValueError`` when the (dilated) kernel does not fit the padded input.
    """
    n = check_int("n", n, minimum=1)
    k = check_int("k", k, minimum=1)
    padding = check_int("padding", padding, minimum=0)
    stride = check_int("stride", stride, minimum=1)
    dilation = check_int("dilation", dilation, minimum=1)
    span = dilation * (k - 1) + 1
    if n + 2 * padding < span:
        raise ValueError(f"a kernel spanning {span} positions does not fit an "
                         f"input of length {n} with padding {padding}")
    return (n + 2 * padding - span) // stride + 1


def receptive_field(kernels: list[int],
                    strides: list[int] | None = None) -> int:
    """Receptive field of one output unit after a stack of layers with the
    given kernel sizes and strides: 1 + sum_l (k_l - 1) * prod_{j<l} s_j
    (1 + L(k - 1) for L stride-1 layers of size k)."""
    kernels = [check_int(f"kernels[{i}]", k, minimum=1)
               for i, k in enumerate(kernels)]
    strides = [1] * len(kernels) if strides is None else [
        check_int(f"strides[{i}]", s, minimum=1) for i, s in enumerate(strides)]
    if len(strides) != len(kernels):
        raise ValueError(f"need one stride per layer: {len(kernels)} kernels, "
                         f"{len(strides)} strides")
    field, jump = 1, 1
    for k, s in zip(kernels, strides):
        field += (k - 1) * jump
        jump *= s
    return field
