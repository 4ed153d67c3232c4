"""Weight initialisation schemes: constant, small Gaussian, LeCun, Xavier/Glorot
and Kaiming/He.

Each scheme is derived and measured in :doc:`/chapters/08_initialisation`. The
functions return NumPy float64 arrays of a given shape in PyTorch's layout: a
``Linear`` weight has shape (out_features, in_features) and a convolution weight
(out_channels, in_channels, k1, k2, ...), so an array can be copied straight
into a layer (:func:`init_linear_layers` does that). Randomness comes from an
explicit seed or ``numpy.random.Generator``, never from global state.

The variances they draw from, with fan_in = in_features * (kernel size) and
fan_out = out_features * (kernel size):

* LeCun:   Var(w) = 1 / fan_in
* Xavier:  Var(w) = 2 / (fan_in + fan_out)   (times gain squared)
* Kaiming: Var(w) = 2 / fan_in  ("fan_in" mode) or 2 / fan_out ("fan_out" mode)
  for ReLU; 2 / ((1 + a^2) fan) for a leaky ReLU with negative slope a.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from ._validate import check_float, check_int

Shape = Sequence[int]


def _shape(shape: Shape) -> tuple[int, ...]:
    """A weight shape as a tuple of positive ints with at least two entries
    (out, in, ...).
    """
    dims = tuple(check_int("shape entry", s, minimum=1) for s in shape)
    if len(dims) < 2:
        raise ValueError("fan-in and fan-out need a weight shape (out, in, "
                         f"...), got {dims}")
    return dims


def fans(shape: Shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of the given shape (PyTorch's convention).

    For shape (out, in, k1, k2, ...) the receptive field has r = k1 * k2 * ...
    entries and fan_in = in * r, fan_out = out * r. A ``Linear`` weight
    (out, in) has fan_in = in and fan_out = out: the number of inputs summed by
    one output unit, and the number of output units one input feeds.
    """
    dims = _shape(shape)
    receptive_field = math.prod(dims[2:])
    return dims[1] * receptive_field, dims[0] * receptive_field


def constant(shape: Shape, value: float = 0.0, *,
             rng: Any = None) -> np.ndarray:
    """Every weight equal to ``value``: a symmetric start no gradient can break.

    ``rng`` is ignored (nothing is random); it is accepted so that
    :func:`init_linear_layers` can call every scheme the same way.
    """
    return np.full(_shape(shape), float(value))


def normal(shape: Shape, std: float, *,
           rng: int | np.random.Generator = 0) -> np.ndarray:
    """Independent N(0, std^2) weights whatever the layer size (e.g. the
    classic std = 0.01).
    """
    return np.random.default_rng(rng).normal(0.0, std, size=_shape(shape))


def lecun_normal(shape: Shape, *,
                 rng: int | np.random.Generator = 0) -> np.ndarray:
    """N(0, 1 / fan_in): keeps the variance of a weighted sum equal to that of
    its inputs.
    """
    fan_in, _ = fans(shape)
    std = math.sqrt(1.0 / fan_in)
    return np.random.default_rng(rng).normal(0.0, std, size=_shape(shape))


def xavier_normal(shape: Shape, *, gain: float = 1.0,
                  rng: int | np.random.Generator = 0) -> np.ndarray:
    """N(0, gain^2 2 / (fan_in + fan_out)), like
    ``torch.nn.init.xavier_normal_``.
    """
    fan_in, fan_out = fans(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return np.random.default_rng(rng).normal(0.0, std, size=_shape(shape))


def xavier_uniform(shape: Shape, *, gain: float = 1.0,
                   rng: int | np.random.Generator = 0) -> np.ndarray:
    """U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out)), like
    ``torch.nn.init.xavier_uniform_``.

    U(-a, a) has variance a^2 / 3, so this has the same variance as
    :func:`xavier_normal`.
    """
    fan_in, fan_out = fans(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return np.random.default_rng(rng).uniform(-bound, bound, size=_shape(shape))


def kaiming_std(shape: Shape, *, mode: str = "fan_in",
                negative_slope: float = 0.0) -> float:
    """Standard deviation sqrt(2 / ((1 + a^2) fan)) of Kaiming/He
    initialisation.

    ``mode="fan_in"`` preserves the second moment of the activations in the
    forward pass, ``mode="fan_out"`` that of the gradients in the backward pass.
    ``negative_slope`` a is the slope of a leaky ReLU for negative inputs; a = 0
    is the ReLU, a = 1 the identity (which gives LeCun's 1 / fan_in).
    """
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    a = check_float("negative_slope", negative_slope, minimum=0.0, maximum=1.0)
    fan_in, fan_out = fans(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    return math.sqrt(2.0 / ((1.0 + a * a) * fan))


def kaiming_normal(shape: Shape, *, mode: str = "fan_in",
                   negative_slope: float = 0.0,
                   rng: int | np.random.Generator = 0) -> np.ndarray:
    """N(0, 2 / fan) for ReLU networks, like ``torch.nn.init.kaiming_normal_``.

    See :func:`kaiming_std` for ``mode`` and ``negative_slope``.
    """
    std = kaiming_std(shape, mode=mode, negative_slope=negative_slope)
    return np.random.default_rng(rng).normal(0.0, std, size=_shape(shape))


def init_linear_layers(model: Any, scheme: Callable[..., np.ndarray], *,
                       bias: float = 0.0,
                       rng: int | np.random.Generator = 0) -> Any:
    """Overwrite every ``torch.nn.Linear`` weight in ``model`` with ``scheme``.

    ``scheme(shape, rng=generator)`` must return an array of the weight's shape
    (out, in); use ``functools.partial`` to fix other arguments, e.g.
    ``partial(kaiming_normal, mode="fan_out")``. The layers are visited in the
    order of ``model.modules()`` and share one generator, so a seed gives the
    same network every time. Biases are set to ``bias``. Returns ``model``.
    """
    import torch
    from torch import nn

    bias = check_float("bias", bias)
    gen = np.random.default_rng(rng)
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise ValueError("model contains no torch.nn.Linear layer")
    with torch.no_grad():
        for layer in layers:
            w = np.asarray(scheme(tuple(layer.weight.shape), rng=gen))
            if w.shape != tuple(layer.weight.shape):
                raise ValueError(f"scheme returned shape {w.shape} for a "
                                 f"weight of shape {tuple(layer.weight.shape)}")
            layer.weight.copy_(torch.as_tensor(w, dtype=layer.weight.dtype))
            if layer.bias is not None:
                layer.bias.fill_(bias)
    return model
