"""From linear models to neural networks: hard sigmoids, ReLU pairs,
one hidden layer, depth.

Everything :doc:`/chapters/02_linear_to_neural` derives: the hard sigmoid and
its exact form as a difference of two ReLUs, the one-hidden-layer model
y = b + c^T act(b_hidden + W x) written as loops and in matrix form, the exact
piecewise-linear interpolant built from ReLU units, least-squares fitting of the
output layer on fixed hidden units, and the composed tent map that a deep ReLU
net computes with few parameters.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._validate import check_float, check_int, check_same_length
from . import activations
from .activations import relu


def hard_sigmoid_from_relus(x, *, x0: float = 0.0, x1: float = 1.0,
                            c: float = 1.0) -> np.ndarray:
    """The same hard sigmoid as a difference of two ReLUs (an exact identity).

    Returns (c / (x1 - x0)) * (relu(x - x0) - relu(x - x1)): both ReLUs are off
    left of x0, only the first is on between x0 and x1, and right of x1 their
    slopes cancel.
    """
    x = np.asarray(x, dtype=float)
    return (c / (x1 - x0)) * (relu(x - x0) - relu(x - x1))


def _batch(x) -> np.ndarray:
    """x as an (N, d) float array; a 1-D x is N scalar inputs (d = 1)."""
    x = np.asarray(x, dtype=float)
    return x[:, None] if x.ndim == 1 else x


def one_hidden_layer_loop(x, W, b, c, b0: float,
                          activation_name: str = "sigmoid") -> np.ndarray:
    """y_n = b0 + sum_i c_i act(b_i + sum_j W_ij x_nj), computed with explicit
    Python loops.

    ``x`` has shape (N, d) (or (N,) when d = 1), ``W`` (k, d), ``b`` and ``c``
    (k,). Written for reading, not speed: one loop over examples, one over
    units, one over input features.
    """
    act = activations.get(activation_name).f
    x, W = _batch(x), np.asarray(W, dtype=float)
    k, d = W.shape
    y = np.empty(len(x))
    for n in range(len(x)):
        total = b0
        for i in range(k):
            z = b[i]
            for j in range(d):
                z += W[i, j] * x[n, j]
            total += c[i] * float(act(z))
        y[n] = total
    return y


def one_hidden_layer_matrix(x, W, b, c, b0: float,
                            activation_name: str = "sigmoid") -> np.ndarray:
    """The same model in matrix form for a batch:
    y = b0 + act(X W^T + b) c, shape (N,).
    """
    act = activations.get(activation_name).f
    x, W = _batch(x), np.asarray(W, dtype=float)
    return b0 + act(x @ W.T + b) @ c


@dataclass(frozen=True)
class OneHiddenLayer:
    """Parameters of y = b0 + c^T act(b + W x).

    Calling the object evaluates the matrix form.
    """

    W: np.ndarray
    b: np.ndarray
    c: np.ndarray
    b0: float
    activation_name: str = "sigmoid"

    def __call__(self, x) -> np.ndarray:
        return one_hidden_layer_matrix(x, self.W, self.b, self.c, self.b0,
                                       self.activation_name)

    def to_torch(self):
        """The same network as ``torch.nn.Sequential(Linear(d, k), act,
        Linear(k, 1))`` in float64, with these parameters copied in
        (``Linear`` stores W with shape (k, d), as here).
        """
        import torch

        W, b, c = (torch.tensor(np.asarray(a, dtype=float))
                   for a in (self.W, self.b, self.c))
        k, d = W.shape
        act = activations.torch_module(self.activation_name)
        net = torch.nn.Sequential(torch.nn.Linear(d, k), act,
                                  torch.nn.Linear(k, 1)).double()
        with torch.no_grad():
            net[0].weight.copy_(W)
            net[0].bias.copy_(b)
            net[2].weight.copy_(c[None, :])
            net[2].bias.fill_(float(self.b0))
        return net

    @property
    def n_units(self) -> int:
        """Number of hidden units k."""
        return int(self.W.shape[0])

    @property
    def n_params(self) -> int:
        """k d weights + k hidden biases + k output weights + 1 output bias."""
        k, d = self.W.shape
        return int(k * d + 2 * k + 1)

    def __repr__(self) -> str:
        return (f"OneHiddenLayer(units={self.n_units}, "
                f"inputs={self.W.shape[1]}, "
                f"activation={self.activation_name!r}, params={self.n_params})")


def _pieces(x, y, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y as float arrays and the slopes between consecutive points."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or len(y) != len(x) or not np.all(np.diff(x) > 0):
        raise ValueError(f"need at least 2 {name}, strictly increasing, with "
                         f"one value each; got {len(x)} {name} and {len(y)} "
                         "values")
    return x, y, np.diff(y) / np.diff(x)


def relu_interpolant(knots, values) -> OneHiddenLayer:
    """The piecewise-linear interpolant of (knots, values) as a one-hidden-layer
    ReLU net.

    With knots xi_0 < ... < xi_k and slopes
    s_j = (v_j - v_{j-1}) / (xi_j - xi_{j-1}) of the k pieces, the net is
    v_0 + sum_{j=0}^{k-1} (s_{j+1} - s_j) relu(x - xi_j) with s_0 = 0: k ReLU
    units, exact on [xi_0, xi_k] (left of xi_0 it is constant, right of xi_k it
    continues the last piece).
    """
    knots, values, slopes = _pieces(knots, values, "knots")
    c = np.diff(np.concatenate([[0.0], slopes]))
    k = len(slopes)
    return OneHiddenLayer(W=np.ones((k, 1)), b=-knots[:-1].copy(), c=c,
                          b0=float(values[0]), activation_name="relu")


def fit_output_layer(x, y, W, b,
                     activation_name: str = "sigmoid") -> OneHiddenLayer:
    """Keep the hidden units (W, b) fixed and fit c and b0 by linear least
    squares on (x, y).

    With the hidden layer fixed the model is linear in (b0, c), so the minimum
    of the mean squared error has a closed form (``numpy.linalg.lstsq``).
    """
    act = activations.get(activation_name).f
    x, y = _batch(x), np.asarray(y, dtype=float)
    W, b = np.asarray(W, dtype=float), np.asarray(b, dtype=float)
    check_same_length(x=x, y=y)
    features = np.column_stack([np.ones(len(x)), act(x @ W.T + b)])
    coef = np.linalg.lstsq(features, y, rcond=None)[0]
    return OneHiddenLayer(W=W, b=b, c=coef[1:], b0=float(coef[0]),
                          activation_name=activation_name)


def tent_map(x) -> np.ndarray:
    """The tent map t(x) = 2 relu(x) - 4 relu(x - 1/2):
    2x on [0, 1/2], 2 - 2x on [1/2, 1].
    """
    return 2.0 * relu(x) - 4.0 * relu(x - 0.5)


def tent_map_power(x, depth: int) -> np.ndarray:
    """The tent map applied ``depth`` times (depth 0 is the identity)."""
    depth = check_int("depth", depth, minimum=0)
    y = np.asarray(x, dtype=float)
    for _ in range(depth):
        y = tent_map(y)
    return y


def deep_tent_net(depth: int, dtype=None):
    """A ``torch.nn.Sequential`` ReLU net of ``depth`` hidden layers of width 2
    computing t^depth.

    Each tent is relu(x), relu(x - 1/2) combined with weights 2, -4; the output
    layer of one tent and the input layer of the next merge into one 2 x 2
    linear layer, so the net has 4 + 6 (depth - 1) + 3 = 6 depth + 1 parameters.
    ``dtype`` defaults to torch.float64.
    """
    import torch

    depth = check_int("depth", depth, minimum=1)
    dtype = torch.float64 if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, "
                        f"got {dtype!r}")
    w_in = torch.tensor([[1.0], [1.0]], dtype=dtype)
    b_in = torch.tensor([0.0, -0.5], dtype=dtype)
    w_out = torch.tensor([[2.0, -4.0]], dtype=dtype)

    def linear(weight, bias):
        layer = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=dtype)
        with torch.no_grad():
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)
        return layer

    layers = [linear(w_in, b_in), torch.nn.ReLU()]
    for _ in range(depth - 1):
        layers += [linear(w_in @ w_out, b_in), torch.nn.ReLU()]
    layers.append(linear(w_out, torch.zeros(1, dtype=dtype)))
    return torch.nn.Sequential(*layers)


def count_linear_pieces(x, y, *, tol: float = 1e-9) -> int:
    """Number of linear pieces of a sampled curve: 1 + number of slope changes.

    ``x`` must be strictly increasing. Consecutive slopes count as different
    when they differ by more than tol * max(1, largest abs(slope)). A piece
    narrower than the grid spacing, or a kink exactly between two grid points
    that hides another kink, can be missed: sample finely enough that every
    piece holds at least two grid intervals.
    """
    tol = check_float("tol", tol, minimum=0.0)
    _, _, slopes = _pieces(x, y, "x values")
    scale = max(1.0, float(np.abs(slopes).max()))
    return 1 + int(np.sum(np.abs(np.diff(slopes)) > tol * scale))
