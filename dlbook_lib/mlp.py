"""A multilayer perceptron in NumPy with a hand-written backward pass.

Derived and checked in :doc:`/chapters/05_backpropagation`. The conventions
follow PyTorch so that the two can be compared weight for weight: a batch is a
matrix with one example per row, a layer maps ``a_prev`` of shape (B, n_in) to
``z = a_prev @ W.T + b`` with ``W`` of shape (n_out, n_in) and ``b`` of shape
(n_out,), and the loss is the mean over the batch. Hidden layers apply an
activation (sigmoid, tanh or ReLU); the last layer is linear and its output goes
into the loss (mean squared error or softmax cross-entropy).

With ``delta = dJ/dz`` (one row per example) the backward pass of a layer is::

    dJ/dW      = delta.T @ a_prev
    dJ/db      = delta.sum(axis=0)
    dJ/da_prev = delta @ W

and ``delta`` of the layer below is ``dJ/da_prev * sigma'(z_prev)``. Everything
is float64.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import activations, losses
from ._validate import as_float_array, check_float, check_int

ACTIVATIONS = ("sigmoid", "tanh", "relu")
LOSSES = ("mse", "cross_entropy")


# ------------------------------------------------------------------ validation
def _check_name(kind: str, name: Any, allowed: tuple[str, ...]) -> str:
    if name not in allowed:
        raise ValueError(f"unknown {kind} {name!r}; "
                         f"choose one of {', '.join(allowed)}")
    return name


# ------------------------------------------------------------- building blocks
def linear_forward(a_prev: Any, W: Any, b: Any) -> np.ndarray:
    """z = a_prev @ W.T + b for a batch a_prev of shape (B, n_in),
    W (n_out, n_in), b (n_out,).
    """
    a_prev = as_float_array("a_prev", a_prev, ndim=2)
    W = as_float_array("W", W, ndim=2)
    b = as_float_array("b", b, ndim=1)
    if a_prev.shape[1] != W.shape[1] or b.shape[0] != W.shape[0]:
        raise ValueError(f"shapes do not fit: a_prev {a_prev.shape}, "
                         f"W {W.shape}, b {b.shape}; need a_prev (B, n_in), "
                         "W (n_out, n_in), b (n_out,)")
    return a_prev @ W.T + b


def linear_backward(
    delta: Any, a_prev: Any, W: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a linear layer from delta = dJ/dz, one row per example.

    Returns (dJ/dW, dJ/db, dJ/da_prev) = (delta.T @ a_prev, delta.sum(0),
    delta @ W). The sum over rows adds up the contributions of the examples; the
    1/B of a mean loss is already inside delta.
    """
    delta = as_float_array("delta", delta, ndim=2)
    a_prev = as_float_array("a_prev", a_prev, ndim=2)
    W = as_float_array("W", W, ndim=2)
    if (delta.shape != (a_prev.shape[0], W.shape[0])
            or a_prev.shape[1] != W.shape[1]):
        raise ValueError(f"shapes do not fit: delta {delta.shape}, "
                         f"a_prev {a_prev.shape}, W {W.shape}; "
                         "need delta (B, n_out), a_prev (B, n_in), "
                         "W (n_out, n_in)")
    return delta.T @ a_prev, delta.sum(axis=0), delta @ W


def activate(name: str, z: Any) -> np.ndarray:
    """Element-wise activation ``name`` ("sigmoid", "tanh" or "relu") of z.

    The functions themselves live in :mod:`dlbook_lib.activations` (chapter 06
    derives them).
    """
    _check_name("activation", name, ACTIVATIONS)
    return activations.get(name).f(as_float_array("z", z))


def activation_derivative(name: str, z: Any) -> np.ndarray:
    """sigma'(z) element-wise: s (1 - s) for the sigmoid, 1 - tanh(z)^2, and
    1[z > 0] for ReLU.

    At z = 0 the ReLU derivative is taken as 0, the convention of PyTorch.
    """
    _check_name("activation", name, ACTIVATIONS)
    return activations.get(name).grad(as_float_array("z", z))


def loss_and_delta(name: str, output: Any,
                   target: Any) -> tuple[float, np.ndarray]:
    """Mean loss over the batch and its gradient dJ/d(output), both for an
    output of shape (B, K).

    * "mse": J = mean over all B K entries of (output - target)^2 (PyTorch's
      ``mse_loss``), gradient 2 (output - target) / (B K); ``target`` is a float
      array shaped like ``output``.
    * "cross_entropy": J = -(1/B) sum_n log softmax(output_n)[y_n] (PyTorch's
      ``cross_entropy`` on logits), gradient (softmax(output) - onehot(y)) / B;
      ``target`` holds integer labels of shape (B,).
    """
    _check_name("loss", name, LOSSES)
    out = as_float_array("output", output, ndim=2)
    if name == "mse":
        t = as_float_array("target", target, ndim=2)
        if t.shape != out.shape:
            raise ValueError(f"mse target must have the output's shape "
                             f"{out.shape}, got {t.shape}")
        return losses.mse(out, t), losses.mse_grad(out, t)
    return (losses.cross_entropy(out, target),
            losses.cross_entropy_grad(out, target))


# ----------------------------------------------------------------- the network
class MLP:
    """Fully connected network: ``sizes = [n_in, h_1, ..., n_out]``, one
    activation for all hidden layers.

    Weights and biases start like PyTorch's ``nn.Linear``: uniform in
    [-1/sqrt(n_in), 1/sqrt(n_in)], drawn from
    ``numpy.random.default_rng(seed)``. Parameters are named
    ``W1, b1, W2, b2, ...`` (layer l maps layer l-1 to layer l).
    """

    def __init__(self, sizes: Sequence[int], activation: str = "tanh", *,
                 seed: int = 0):
        if (isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__")
                or len(sizes) < 2):
            raise ValueError(f"sizes must list at least an input and an "
                             f"output size, got {sizes!r}")
        self.sizes = [check_int(f"sizes[{i}]", s, minimum=1)
                      for i, s in enumerate(sizes)]
        self.activation = _check_name("activation", activation, ACTIVATIONS)
        rng = np.random.default_rng(check_int("seed", seed, minimum=0))
        self.params: dict[str, np.ndarray] = {}
        for l, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]),
                                          start=1):
            bound = 1.0 / np.sqrt(n_in)
            self.params[f"W{l}"] = rng.uniform(-bound, bound,
                                               size=(n_out, n_in))
            self.params[f"b{l}"] = rng.uniform(-bound, bound, size=n_out)

    @property
    def num_layers(self) -> int:
        """Number of linear layers."""
        return len(self.sizes) - 1

    def __repr__(self) -> str:
        return f"MLP(sizes={self.sizes}, activation={self.activation!r})"

    def _input(self, x: Any) -> np.ndarray:
        x = as_float_array("x", x, ndim=2)
        if x.shape[1] != self.sizes[0]:
            raise ValueError(f"x must have {self.sizes[0]} features per row, "
                             f"got shape {x.shape}")
        return x

    def forward(
        self, x: Any,
    ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """Output of the last (linear) layer for a batch x, and the cache
        [(a_prev, z), ...] per layer.
        """
        a = self._input(x)
        cache = []
        for l in range(1, self.num_layers + 1):
            z = linear_forward(a, self.params[f"W{l}"], self.params[f"b{l}"])
            cache.append((a, z))
            a = z if l == self.num_layers else activate(self.activation, z)
        return a, cache

    def backward(self, cache: list[tuple[np.ndarray, np.ndarray]],
                 d_output: Any) -> dict[str, np.ndarray]:
        """Gradients of the loss for every parameter, given dJ/d(output) and the
        forward cache.
        """
        if not isinstance(cache, list) or len(cache) != self.num_layers:
            raise ValueError(f"cache must be the list of {self.num_layers} "
                             "(a_prev, z) pairs returned by forward")
        delta = as_float_array("d_output", d_output, ndim=2)
        if delta.shape != cache[-1][1].shape:
            raise ValueError(f"d_output must have the output's shape "
                             f"{cache[-1][1].shape}, got {delta.shape}")
        grads: dict[str, np.ndarray] = {}
        for l in range(self.num_layers, 0, -1):
            a_prev, _ = cache[l - 1]
            dW, db, da_prev = linear_backward(delta, a_prev,
                                              self.params[f"W{l}"])
            grads[f"W{l}"], grads[f"b{l}"] = dW, db
            if l > 1:  # delta of the layer below: dJ/da_prev * sigma'(z_prev)
                delta = da_prev * activation_derivative(self.activation,
                                                        cache[l - 2][1])
        return {name: grads[name] for name in self.params}

    def loss(self, x: Any, target: Any, loss: str = "cross_entropy") -> float:
        """Mean loss of the batch (see :func:`loss_and_delta`)."""
        output, _ = self.forward(x)
        return loss_and_delta(loss, output, target)[0]

    def loss_and_grads(
        self, x: Any, target: Any, loss: str = "cross_entropy",
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Forward pass, loss, and backward pass for one batch."""
        output, cache = self.forward(x)
        value, d_output = loss_and_delta(loss, output, target)
        return value, self.backward(cache, d_output)

    def sgd_step(self, grads: dict[str, np.ndarray], lr: float) -> None:
        """Plain gradient descent in place:
        p <- p - lr * dJ/dp for every parameter.
        """
        lr = check_float("lr", lr, minimum=0.0, strict_min=True)
        if set(grads) != set(self.params):
            raise ValueError(f"grads must have the keys {sorted(self.params)}, "
                             f"got {sorted(grads)}")
        for name, g in grads.items():
            g = as_float_array(f"grads[{name!r}]", g)
            if g.shape != self.params[name].shape:
                raise ValueError(f"grads[{name!r}] has shape {g.shape}, "
                                 f"parameter has shape "
                                 f"{self.params[name].shape}")
            self.params[name] -= lr * g

    def predict(self, x: Any) -> np.ndarray:
        """Predicted class (index of the largest output) for each row of x."""
        return self.forward(x)[0].argmax(axis=1)


def to_torch(mlp: MLP) -> "torch.nn.Sequential":
    """An identical PyTorch network (float64 copies of the weights), for
    side-by-side checks.

    Linear layers alternate with activation modules; the last layer has no
    activation, as in :class:`MLP`. PyTorch's global random state is not used.
    """
    import torch

    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be an MLP, got {type(mlp).__name__}")
    act = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh,
           "relu": torch.nn.ReLU}[mlp.activation]
    layers: list[torch.nn.Module] = []
    for l in range(1, mlp.num_layers + 1):
        W = mlp.params[f"W{l}"]
        # skip_init: no random initialisation, so PyTorch's global random
        # state is untouched
        linear = torch.nn.utils.skip_init(torch.nn.Linear, W.shape[1],
                                          W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(mlp.params[f"b{l}"]))
        layers.append(linear)
        if l < mlp.num_layers:
            layers.append(act())
    return torch.nn.Sequential(*layers)
