"""Normalisation as one computation over different axes.

:func:`normalize` subtracts the mean and divides by the standard deviation
over the axes you choose: batch norm, layer norm and instance norm are the
same function with different axes; :func:`group_norm` reshapes the channels
into groups and calls it. The batch-norm *layer* (learnable scale and shift,
running statistics, backward pass) is :class:`dlbook_lib.layers.BatchNorm`.
Derived and tested in :doc:`/chapters/09_normalisation`.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def normalize(x: Any, axes: int | tuple[int, ...], *,
              eps: float = 1e-5) -> np.ndarray:
    """Subtract the mean and divide by sqrt(biased variance + eps), both taken
    over ``axes``.

    The one computation behind batch, layer, instance and group norm: for x of
    shape (N, C, H, W), batch norm uses axes (0, 2, 3), layer norm (1, 2, 3) and
    instance norm (2, 3); group norm is :func:`group_norm`. Returns float64 of
    the shape of ``x``, without the learnable scale and shift. See
    :doc:`/chapters/09_normalisation`.
    """
    x = np.asarray(x, dtype=float)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def group_norm(x: np.ndarray, num_groups: int, *,
               eps: float = 1e-5) -> np.ndarray:
    """Group norm without scale and shift: split the C channels into
    ``num_groups`` groups and normalise each example's group over its channels
    and positions.

    For x of shape (N, C, ...) this is :func:`normalize` of x reshaped to
    (N, G, C // G, ...) over every axis after the group axis. ``num_groups=1``
    is layer norm and ``num_groups=C`` is instance norm. See
    :doc:`/chapters/09_normalisation`.
    """
    grouped = x.reshape(len(x), num_groups, -1, *x.shape[2:])
    axes = tuple(range(2, grouped.ndim))
    return normalize(grouped, axes, eps=eps).reshape(x.shape)
