"""Activation functions and their derivatives, written from scratch in NumPy.

Chapter :doc:`/chapters/06_activation_functions` derives every derivative here
and checks it against PyTorch's autograd. Each activation has a forward function
``f(x)`` and a derivative ``f_grad(x)`` (the derivative of f with respect to its
input, element-wise), both returning float64 arrays and both safe for extreme
inputs such as -1000 and 1000: no overflow warnings and no NaN.

At a kink (x = 0 for the ReLU family) a derivative does not exist; the functions
return the value PyTorch's backward pass uses, so that hand-written and
automatic gradients agree exactly: relu_grad(0) = 0, leaky_relu_grad(0) = slope,
prelu_grad(0) = a, elu_grad(0) = alpha and selu_grad(0) = lambda * alpha (the
left-hand derivative).

:func:`get` looks an activation up by name in the registry ``ACTIVATIONS``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

#: The SELU constants of Klambauer et al. (2017), as used by ``torch.nn.SELU``.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_LAMBDA = 1.0507009873554804934193349852946

#: sqrt(2 / pi), used by the tanh approximation of GELU.
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_C = 0.044715


# --- the sigmoid family ------------------------------------------------------

def sigmoid(x) -> np.ndarray:
    """The logistic sigmoid 1 / (1 + exp(-x)), range (0, 1).

    Computed from exp(-abs(x)), which never overflows.
    """
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(x) -> np.ndarray:
    """Derivative of the sigmoid: sigmoid(x) * (1 - sigmoid(x)), at most 1/4
    (at x = 0).

    Evaluated as e / (1 + e)^2 with e = exp(-abs(x)), the same quantity without
    the cancellation in 1 - sigmoid(x) for large x, so it keeps full relative
    accuracy in the tails.
    """
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return e / (1.0 + e) ** 2


def tanh(x) -> np.ndarray:
    """The hyperbolic tangent, range (-1, 1); equal to 2 sigmoid(2x) - 1."""
    x = np.asarray(x, dtype=float)
    return np.tanh(x)


def tanh_grad(x) -> np.ndarray:
    """Derivative of tanh: 1 - tanh(x)^2, in (0, 1] with its maximum 1 at x = 0.

    Evaluated as 4 e / (1 + e)^2 with e = exp(-2 abs(x)) (that is,
    4 sigmoid_grad(2x)), which equals 1 - tanh(x)^2 but avoids its cancellation
    when tanh(x) is close to 1 or -1.
    """
    x = np.asarray(x, dtype=float)
    e = np.exp(-2.0 * np.abs(x))
    return 4.0 * e / (1.0 + e) ** 2


# --- the ReLU family ---------------------------------------------------------

def relu(x) -> np.ndarray:
    """The rectified linear unit max(0, x), range [0, inf)."""
    x = np.asarray(x, dtype=float)
    return np.maximum(x, 0.0)


def relu_grad(x) -> np.ndarray:
    """Derivative of ReLU: 1 for x > 0 and 0 for x <= 0
    (PyTorch's choice at the kink).
    """
    x = np.asarray(x, dtype=float)
    return (x > 0).astype(np.float64)


def leaky_relu(x, slope: float = 0.01) -> np.ndarray:
    """Leaky ReLU: x for x > 0 and slope * x otherwise (default slope 0.01)."""
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, slope * x)


def leaky_relu_grad(x, slope: float = 0.01) -> np.ndarray:
    """Derivative of leaky ReLU: 1 for x > 0, slope for x <= 0
    (PyTorch's choice at 0).
    """
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, 1.0, slope)


def prelu(x, a: float = 0.25) -> np.ndarray:
    """Parametric ReLU: x for x > 0 and a * x otherwise, with a learned slope a.

    This is leaky ReLU with a trainable slope. It equals max(x, a x) only when
    a <= 1.
    """
    return leaky_relu(x, slope=a)


def prelu_grad(x, a: float = 0.25) -> np.ndarray:
    """Derivative of PReLU with respect to its input x:
    1 for x > 0, a for x <= 0.
    """
    return leaky_relu_grad(x, slope=a)


def prelu_grad_a(x, a: float = 0.25) -> np.ndarray:
    """Derivative of PReLU with respect to its slope a, element-wise:
    x for x < 0, else 0.

    The gradient of a loss with respect to a shared slope is the sum over all
    elements of (upstream gradient) * prelu_grad_a(x, a).
    """
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, 0.0, x)


def elu(x, alpha: float = 1.0) -> np.ndarray:
    """Exponential linear unit: x for x > 0 and alpha (exp(x) - 1) otherwise;
    range (-alpha, inf).

    Uses expm1 of min(x, 0), so large positive inputs never reach exp.
    """
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_grad(x, alpha: float = 1.0) -> np.ndarray:
    """Derivative of ELU: 1 for x > 0 and alpha exp(x) for x <= 0
    (so alpha at x = 0).
    """
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def selu(x) -> np.ndarray:
    """Scaled ELU: SELU_LAMBDA * elu(x, SELU_ALPHA); range (-lambda alpha, inf),
    about (-1.758, inf).
    """
    return SELU_LAMBDA * elu(x, alpha=SELU_ALPHA)


def selu_grad(x) -> np.ndarray:
    """Derivative of SELU: lambda if x > 0 and lambda alpha exp(x) if x <= 0."""
    return SELU_LAMBDA * elu_grad(x, alpha=SELU_ALPHA)


# --- smooth ReLU-like functions ----------------------------------------------

_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def normal_cdf(x) -> np.ndarray:
    """The standard normal CDF Phi(x) = erfc(-x / sqrt(2)) / 2, accurate in
    both tails.
    """
    x = np.asarray(x, dtype=float)
    return 0.5 * _erfc(-x / math.sqrt(2.0))


def normal_pdf(x) -> np.ndarray:
    """The standard normal density phi(x) = exp(-x^2 / 2) / sqrt(2 pi)."""
    # phi(50) is 0 in float64; clipping avoids overflow in x*x
    x = np.clip(np.asarray(x, dtype=float), -50.0, 50.0)
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def gelu(x) -> np.ndarray:
    """Gaussian error linear unit, exact form x Phi(x) with Phi the standard
    normal CDF.
    """
    x = np.asarray(x, dtype=float)
    return x * normal_cdf(x)


def gelu_grad(x) -> np.ndarray:
    """Derivative of the exact GELU: Phi(x) + x phi(x)."""
    x = np.asarray(x, dtype=float)
    return normal_cdf(x) + x * normal_pdf(x)


def _gelu_tanh_inner(x: np.ndarray) -> np.ndarray:
    # tanh of the inner polynomial is +-1 to float64 precision long before
    # abs(x) = 100; clipping there keeps x^3 from overflowing for huge inputs
    # and changes nothing else.
    c = np.clip(x, -100.0, 100.0)
    return np.tanh(_SQRT_2_OVER_PI * (c + _GELU_TANH_C * c ** 3))


def gelu_tanh(x) -> np.ndarray:
    """The tanh approximation of GELU:
    x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2.
    """
    x = np.asarray(x, dtype=float)
    return 0.5 * x * (1.0 + _gelu_tanh_inner(x))


def gelu_tanh_grad(x) -> np.ndarray:
    """Derivative of the tanh approximation of GELU (product and chain rule)."""
    x = np.asarray(x, dtype=float)
    t = _gelu_tanh_inner(x)
    c = np.clip(x, -100.0, 100.0)  # where 1 - t^2 is 0 anyway
    dinner = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_TANH_C * c * c)
    return 0.5 * (1.0 + t) + 0.5 * c * (1.0 - t * t) * dinner


def silu(x) -> np.ndarray:
    """Sigmoid linear unit (swish with beta = 1): x sigmoid(x)."""
    x = np.asarray(x, dtype=float)
    return x * sigmoid(x)


def silu_grad(x) -> np.ndarray:
    """Derivative of SiLU: sigmoid(x) (1 + x (1 - sigmoid(x)))."""
    x = np.asarray(x, dtype=float)
    s = sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


# --- maxout ------------------------------------------------------------------

def maxout(z) -> np.ndarray:
    """Maxout over the last axis: z has shape (..., k) with k >= 2 linear
    pieces per unit.

    In a maxout layer the pieces are k affine maps of the same input,
    z_j = w_j . x + b_j, and the unit outputs their maximum.
    """
    z = np.asarray(z, dtype=float)
    return z.max(axis=-1)


def maxout_grad(z) -> np.ndarray:
    """Derivative of maxout with respect to each piece: 1 for the winning
    piece, 0 otherwise.

    Ties go to the first maximal piece, as in ``torch.max(z, dim=-1)``.
    (``torch.amax`` and ``torch.maximum`` instead split the gradient evenly
    between tied pieces.)
    """
    z = np.asarray(z, dtype=float)
    winner = z.argmax(axis=-1)
    return (np.arange(z.shape[-1]) == winner[..., None]).astype(np.float64)


def hard_sigmoid(x, *, x0: float = 0.0, x1: float = 1.0,
                 c: float = 1.0) -> np.ndarray:
    """The hard sigmoid: 0 for x <= x0, c for x >= x1, a straight ramp between.

    Written as c * clip((x - x0) / (x1 - x0), 0, 1); requires x0 < x1.
    """
    x = np.asarray(x, dtype=float)
    return c * np.clip((x - x0) / (x1 - x0), 0.0, 1.0)


def hard_sigmoid_grad(x, *, x0: float = 0.0, x1: float = 1.0,
                      c: float = 1.0) -> np.ndarray:
    """Derivative of :func:`hard_sigmoid`: c / (x1 - x0) on the closed ramp
    [x0, x1], 0 elsewhere (at the kinks, PyTorch's choice for ``clamp``)."""
    x = np.asarray(x, dtype=float)
    return np.where((x >= x0) & (x <= x1), c / (x1 - x0), 0.0)


# --- registry ----------------------------------------------------------------

@dataclass(frozen=True)
class Activation:
    """An element-wise activation with its derivative and a few facts about it.

    ``low`` and ``high`` are the infimum and supremum of its range (possibly
    infinite); ``needs`` names the most expensive elementary operation in its
    forward pass ("compare", "exp", "tanh" or "erf").
    """

    name: str
    f: Callable[..., np.ndarray]
    grad: Callable[..., np.ndarray]
    low: float
    high: float
    needs: str
    torch_name: str = ""

    def __repr__(self) -> str:
        return (f"Activation({self.name!r}, "
                f"range=({self.low:.4g}, {self.high:.4g}), "
                f"needs={self.needs!r})")


ACTIVATIONS: dict[str, Activation] = {
    a.name: a for a in (
        Activation("sigmoid", sigmoid, sigmoid_grad, 0.0, 1.0, "exp",
                   "Sigmoid"),
        Activation("tanh", tanh, tanh_grad, -1.0, 1.0, "tanh", "Tanh"),
        Activation("hard_sigmoid", hard_sigmoid, hard_sigmoid_grad, 0.0, 1.0,
                   "compare"),
        Activation("relu", relu, relu_grad, 0.0, math.inf, "compare",
                   "ReLU"),
        Activation("leaky_relu", leaky_relu, leaky_relu_grad,
                   -math.inf, math.inf, "compare", "LeakyReLU"),
        Activation("prelu", prelu, prelu_grad, -math.inf, math.inf, "compare",
                   "PReLU"),
        Activation("elu", elu, elu_grad, -1.0, math.inf, "exp", "ELU"),
        Activation("selu", selu, selu_grad,
                   -SELU_LAMBDA * SELU_ALPHA, math.inf, "exp", "SELU"),
        Activation("gelu", gelu, gelu_grad,
                   -0.1699712074799037, math.inf, "erf", "GELU"),
        Activation("gelu_tanh", gelu_tanh, gelu_tanh_grad,
                   -0.1700407505712541, math.inf, "tanh", "GELU"),
        Activation("silu", silu, silu_grad,
                   -0.2784645427610738, math.inf, "exp", "SiLU"),
    )
}


def get(name: str) -> Activation:
    """The activation ``name`` from ``ACTIVATIONS``, with default parameters."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; "
                         f"choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def torch_module(name: str):
    """The ``torch.nn`` module of activation ``name`` with the same default
    parameters (``gelu_tanh`` is ``GELU(approximate="tanh")``)."""
    from torch import nn

    act = get(name)
    if not act.torch_name:
        raise ValueError(f"{name} has no torch.nn twin with the same "
                         "parameters")
    if name == "gelu_tanh":
        return nn.GELU(approximate="tanh")
    return getattr(nn, act.torch_name)()
