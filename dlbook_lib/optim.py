"""Optimisers written from scratch.

:doc:`/chapters/01_learning_is_fitting` introduces (mini-batch) gradient
descent; later chapters add momentum and adaptive methods.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

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


# Hyper-parameter checks shared by the constructors below: a finite float
# >= 0, and a decay rate (momentum, alpha, beta) in [0, 1).

def _nonneg(name: str, value) -> float:
    return check_float(name, value, minimum=0.0)


def _decay_rate(name: str, value) -> float:
    return check_float(name, value, minimum=0.0, maximum=1.0, strict_max=True)


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

    def step(self, params: dict[str, np.ndarray],
             grads: dict[str, np.ndarray]) -> None:
        """One update of every parameter, in place."""
        lr = float(self.lr(self.t)) if callable(self.lr) else self.lr
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
        self.momentum = _decay_rate("momentum", momentum)
        self.dampening = check_float("dampening", dampening, minimum=0.0,
                                     maximum=1.0)
        self.weight_decay = _nonneg("weight_decay", weight_decay)
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
        self.momentum = _decay_rate("momentum", momentum)

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


# --- adaptive rules: a step size per coordinate, from past squared gradients
# (:doc:`/chapters/12_adaptive_optimisers`)

class AdaGrad(Optimizer):
    """AdaGrad :cite:`duchi2011adaptive`: each coordinate's step is divided
    by the root of its accumulated squared gradients.

    With s <- s + g^2 (from s = 0),
    ``form="sum"`` (``torch.optim.Adagrad``): p <- p - lr g / (sqrt(s) + eps);
    ``form="mean"``: p <- p - lr g / (sqrt(s / t) + eps), the root mean
    square over the t gradients seen so far. For eps = 0 the mean form is
    the sum form with learning rate lr sqrt(t). Torch's ``lr_decay`` is the
    schedule ``lambda t: lr / (1 + t * lr_decay)``. Derived in
    :doc:`/chapters/12_adaptive_optimisers`.
    """

    def __init__(self, lr: float | Callable[[int], float] = 1e-2, *,
                 eps: float = 1e-10, form: str = "sum"):
        super().__init__(lr)
        self.eps = _nonneg("eps", eps)
        if form not in ("sum", "mean"):
            raise ValueError(f"form must be 'sum' or 'mean', got {form!r}")
        self.form = form

    def update(self, p, g, state, lr):
        s = state.setdefault("sum", np.zeros_like(p))
        state["step"] = state.get("step", 0) + 1
        s += g ** 2
        if self.form == "sum":
            p -= lr * g / (np.sqrt(s) + self.eps)
        else:
            p -= lr * g / (np.sqrt(s / state["step"]) + self.eps)


class RMSProp(Optimizer):
    """RMSProp :cite:`tieleman2012rmsprop` exactly as ``torch.optim.RMSprop``.

    With weight decay wd, g <- g + wd p;  v <- alpha v + (1 - alpha) g^2
    (an exponential moving average of g^2, starting from v = 0);
    d = g / (sqrt(v) + eps), eps outside the root;  p <- p - lr d, or with
    momentum mu: b <- mu b + d, p <- p - lr b
    (:doc:`/chapters/12_adaptive_optimisers`).
    """

    def __init__(self, lr: float | Callable[[int], float] = 1e-2, *,
                 alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0):
        super().__init__(lr)
        self.alpha = _decay_rate("alpha", alpha)
        self.eps = _nonneg("eps", eps)
        self.weight_decay = _nonneg("weight_decay", weight_decay)
        self.momentum = _decay_rate("momentum", momentum)

    def update(self, p, g, state, lr):
        if self.weight_decay:
            g = g + self.weight_decay * p
        v = state.setdefault("square_avg", np.zeros_like(p))
        v[...] = self.alpha * v + (1 - self.alpha) * g ** 2
        d = g / (np.sqrt(v) + self.eps)
        if self.momentum:
            b = state.setdefault("buffer", np.zeros_like(p))
            b[...] = self.momentum * b + d
            d = b
        p -= lr * d


class Adam(Optimizer):
    """Adam :cite:`kingma2015adam` exactly as ``torch.optim.Adam``.

    With L2 regularisation wd (``weight_decay``), g <- g + wd p; then
    m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2 (both from 0),
    m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)  (bias correction),
    p <- p - lr m_hat / (sqrt(v_hat) + eps). With ``amsgrad=True`` v_hat
    uses the running maximum of v :cite:`reddi2018convergence`.
    ``bias_correction=False`` drops the two divisions, to show what they
    are for (:doc:`/chapters/12_adaptive_optimisers` derives them).
    """

    decoupled = False

    def __init__(self, lr: float | Callable[[int], float] = 1e-3, *,
                 betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False, bias_correction: bool = True):
        super().__init__(lr)
        b1, b2 = betas
        self.betas = (_decay_rate("beta1", b1), _decay_rate("beta2", b2))
        self.eps = _nonneg("eps", eps)
        self.weight_decay = _nonneg("weight_decay", weight_decay)
        self.amsgrad = bool(amsgrad)
        self.bias_correction = bool(bias_correction)

    def update(self, p, g, state, lr):
        if self.weight_decay and self.decoupled:
            p *= 1 - lr * self.weight_decay        # AdamW: decay the weight
        elif self.weight_decay:
            g = g + self.weight_decay * p          # L2: decay via gradient
        b1, b2 = self.betas
        t = state["step"] = state.get("step", 0) + 1
        m = state.setdefault("m", np.zeros_like(p))
        v = state.setdefault("v", np.zeros_like(p))
        m[...] = b1 * m + (1 - b1) * g
        v[...] = b2 * v + (1 - b2) * g ** 2
        if self.amsgrad:
            v = state["v_max"] = np.maximum(state.get("v_max", v), v)
        if self.bias_correction:
            m, v = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p -= lr * m / (np.sqrt(v) + self.eps)


class AdamW(Adam):
    """AdamW :cite:`loshchilov2019decoupled` exactly as ``torch.optim.AdamW``:
    decoupled weight decay p <- (1 - lr wd) p before the Adam step, which
    then sees the plain gradient (compare :class:`Adam`, whose
    ``weight_decay`` adds wd p to the gradient), compared in
    :doc:`/chapters/12_adaptive_optimisers`.
    """

    decoupled = True

    def __init__(self, lr: float | Callable[[int], float] = 1e-3, *,
                 betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False):
        super().__init__(lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)


def run_torch(make_optimizer: Callable, loss: Callable[[np.ndarray], float],
              grad: Callable[[np.ndarray], np.ndarray], theta0, *,
              steps: int, make_scheduler: Callable | None = None
              ) -> Trajectory:
    """The twin of :func:`run` for a ``torch.optim`` optimiser: drive it with
    the NumPy gradient ``grad`` in float64 and record every iterate.

    ``make_optimizer(params)`` builds the optimiser, e.g.
    ``lambda ps: torch.optim.Adam(ps, lr=0.1)``; ``make_scheduler(opt)``
    (optional) builds a learning-rate scheduler, stepped after every update.
    Used in :doc:`/chapters/12_adaptive_optimisers`.
    """
    import torch

    theta = torch.tensor(as_float_array("theta0", theta0, ndim=1),
                         dtype=torch.float64, requires_grad=True)
    steps = check_int("steps", steps, minimum=0)
    opt = make_optimizer([theta])
    sched = make_scheduler(opt) if make_scheduler is not None else None
    now = theta.detach().numpy().copy()
    path, losses = [now], [float(loss(now))]
    for _ in range(steps):
        opt.zero_grad()
        theta.grad = torch.from_numpy(np.asarray(grad(now), dtype=float))
        opt.step()
        if sched is not None:
            sched.step()
        now = theta.detach().numpy().copy()
        path.append(now)
        losses.append(float(loss(now)))
    return Trajectory(np.array(path), np.array(losses))


def run(rule: Optimizer, loss: Callable[[np.ndarray], float],
        grad: Callable[..., np.ndarray], theta0, *, steps: int | None = None,
        batches: Sequence | None = None) -> Trajectory:
    """Apply ``rule`` to one parameter vector for ``steps`` updates.

    Records every iterate and its loss, for trajectory plots; stops early
    when the loss exceeds 1e12 or is NaN (divergence). For mini-batch
    descent pass ``batches``, one item per update (for example the index
    arrays of :func:`dlbook_lib.data.batches` of every epoch, one epoch
    after the other): update t then uses ``grad(theta, batches[t])``, and
    ``steps`` defaults to ``len(batches)``. ``loss`` is recorded as given,
    typically on the whole training set. Introduced in
    :doc:`/chapters/01_learning_is_fitting`.
    """
    if not isinstance(rule, Optimizer):
        raise TypeError(f"rule must be an Optimizer, got {type(rule).__name__}")
    theta = as_float_array("theta0", theta0, ndim=1).copy()
    if batches is not None:
        batches = list(batches)
        steps = len(batches) if steps is None else steps
    if steps is None:
        raise TypeError("run needs steps=, or batches= for mini-batches")
    steps = check_int("steps", steps, minimum=0)
    if batches is not None and steps > len(batches):
        raise ValueError(f"steps={steps} but only {len(batches)} batches")
    path, losses = [theta.copy()], [float(loss(theta))]
    for t in range(steps):
        batch = () if batches is None else (batches[t],)
        g = grad(rule.lookahead("theta", theta), *batch)
        rule.step({"theta": theta}, {"theta": np.asarray(g, dtype=float)})
        path.append(theta.copy())
        losses.append(float(loss(theta)))
        if not losses[-1] <= 1e12:  # diverged (also catches NaN)
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


def one_cycle(max_lr: float, total: int, *, anneal: str = "cos",
              three_phase: bool = False) -> Callable[[int], float]:
    """The one-cycle policy :cite:`smith2019super`, as
    ``lr_scheduler.OneCycleLR`` computes it with its defaults
    ``pct_start=0.3``, ``div_factor=25`` and ``final_div_factor=1e4``.

    The rate rises from lr0 = max_lr / 25 at t = 0 to max_lr at
    t = 0.3 total - 1, then falls to lr0 / 1e4 at t = total - 1 (two
    phases, torch's default). With ``three_phase=True`` it falls back to
    lr0 at t = 0.6 total - 2 first and reaches the minimum in a third phase.
    Each phase is a half cosine (``anneal="cos"``, the default) or a
    straight line (``"linear"``). After t = total - 1 the rate stays at the
    minimum (torch raises an error there). Torch also cycles the momentum
    by default; this schedule is the learning rate only
    (:doc:`/chapters/12_adaptive_optimisers`).
    """
    max_lr = check_float("max_lr", max_lr, minimum=0.0, strict_min=True)
    total = check_int("total", total, minimum=4)  # else the rise is empty
    if anneal not in ("cos", "linear"):
        raise ValueError(f"anneal must be 'cos' or 'linear', got {anneal!r}")
    lr0 = max_lr / 25.0
    lr_min = lr0 / 1e4
    rise = 0.3 * total - 1
    if three_phase:
        phases = [(rise, lr0, max_lr), (2 * rise, max_lr, lr0),
                  (total - 1, lr0, lr_min)]
    else:
        phases = [(rise, lr0, max_lr), (total - 1, max_lr, lr_min)]

    def shape(start: float, end: float, frac: float) -> float:
        if anneal == "cos":
            return end + (start - end) / 2 * (np.cos(np.pi * frac) + 1)
        return start + (end - start) * frac

    def schedule(t: int) -> float:
        t, begin = min(t, total - 1), 0.0
        for end, start_lr, end_lr in phases:
            if t <= end or end == phases[-1][0]:
                return float(shape(start_lr, end_lr, (t - begin)
                                   / (end - begin)))
            begin = end

    return schedule


# --- gradient clipping over a grads dict (chapter 13) -------------------------

def clip_grad_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Rescale all gradients together, in place, so that their global norm
    is at most ``max_norm``, as ``torch.nn.utils.clip_grad_norm_``.

    With the global norm n = sqrt(sum of all squared entries), every array
    is multiplied by min(1, max_norm / (n + 1e-6)), torch's guard against a
    division by zero: the direction of the whole gradient is kept. Returns
    n, the norm *before* clipping.
    Derived in :doc:`/chapters/13_vanishing_exploding_gradients`.
    """
    max_norm = check_float("max_norm", max_norm, minimum=0.0, strict_min=True)
    total = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
    scale = min(1.0, max_norm / (total + 1e-6))
    for g in grads.values():
        g *= scale
    return total


def clip_grad_value(grads: dict[str, np.ndarray], clip_value: float) -> None:
    """Clip every gradient entry, in place, to [-clip_value, clip_value], as
    ``torch.nn.utils.clip_grad_value_``.

    Unlike :func:`clip_grad_norm` this changes the direction of the
    gradient whenever some entries are clipped and others are not
    (:doc:`/chapters/13_vanishing_exploding_gradients`).
    """
    clip_value = check_float("clip_value", clip_value, minimum=0.0,
                             strict_min=True)
    for g in grads.values():
        np.clip(g, -clip_value, clip_value, out=g)


# --- L1 (proximal) steps and max-norm projection (chapter 15) -----------------

def soft_threshold(v, t: float) -> np.ndarray:
    """The proximal operator of ``t * norm(., 1)``:
    ``sign(v) * max(abs(v) - t, 0)``, entry by entry, as
    ``torch.nn.functional.softshrink(v, t)``.

    Each entry is the minimiser of ``(u - v)**2 / 2 + t * abs(u)`` over u:
    entries within t of zero become exactly zero, the others move towards
    zero by t.
    Derived in :doc:`/chapters/15_regularisation`.
    """
    v = np.asarray(v, dtype=float)
    t = _nonneg("t", t)
    # + 0.0 turns the -0.0 of small negative entries into 0.0
    return np.sign(v) * np.maximum(np.abs(v) - t, 0.0) + 0.0


class ProximalSGD(Optimizer):
    """Proximal gradient descent (ISTA :cite:`beck2009fast`) for a loss plus
    the L1 penalty l1 ||p||_1: a gradient step on the smooth part, then the
    proximal step of the penalty,

        p <- soft_threshold(p - lr (g + wd p), lr l1),

    where ``weight_decay`` wd adds an L2 term (wd / 2) ||p||^2 to the smooth
    part (the elastic net). Unlike the subgradient step g + l1 sign(p), it
    sets weights exactly to zero (:doc:`/chapters/15_regularisation`).
    """

    def __init__(self, lr: float | Callable[[int], float], *, l1: float,
                 weight_decay: float = 0.0):
        super().__init__(lr)
        self.l1 = _nonneg("l1", l1)
        self.weight_decay = _nonneg("weight_decay", weight_decay)

    def update(self, p, g, state, lr):
        if self.weight_decay:
            g = g + self.weight_decay * p
        p[...] = soft_threshold(p - lr * g, lr * self.l1)


def max_norm(weight, c: float) -> np.ndarray:
    """The max-norm projection: each row of ``weight`` (the incoming weights
    of one unit, in the (n_out, n_in) layout of
    :class:`dlbook_lib.layers.Linear`) longer than ``c`` is rescaled to
    length c, the others are left alone.

    This is the closest point, row by row, that satisfies the constraint
    ||w_i|| <= c, the projection step of projected gradient descent;
    ``torch.renorm(weight, 2, 0, c)`` computes the same up to the 1e-7 it
    adds to the norm. Returns a new array
    (:doc:`/chapters/15_regularisation`).
    """
    w = as_float_array("weight", weight, ndim=2)
    c = check_float("c", c, minimum=0.0, strict_min=True)
    norms = np.linalg.norm(w, axis=1, keepdims=True)
    too_long = norms > c
    return w * np.where(too_long, c / np.where(too_long, norms, 1.0), 1.0)
