"""Convolution: shape arithmetic (:doc:`/chapters/16_convolution`) and the
from-scratch convolution and pooling layers
(:doc:`/chapters/17_convolution_backprop`).

Conventions are PyTorch's: arrays are (batch, channels, height, width) for 2-D
layers, and "convolution" means cross-correlation (the kernel is not flipped),
as in ``torch.nn.functional.conv2d``.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ._validate import check_int
from .layers import Layer, weight_and_bias


def output_size(n: int, k: int, *, padding: int = 0, stride: int = 1,
                dilation: int = 1) -> int:
    """Length of the output of a convolution or pooling along one axis:
    floor((n + 2p - d(k - 1) - 1) / s) + 1, as in ``torch.nn.Conv1d``.

    ``n`` is the input length, ``k`` the kernel size, ``p`` the padding on
    each side, ``s`` the stride and ``d`` the dilation. Raises
    ``ValueError`` when the (dilated) kernel does not fit the padded input.
    """
    if min(n, k, stride, dilation) < 1 or padding < 0:
        raise ValueError("n, k, stride, dilation must be >= 1, padding >= 0, "
                         f"got {n, k, stride, dilation, padding}")
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
    strides = [1] * len(kernels) if strides is None else strides
    if len(strides) != len(kernels):
        raise ValueError(f"need one stride per layer: {len(kernels)} kernels, "
                         f"{len(strides)} strides")
    field, jump = 1, 1
    for k, s in zip(kernels, strides):
        field += (k - 1) * jump
        jump *= s
    return field


def conv_params(in_channels: int, out_channels: int,
                kernel_size: int | tuple[int, ...], *, bias: bool = True,
                groups: int = 1) -> int:
    """Number of parameters of a convolution layer, counted as
    ``torch.nn.Conv1d``, ``Conv2d`` and ``Conv3d`` hold them:
    C_out * (C_in / groups) * prod(kernel_size) weights plus C_out biases.

    Each of the C_out filters spans the whole kernel window in every input
    channel of its group (:doc:`/chapters/16_convolution`). ``kernel_size``
    is an int (one axis) or a tuple with one size per axis.
    """
    sizes = (kernel_size if isinstance(kernel_size, (tuple, list))
             else [kernel_size])
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide in_channels="
                         f"{in_channels} and out_channels={out_channels}")
    weights = out_channels * (in_channels // groups) * math.prod(sizes)
    return weights + (out_channels if bias else 0)


def layer_shapes(model, input_shape: tuple[int, ...]
                 ) -> list[tuple[str, tuple[int, ...], int]]:
    """Walk one input of ``input_shape`` (without the batch axis) through a
    ``torch.nn.Sequential`` and return, for every layer, its class name, the
    shape of its output (without the batch axis) and its number of
    parameters: the measured side of a shape walk-through
    (:doc:`/chapters/16_convolution`).
    """
    import torch

    dtype = next((q.dtype for q in model.parameters()), torch.float32)
    h, rows = torch.zeros((1, *input_shape), dtype=dtype), []
    with torch.no_grad():
        for layer in model:
            h = layer(h)
            rows.append((type(layer).__name__, tuple(h.shape[1:]),
                         sum(q.numel() for q in layer.parameters())))
    return rows


# --- From-scratch convolution and pooling layers (chapter 17) ---------------

def _pad(x: np.ndarray, p: int, value: float = 0.0) -> np.ndarray:
    """x (B, C, H, W) with p rows and columns of ``value`` on every side."""
    if p == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=value)


def im2col(x: np.ndarray, kernel_size: int, *, stride: int = 1,
           padding: int = 0, pad_value: float = 0.0) -> np.ndarray:
    """Unfold the k x k patches of ``x`` (B, C, H, W) into the columns of an
    array of shape (B, C k k, OH OW), as ``torch.nn.functional.unfold``.

    Column i OW + j is the patch that output position (i, j) reads; its row
    c k k + a k + b holds X~[c, s i + a, s j + b] of the input X~ padded with
    ``pad_value`` (0 for a convolution, -inf for max pooling). A loop over
    the k^2 kernel offsets copies one strided slice each
    (:doc:`/chapters/17_convolution_backprop`).
    """
    k, s, p = kernel_size, stride, padding
    oh = output_size(x.shape[2], k, padding=p, stride=s)
    ow = output_size(x.shape[3], k, padding=p, stride=s)
    xp = _pad(x, p, pad_value)
    cols = np.empty(x.shape[:2] + (k, k, oh, ow), dtype=x.dtype)
    for a in range(k):
        for b in range(k):
            cols[:, :, a, b] = xp[:, :, a:a + s * oh:s, b:b + s * ow:s]
    return cols.reshape(x.shape[0], -1, oh * ow)


def col2im(cols: np.ndarray, input_shape: tuple[int, int, int, int],
           kernel_size: int, *, stride: int = 1,
           padding: int = 0) -> np.ndarray:
    """The adjoint (transpose) of :func:`im2col`, as
    ``torch.nn.functional.fold``: every entry of ``cols`` is added back onto
    the input position it was copied from, so a position read by several
    patches receives the sum; entries that came from the padding are
    dropped. Returns an array of ``input_shape`` (B, C, H, W).
    """
    B, C, H, W = input_shape
    k, s, p = kernel_size, stride, padding
    oh = output_size(H, k, padding=p, stride=s)
    ow = output_size(W, k, padding=p, stride=s)
    cols = cols.reshape(B, C, k, k, oh, ow)
    xp = np.zeros((B, C, H + 2 * p, W + 2 * p), dtype=cols.dtype)
    for a in range(k):
        for b in range(k):
            xp[:, :, a:a + s * oh:s, b:b + s * ow:s] += cols[:, :, a, b]
    return xp[:, :, p:p + H, p:p + W]


class Conv2d(Layer):
    """2-D convolution (cross-correlation) as ``torch.nn.Conv2d``: input x
    (B, C_in, H, W), parameters ``weight`` K (C_out, C_in, k, k) and
    ``bias`` b (C_out,), output

        Y[n, o, i, j] = b[o]
                        + sum_{c,u,v} K[o, c, u, v] X~[n, c, s i + u, s j + v]

    with X~ the input zero-padded by ``padding`` p on every side and s the
    ``stride``. ``method="naive"`` loops over the output positions,
    ``method="im2col"`` unfolds the patches (:func:`im2col`) and does one
    matrix product; both give the same numbers up to round-off. ``init``
    is a scheme of :mod:`dlbook_lib.init` for the weight, with the bias
    starting at ``bias``; ``init=None`` follows PyTorch's default (both
    uniform in +-1/sqrt(C_in k k)). ``rng`` is a seed or a NumPy Generator.
    The backward pass is derived in :doc:`/chapters/17_convolution_backprop`.
    """

    METHODS = ("im2col", "naive")

    def __init__(self, c_in: int, c_out: int, kernel_size: int, *,
                 stride: int = 1, padding: int = 0, method: str = "im2col",
                 init: Callable[..., np.ndarray] | None = None,
                 bias: float = 0.0, rng: int | np.random.Generator = 0):
        super().__init__()
        c_in = check_int("c_in", c_in, minimum=1)
        c_out = check_int("c_out", c_out, minimum=1)
        self.kernel_size = check_int("kernel_size", kernel_size, minimum=1)
        self.stride = check_int("stride", stride, minimum=1)
        self.padding = check_int("padding", padding, minimum=0)
        if method not in self.METHODS:
            raise ValueError(f"method must be one of {self.METHODS}, "
                             f"got {method!r}")
        self.method = method
        shape = (c_out, c_in, self.kernel_size, self.kernel_size)
        self.params["weight"], self.params["bias"] = weight_and_bias(
            shape, init, bias, np.random.default_rng(rng))

    def output_hw(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """(OH, OW) for an input of the given shape (B, C, H, W)."""
        k, p, s = self.kernel_size, self.padding, self.stride
        return (output_size(shape[2], k, padding=p, stride=s),
                output_size(shape[3], k, padding=p, stride=s))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        if self.method == "naive":
            return self.forward_naive(x)
        return self.forward_im2col(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self.method == "naive":
            return self.backward_naive(dy)
        return self.backward_im2col(dy)

    def forward_naive(self, x: np.ndarray) -> np.ndarray:
        """One output position at a time: the patch it reads, contracted
        with the kernel over (channel, row, column)."""
        K, k, s = self.params["weight"], self.kernel_size, self.stride
        xp = _pad(x, self.padding)
        oh, ow = self.output_hw(x.shape)
        y = np.empty((len(x), len(K), oh, ow), dtype=np.result_type(x, K))
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, :, s * i:s * i + k, s * j:s * j + k]
                y[:, :, i, j] = np.tensordot(patch, K, axes=([1, 2, 3],
                                                             [1, 2, 3]))
        return y + self.params["bias"][:, None, None]

    def backward_naive(self, dy: np.ndarray) -> np.ndarray:
        """Each output position sends its gradient back along the
        connections it used: to the kernel, weighted by its patch, and to
        its patch, weighted by the kernel."""
        K, k, s, p = (self.params["weight"], self.kernel_size, self.stride,
                      self.padding)
        xp = _pad(self._x, p)
        dxp, dK = np.zeros_like(xp), np.zeros_like(K)
        for i in range(dy.shape[2]):
            for j in range(dy.shape[3]):
                window = np.s_[:, :, s * i:s * i + k, s * j:s * j + k]
                dK += np.tensordot(dy[:, :, i, j], xp[window], axes=(0, 0))
                dxp[window] += np.tensordot(dy[:, :, i, j], K, axes=(1, 0))
        self.grads["weight"] = dK
        self.grads["bias"] = dy.sum(axis=(0, 2, 3))
        return dxp[:, :, p:p + self._x.shape[2], p:p + self._x.shape[3]]

    def forward_im2col(self, x: np.ndarray) -> np.ndarray:
        """Y = K_mat X_col + b for every example: one matrix product of the
        (C_out, C_in k k) kernel matrix with the unfolded patches."""
        K = self.params["weight"]
        self._cols = im2col(x, self.kernel_size, stride=self.stride,
                            padding=self.padding)  # (B, C_in k k, OH OW)
        y = K.reshape(len(K), -1) @ self._cols + self.params["bias"][:, None]
        return y.reshape(len(x), len(K), *self.output_hw(x.shape))

    def backward_im2col(self, dy: np.ndarray) -> np.ndarray:
        """The linear layer's backward pass on the columns, then col2im
        (the adjoint of im2col) to fold the column gradients back."""
        K = self.params["weight"]
        g = dy.reshape(len(dy), len(K), -1)  # (B, C_out, OH OW)
        dK = (g @ self._cols.transpose(0, 2, 1)).sum(axis=0)
        self.grads["weight"] = dK.reshape(K.shape)
        self.grads["bias"] = dy.sum(axis=(0, 2, 3))
        dcols = K.reshape(len(K), -1).T @ g  # (B, C_in k k, OH OW)
        return col2im(dcols, self._x.shape, self.kernel_size,
                      stride=self.stride, padding=self.padding)

    def torch_twin(self):
        """An empty ``torch.nn.Conv2d`` (float64) of the same configuration,
        for :func:`dlbook_lib.layers.to_torch`, which copies the weights."""
        import torch
        from torch import nn

        c_out, c_in = self.params["weight"].shape[:2]
        return nn.utils.skip_init(nn.Conv2d, c_in, c_out, self.kernel_size,
                                  stride=self.stride, padding=self.padding,
                                  dtype=torch.float64)

    def __repr__(self) -> str:
        c_out, c_in = self.params["weight"].shape[:2]
        extra = "".join(f", {name}={getattr(self, name)}"
                        for name, default in (("stride", 1), ("padding", 0))
                        if getattr(self, name) != default)
        return f"Conv2d({c_in}, {c_out}, {self.kernel_size}{extra})"


class MaxPool2d(Layer):
    """Max pooling over k x k windows with stride s (default k), as
    ``torch.nn.MaxPool2d`` without padding, on x (B, C, H, W).

    The backward pass sends each output's gradient to the position of its
    window's maximum, the only input that output depends on locally; the
    others get nothing. On ties it picks the first maximum in row-major
    order within the window, as PyTorch does; where windows overlap
    (s < k) a position that wins several windows receives the sum
    (:doc:`/chapters/17_convolution_backprop`).
    """

    def __init__(self, kernel_size: int, stride: int | None = None):
        super().__init__()
        self.kernel_size = check_int("kernel_size", kernel_size, minimum=1)
        self.stride = (self.kernel_size if stride is None
                       else check_int("stride", stride, minimum=1))

    def forward(self, x: np.ndarray) -> np.ndarray:
        B, C, H, W = self._shape = x.shape
        cols = im2col(x.reshape(B * C, 1, H, W), self.kernel_size,
                      stride=self.stride)  # (B C, k k, OH OW)
        self._argmax = cols.argmax(axis=1)[:, None]  # first maximum wins
        y = np.take_along_axis(cols, self._argmax, axis=1)
        return y.reshape(B, C, output_size(H, self.kernel_size,
                                           stride=self.stride), -1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        B, C, H, W = self._shape
        dcols = np.zeros((B * C, self.kernel_size ** 2,
                          self._argmax.shape[2]), dtype=dy.dtype)
        np.put_along_axis(dcols, self._argmax, dy.reshape(B * C, 1, -1),
                          axis=1)
        return col2im(dcols, (B * C, 1, H, W), self.kernel_size,
                      stride=self.stride).reshape(self._shape)

    def torch_twin(self):
        """The ``torch.nn.MaxPool2d`` of the same configuration."""
        from torch import nn

        return nn.MaxPool2d(self.kernel_size, stride=self.stride)

    def __repr__(self) -> str:
        extra = (f", stride={self.stride}" if self.stride != self.kernel_size
                 else "")
        return f"MaxPool2d({self.kernel_size}{extra})"
