"""Optimisers written from scratch.

:doc:`/chapters/01_learning_is_fitting` introduces (mini-batch) gradient
descent; later chapters add momentum and adaptive methods.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._validate import as_float_array, check_float, check_int


@dataclass(frozen=True)
class Trajectory:
    """Parameters after each update (``params[0]`` is the start) and the loss
    at each of them.
    """

    params: np.ndarray
    losses: np.ndarray

    @property
    def final(self) -> np.ndarray:
        return self.params[-1]

    def __repr__(self) -> str:
        return (f"Trajectory(updates={len(self.params) - 1}, "
                f"final_loss={self.losses[-1]:.6g})")


def _checked_grad(grad, theta: np.ndarray) -> np.ndarray:
    g = np.asarray(grad(theta), dtype=float)
    if g.shape != theta.shape:
        raise ValueError(f"grad returned shape {g.shape}, "
                         f"expected {theta.shape}")
    return g


def gradient_descent(loss: Callable[[np.ndarray], float],
                     grad: Callable[[np.ndarray], np.ndarray],
                     theta0, *, lr: float, steps: int,
                     stop_above: float = 1e12) -> Trajectory:
    """Gradient descent theta <- theta - lr * grad(theta), ``steps`` times.

    Records every iterate and its loss. If the loss exceeds ``stop_above``
    (divergence) the run stops early, so a too-large learning rate cannot
    overflow.
    """
    if not callable(loss) or not callable(grad):
        raise TypeError("loss and grad must be callables taking the "
                        "parameter vector")
    theta = as_float_array("theta0", theta0, ndim=1).copy()
    lr = check_float("lr", lr, minimum=0.0, strict_min=True)
    steps = check_int("steps", steps, minimum=0)
    params, losses = [theta.copy()], [float(loss(theta))]
    for _ in range(steps):
        theta = theta - lr * _checked_grad(grad, theta)
        params.append(theta.copy())
        losses.append(float(loss(theta)))
        if not losses[-1] <= stop_above:  # also catches NaN
            break
    return Trajectory(np.array(params), np.array(losses))


def minibatch_sgd(grad_on_batch: Callable[[np.ndarray, np.ndarray], np.ndarray],
                  theta0, batch_indices: list[list[np.ndarray]], *,
                  lr: float) -> np.ndarray:
    """Mini-batch gradient descent over prepared batches; returns all iterates.

    ``batch_indices[e]`` is the list of index arrays of epoch ``e`` (see
    :func:`dlbook_lib.data.batches`), and ``grad_on_batch(theta, idx)`` is the
    gradient of the loss averaged over the examples ``idx``. One update per
    batch, so an epoch over N examples with batch size B makes ceil(N / B)
    updates.
    """
    if not callable(grad_on_batch):
        raise TypeError("grad_on_batch must be a callable "
                        "(theta, indices) -> gradient")
    theta = as_float_array("theta0", theta0, ndim=1).copy()
    lr = check_float("lr", lr, minimum=0.0, strict_min=True)
    if not isinstance(batch_indices, (list, tuple)) or not batch_indices:
        raise ValueError("batch_indices must be a non-empty list of epochs "
                         "(lists of index arrays)")
    params = [theta.copy()]
    for epoch in batch_indices:
        for idx in epoch:
            idx = np.asarray(idx)
            if idx.size == 0:
                raise ValueError("empty mini-batch: every batch needs at "
                                 "least one example")
            theta = theta - lr * np.asarray(grad_on_batch(theta, idx),
                                            dtype=float)
            params.append(theta.copy())
    return np.array(params)


# -------------------------------------------------------------------- momentum
def _momentum_args(loss, grad, theta0, lr, momentum, steps):
    if not callable(loss) or not callable(grad):
        raise TypeError("loss and grad must be callables taking the "
                        "parameter vector")
    theta = as_float_array("theta0", theta0, ndim=1).copy()
    lr = check_float("lr", lr, minimum=0.0, strict_min=True)
    momentum = check_float("momentum", momentum, minimum=0.0, maximum=1.0,
                           strict_max=True)
    steps = check_int("steps", steps, minimum=0)
    return theta, lr, momentum, steps


def momentum_sgd(loss: Callable[[np.ndarray], float],
                 grad: Callable[[np.ndarray], np.ndarray],
                 theta0, *, lr: float, momentum: float, steps: int,
                 form: str = "velocity",
                 stop_above: float = 1e12) -> Trajectory:
    """Gradient descent with heavy-ball momentum, in either of its two forms.

    ``form="velocity"``: v <- momentum * v - lr * g, theta <- theta + v
    (Polyak's form). ``form="buffer"``: b <- momentum * b + g,
    theta <- theta - lr * b (the form of ``torch.optim.SGD(momentum=...)``).
    Both start from zero and, for a constant lr, produce the same iterates,
    since v = -lr * b at every step; both equal
    theta_next = theta - lr * g + momentum * (theta - theta_prev). Derived in
    :doc:`/chapters/11_batch_size_momentum`. Stops early if the loss exceeds
    ``stop_above``.
    """
    theta, lr, momentum, steps = _momentum_args(loss, grad, theta0, lr,
                                                momentum, steps)
    if form not in ("velocity", "buffer"):
        raise ValueError(f"form must be 'velocity' or 'buffer', got {form!r}")
    state = np.zeros_like(theta)  # v (velocity form) or b (buffer form)
    params, losses = [theta.copy()], [float(loss(theta))]
    for _ in range(steps):
        g = _checked_grad(grad, theta)
        if form == "velocity":
            state = momentum * state - lr * g
            theta = theta + state
        else:
            state = momentum * state + g
            theta = theta - lr * state
        params.append(theta.copy())
        losses.append(float(loss(theta)))
        if not losses[-1] <= stop_above:  # also catches NaN
            break
    return Trajectory(np.array(params), np.array(losses))


def nesterov_sgd(loss: Callable[[np.ndarray], float],
                 grad: Callable[[np.ndarray], np.ndarray],
                 theta0, *, lr: float, momentum: float, steps: int,
                 form: str = "lookahead",
                 stop_above: float = 1e12) -> Trajectory:
    """Nesterov's accelerated gradient, look-ahead or rearranged (PyTorch) form.

    ``form="lookahead"``: v <- momentum * v - lr * grad(theta + momentum * v),
    theta <- theta + v; the gradient is taken at the point momentum would carry
    us to. ``form="buffer"``: with g = grad(phi), b <- momentum * b + g,
    phi <- phi - lr * (g + momentum * b), which is what
    ``torch.optim.SGD(momentum=..., nesterov=True)`` does. Its iterate phi is
    the look-ahead point theta + momentum * v of the first form (and
    b = -v / lr), so it needs only the gradient at the current iterate. Derived
    in :doc:`/chapters/11_batch_size_momentum`.
    """
    theta, lr, momentum, steps = _momentum_args(loss, grad, theta0, lr,
                                                momentum, steps)
    if form not in ("lookahead", "buffer"):
        raise ValueError(f"form must be 'lookahead' or 'buffer', got {form!r}")
    state = np.zeros_like(theta)
    params, losses = [theta.copy()], [float(loss(theta))]
    for _ in range(steps):
        if form == "lookahead":
            state = (momentum * state
                     - lr * _checked_grad(grad, theta + momentum * state))
            theta = theta + state
        else:
            g = _checked_grad(grad, theta)
            state = momentum * state + g
            theta = theta - lr * (g + momentum * state)
        params.append(theta.copy())
        losses.append(float(loss(theta)))
        if not losses[-1] <= stop_above:
            break
    return Trajectory(np.array(params), np.array(losses))
