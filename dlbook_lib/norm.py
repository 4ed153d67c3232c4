"""Normalisation as one computation over different axes.

:func:`normalize` subtracts the mean and divides by the standard deviation
over the axes you choose: batch norm, layer norm and instance norm are the
same function with different axes; :func:`group_norm` reshapes the channels
into groups and calls it. The batch-norm *layer* (learnable scale and shift,
running statistics, backward pass) is :class:`dlbook_lib.layers.BatchNorm`.
Derived and tested in :doc:`/chapters/09_normalisation`.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._validate import as_float_array, check_float, check_int


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
