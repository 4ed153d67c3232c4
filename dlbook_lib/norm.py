"""Normalisation layers from scratch: batch norm with its backward pass,
and one function for all.

:class:`BatchNorm` is batch normalisation for inputs of shape (N, D) (one mean
and variance per feature) and (N, C, H, W) (one per channel, taken over N, H and
W), with learnable scale gamma and shift beta, running statistics for evaluation
mode and the closed-form backward pass. It follows PyTorch's conventions, so it
matches ``torch.nn.BatchNorm1d`` and ``BatchNorm2d``. :func:`normalize` is the
computation every normaliser shares, over the axes you choose;
:func:`group_norm` reshapes the channels into groups and calls it. Derived and
tested in :doc:`/chapters/09_normalisation`.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._validate import as_float_array, check_float, check_int


def _stat_axes(ndim: int) -> tuple[int, ...]:
    """Axes batch norm averages over: the batch for (N, D), batch and space
    for (N, C, H, W).
    """
    return (0,) if ndim == 2 else (0, 2, 3)


def _channel_shape(ndim: int, channels: int) -> tuple[int, ...]:
    """Shape that broadcasts a per-channel vector against an input with
    ``ndim`` dimensions.
    """
    return (1, channels) if ndim == 2 else (1, channels, 1, 1)


class BatchNorm:
    """Batch normalisation over the feature (or channel) axis 1, as in PyTorch.

    Training mode normalises with the mean and the biased variance of the
    current batch, y = gamma * (x - mean) / sqrt(var + eps) + beta, and updates
    the running statistics as
    running = (1 - momentum) * running + momentum * batch_statistic, using the
    *unbiased* batch variance for running_var. Evaluation mode normalises with
    the running statistics. :meth:`backward` returns dL/dx for an upstream
    gradient dL/dy and stores dL/dgamma and dL/dbeta in ``dgamma`` and
    ``dbeta``. Everything is float64 NumPy; PyTorch's ``momentum=None`` (a
    cumulative average) is not supported. See :doc:`/chapters/09_normalisation`.
    """

    def __init__(self, num_features: int, *, eps: float = 1e-5,
                 momentum: float = 0.1):
        self.num_features = check_int("num_features", num_features, minimum=1)
        self.eps = check_float("eps", eps, minimum=0.0, strict_min=True)
        self.momentum = check_float("momentum", momentum, minimum=0.0,
                                    maximum=1.0)
        self.gamma = np.ones(num_features)
        self.beta = np.zeros(num_features)
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.training = True
        self.dgamma = np.zeros(num_features)
        self.dbeta = np.zeros(num_features)
        self._cache: tuple | None = None

    def train(self, mode: bool = True) -> "BatchNorm":
        """Switch to training mode (batch statistics), or to evaluation mode
        with ``mode=False``.
        """
        if not isinstance(mode, bool):
            raise TypeError(f"mode must be True or False, got {mode!r}")
        self.training = mode
        return self

    def eval(self) -> "BatchNorm":
        """Switch to evaluation mode: normalise with the running statistics."""
        return self.train(False)

    def _check_input(self, x: Any) -> np.ndarray:
        x = as_float_array("x", x, ndim=(2, 4))
        if x.shape[1] != self.num_features:
            raise ValueError(f"x has {x.shape[1]} channels on axis 1 but this "
                             f"BatchNorm was built for num_features="
                             f"{self.num_features} (shape {x.shape})")
        return x

    def forward(self, x: Any) -> np.ndarray:
        """Normalise ``x`` (N, D) or (N, C, H, W) per feature or channel."""
        x = self._check_input(x)
        axes, shape = (_stat_axes(x.ndim),
                       _channel_shape(x.ndim, self.num_features))
        if self.training:
            m = x.size // self.num_features  # values per channel in this batch
            if m < 2:
                raise ValueError("expected more than 1 value per channel when "
                                 f"training, got input of shape {x.shape}: "
                                 "the batch variance is undefined "
                                 "(use eval() or a larger batch)")
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)           # biased: divides by m
            mom = self.momentum
            self.running_mean = (1 - mom) * self.running_mean + mom * mean
            self.running_var = ((1 - mom) * self.running_var
                                + mom * var * m / (m - 1))
        else:
            mean, var = self.running_mean, self.running_var
        sigma = np.sqrt(var + self.eps)
        x_hat = (x - mean.reshape(shape)) / sigma.reshape(shape)
        self._cache = (x_hat, sigma, self.training, x.shape)
        return self.gamma.reshape(shape) * x_hat + self.beta.reshape(shape)

    def backward(self, dy: Any) -> np.ndarray:
        """Return dL/dx for the last :meth:`forward`; store dL/dgamma, dL/dbeta.

        Training mode:
        dx = (gamma / sigma) * (dy - mean(dy) - x_hat * mean(dy * x_hat)),
        means over the statistics axes. Evaluation mode:
        dx = (gamma / sigma) * dy, since the statistics are then constants.
        """
        if self._cache is None:
            raise RuntimeError("call forward before backward")
        x_hat, sigma, training, in_shape = self._cache
        dy = as_float_array("dy", dy)
        if dy.shape != in_shape:
            raise ValueError(f"dy must have the shape of the last input "
                             f"{in_shape}, got {dy.shape}")
        axes, shape = (_stat_axes(dy.ndim),
                       _channel_shape(dy.ndim, self.num_features))
        self.dbeta = dy.sum(axis=axes)
        self.dgamma = (dy * x_hat).sum(axis=axes)
        scale = (self.gamma / sigma).reshape(shape)
        if not training:
            return scale * dy
        mean_dy = dy.mean(axis=axes, keepdims=True)
        mean_dy_xhat = (dy * x_hat).mean(axis=axes, keepdims=True)
        return scale * (dy - mean_dy - x_hat * mean_dy_xhat)

    def __repr__(self) -> str:
        return (f"BatchNorm({self.num_features}, eps={self.eps:g}, "
                f"momentum={self.momentum:g}, training={self.training})")


def normalize(x: Any, axes: Sequence[int], *, eps: float = 1e-5) -> np.ndarray:
    """Subtract the mean and divide by sqrt(biased variance + eps), both taken
    over ``axes``.

    The one computation behind batch, layer, instance and group norm: for x of
    shape (N, C, H, W), batch norm uses axes (0, 2, 3), layer norm (1, 2, 3) and
    instance norm (2, 3); group norm is :func:`group_norm`. Returns float64 of
    the shape of ``x``, without the learnable scale and shift. See
    :doc:`/chapters/09_normalisation`.
    """
    x = as_float_array("x", x)
    eps = check_float("eps", eps, minimum=0.0, strict_min=True)
    if isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
    axes = tuple(check_int("axes entry", a) for a in axes)
    if not axes:
        raise ValueError("axes must name at least one axis to normalise over")
    norm_axes = tuple(a % x.ndim if -x.ndim <= a < x.ndim else None
                      for a in axes)
    if None in norm_axes:
        raise ValueError(f"axes {axes} out of range for an input "
                         f"of shape {x.shape}")
    if len(set(norm_axes)) != len(norm_axes):
        raise ValueError(f"axes must not repeat an axis, got {axes}")
    mean = x.mean(axis=norm_axes, keepdims=True)
    var = x.var(axis=norm_axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def group_norm(x: Any, num_groups: int, *, eps: float = 1e-5) -> np.ndarray:
    """Group norm without scale and shift: split the C channels into
    ``num_groups`` groups and normalise each example's group over its channels
    and positions.

    For x of shape (N, C, ...) this is :func:`normalize` of x reshaped to
    (N, G, C // G, ...) over every axis after the group axis. ``num_groups=1``
    is layer norm and ``num_groups=C`` is instance norm. See
    :doc:`/chapters/09_normalisation`.
    """
    x = as_float_array("x", x)
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, C, ...), got shape {x.shape}")
    num_groups = check_int("num_groups", num_groups, minimum=1)
    channels = x.shape[1]
    if channels % num_groups:
        raise ValueError(f"num_groups={num_groups} must divide the number of "
                         f"channels {channels}")
    grouped = x.reshape(x.shape[0], num_groups, channels // num_groups,
                        *x.shape[2:])
    axes = tuple(range(2, grouped.ndim))
    return normalize(grouped, axes, eps=eps).reshape(x.shape)
