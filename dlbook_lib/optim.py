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


# ----------------------------------------------------------------------------
# Update rules with state, over the parameter convention of dlbook_lib.layers:
# params and grads are dicts name -> array, and step() updates params in place.
# The learning rate is a number or a schedule, a function of the step count.

class Optimizer:
    """An update rule with its state, in the spirit of ``torch.optim``.

    ``step(params, grads)`` updates every array of ``params`` in place from
    the gradient of the same name. ``lr`` is a number or a schedule: a
    function of the step count t = 0, 1, 2, ... (see :func:`step_decay`,
    :func:`cosine`, ...). ``state[name]`` holds what a rule remembers about
    one parameter (a momentum buffer, say).
    """

    def __init__(self, lr: float | Callable[[int], float]):
        if not callable(lr):
            lr = check_float("lr", lr, minimum=0.0, strict_min=True)
        self.lr = lr
        self.t = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def current_lr(self) -> float:
        """The learning rate of the next step."""
        return float(self.lr(self.t)) if callable(self.lr) else self.lr

    def step(self, params: dict[str, np.ndarray],
             grads: dict[str, np.ndarray]) -> None:
        """One update of every parameter, in place."""
        lr = self.current_lr()
        for name, p in params.items():
            self.update(p, grads[name], self.state.setdefault(name, {}), lr)
        self.t += 1

    def update(self, p: np.ndarray, g: np.ndarray, state: dict,
               lr: float) -> None:
        raise NotImplementedError

    def lookahead(self, name: str, p: np.ndarray) -> np.ndarray:
        """Where the gradient of parameter ``name`` is to be taken: at ``p``
        itself, except for Nesterov's look-ahead form."""
        return p


class SGD(Optimizer):
    """Stochastic gradient descent exactly as ``torch.optim.SGD``.

    With weight decay wd, momentum mu, dampening d:
    g <- g + wd p;  b <- g at the first step, mu b + (1 - d) g after;
    g <- g + mu b with ``nesterov=True``, else b;  p <- p - lr g.
    Without momentum this is plain gradient descent. The buffer form of
    momentum and its Nesterov variant are derived in
    :doc:`/chapters/11_batch_size_momentum`.
    """

    def __init__(self, lr: float | Callable[[int], float], *,
                 momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(lr)
        self.momentum = check_float("momentum", momentum, minimum=0.0,
                                    maximum=1.0, strict_max=True)
        self.dampening = check_float("dampening", dampening, minimum=0.0,
                                     maximum=1.0)
        self.weight_decay = check_float("weight_decay", weight_decay,
                                        minimum=0.0)
        if nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
            raise ValueError("Nesterov momentum needs momentum > 0 and "
                             "dampening = 0")
        self.nesterov = bool(nesterov)

    def update(self, p, g, state, lr):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            if "buffer" not in state:
                state["buffer"] = g.copy()
            else:
                state["buffer"] = (self.momentum * state["buffer"]
                                   + (1 - self.dampening) * g)
            b = state["buffer"]
            g = g + self.momentum * b if self.nesterov else b
        p -= lr * g


class HeavyBall(Optimizer):
    """Polyak's velocity form of momentum: v <- mu v - lr g;  p <- p + v.

    With a constant learning rate its iterates equal those of
    ``SGD(lr, momentum=mu)``, since v = -lr b at every step; with a schedule
    they differ (see :doc:`/chapters/11_batch_size_momentum`).
    """

    def __init__(self, lr: float | Callable[[int], float], *,
                 momentum: float):
        super().__init__(lr)
        self.momentum = check_float("momentum", momentum, minimum=0.0,
                                    maximum=1.0, strict_max=True)

    def update(self, p, g, state, lr):
        v = state.setdefault("velocity", np.zeros_like(p))
        v *= self.momentum
        v -= lr * g
        p += v


class NesterovLookahead(HeavyBall):
    """Nesterov's look-ahead form: v <- mu v - lr grad(p + mu v);  p <- p + v.

    The gradient belongs at :meth:`lookahead`, the point momentum carries
    the parameters to, so this rule runs with :func:`run`, which asks for it.
    Its iterates plus mu v are those of ``SGD(lr, momentum=mu,
    nesterov=True)`` (:doc:`/chapters/11_batch_size_momentum`).
    """

    def lookahead(self, name, p):
        v = self.state.get(name, {}).get("velocity")
        return p if v is None else p + self.momentum * v


def run(rule: Optimizer, loss: Callable[[np.ndarray], float],
        grad: Callable[[np.ndarray], np.ndarray], theta0, *, steps: int,
        stop_above: float = 1e12) -> Trajectory:
    """Apply ``rule`` to one parameter vector for ``steps`` updates.

    Records every iterate and its loss, for trajectory plots; stops early
    when the loss exceeds ``stop_above`` or is NaN (divergence).
    """
    if not isinstance(rule, Optimizer):
        raise TypeError(f"rule must be an Optimizer, got {type(rule).__name__}")
    if not callable(loss) or not callable(grad):
        raise TypeError("loss and grad must be callables of the parameters")
    theta = as_float_array("theta0", theta0, ndim=1).copy()
    steps = check_int("steps", steps, minimum=0)
    path, losses = [theta.copy()], [float(loss(theta))]
    for _ in range(steps):
        g = _checked_grad(grad, rule.lookahead("theta", theta))
        rule.step({"theta": theta}, {"theta": g})
        path.append(theta.copy())
        losses.append(float(loss(theta)))
        if not losses[-1] <= stop_above:  # also catches NaN
            break
    return Trajectory(np.array(path), np.array(losses))


# --- learning-rate schedules: functions of the step count t = 0, 1, 2, ...

def step_decay(lr: float, step_size: int,
               gamma: float = 0.1) -> Callable[[int], float]:
    """lr * gamma ** (t // step_size), as ``lr_scheduler.StepLR``."""
    step_size = check_int("step_size", step_size, minimum=1)
    return lambda t: lr * gamma ** (t // step_size)


def exponential(lr: float, gamma: float) -> Callable[[int], float]:
    """lr * gamma ** t, as ``lr_scheduler.ExponentialLR``."""
    return lambda t: lr * gamma ** t


def cosine(lr: float, total: int,
           lr_min: float = 0.0) -> Callable[[int], float]:
    """lr_min + (lr - lr_min) (1 + cos(pi t / total)) / 2, then lr_min.

    Up to t = total this is ``lr_scheduler.CosineAnnealingLR(T_max=total,
    eta_min=lr_min)``; after it, torch's rate rises again, this one stays.
    """
    total = check_int("total", total, minimum=1)
    return lambda t: lr_min + (lr - lr_min) * (
        1 + np.cos(np.pi * min(t, total) / total)) / 2


def warmup(schedule: Callable[[int], float] | float,
           steps: int, start: float = 0.0) -> Callable[[int], float]:
    """Linear warm-up: ``schedule(t)`` scaled by a factor rising linearly
    from ``start`` at t = 0 to 1 at t = steps (``lr_scheduler.LinearLR``)."""
    steps = check_int("steps", steps, minimum=1)
    base = schedule if callable(schedule) else (lambda t: schedule)
    return lambda t: base(t) * (start + (1 - start) * min(t, steps) / steps)
