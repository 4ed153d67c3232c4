"""Finite differences: the independent reference for every derivative in the
book.

Introduced in :doc:`/chapters/01_learning_is_fitting` and
:doc:`/chapters/04_chain_rule`:

- :func:`numerical_gradient` perturbs one coordinate at a time (centred or
  forward differences) for a scalar function;
- :func:`numerical_jacobian` builds a Jacobian column by column, one column per
  input coordinate (the finite-difference analogue of forward mode);
- :func:`numerical_vjp` computes a vector-Jacobian product ``v^T J`` as the
  gradient of the scalar ``v . f(x)`` (the analogue of reverse mode).

Gradient *checking*, which judges an analytic gradient by these numbers, is
:mod:`dlbook_lib.gradcheck`.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._validate import as_float_array, check_float


def numerical_gradient(f: Callable[[np.ndarray], float], x: Any, *,
                       eps: float = 1e-6,
                       method: str = "central") -> np.ndarray:
    """Finite-difference gradient of scalar ``f`` at ``x`` (any shape, float64).

    ``method="central"`` uses (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), error
    O(eps^2); ``method="forward"`` uses (f(x + eps e_i) - f(x)) / eps, error
    O(eps). ``x`` is not modified.
    """
    eps = check_float("eps", eps, minimum=0.0, strict_min=True)
    if method not in ("central", "forward"):
        raise ValueError(f"method must be 'central' or 'forward', not {method}")
    x = as_float_array("x", x).copy()
    grad = np.empty_like(x)
    fx = None if method == "central" else _scalar(f, x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        f_plus = _scalar(f, x)
        if method == "central":
            x[idx] = old - eps
            f_minus = _scalar(f, x)
            grad[idx] = (f_plus - f_minus) / (2 * eps)
        else:
            grad[idx] = (f_plus - fx) / eps
        x[idx] = old
    return grad


def _evaluate(f: Callable[[np.ndarray], Any], x: np.ndarray) -> np.ndarray:
    """``f`` on a copy of ``x``, as a float64 array (``f`` may return torch)."""
    out = f(x.copy())
    return np.asarray(out.detach().cpu() if hasattr(out, "detach") else out,
                      dtype=float)


def _scalar(f: Callable[[np.ndarray], Any], x: np.ndarray) -> float:
    out = _evaluate(f, x)
    if out.size != 1:
        raise ValueError(f"f must return a scalar, got shape {out.shape}")
    return float(out.reshape(()))


def numerical_jacobian(f: Callable[[np.ndarray], Any], x: Any, *,
                       eps: float = 1e-6) -> np.ndarray:
    """Jacobian of ``f`` at ``x`` by centred finite differences, in float64.

    ``f`` maps an array of the shape of ``x`` to an array (or a scalar); NumPy
    arrays, torch tensors and Python numbers are all accepted as its output. The
    result has shape ``f(x).shape + x.shape``, the convention of
    ``torch.autograd.functional.jacobian``: for ``f`` from R^n to R^m it is the
    m x n matrix with entries ``J[i, j] = d f_i / d x_j``; a scalar input or
    output contributes no axis.

    Column ``j`` is the directional derivative along the unit vector ``e_j``,
    ``(f(x + eps e_j) - f(x - eps e_j)) / (2 eps)``, with error O(eps^2) plus
    round-off of order machine epsilon / eps, so the whole Jacobian costs
    ``2 * x.size`` evaluations of ``f``. (Calling
    :func:`numerical_gradient` once per output would give the
    rows instead, at ``f(x).size`` times the cost.) ``x`` is not modified. See
    :doc:`/chapters/04_chain_rule`.
    """
    eps = check_float("eps", eps, minimum=0.0, strict_min=True)
    x = as_float_array("x", x)
    jac = np.empty(_evaluate(f, x).shape + x.shape)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = eps
        f_plus, f_minus = _evaluate(f, x + step), _evaluate(f, x - step)
        jac[(Ellipsis,) + idx] = (f_plus - f_minus) / (2 * eps)
    return jac


def numerical_vjp(f: Callable[[np.ndarray], Any], x: Any, v: Any, *,
                  eps: float = 1e-6) -> np.ndarray:
    """Vector-Jacobian product ``v^T J_f(x)`` by centred finite differences,
    in float64.

    ``v`` must have the shape of ``f(x)``; the result has the shape of ``x``. It
    is the gradient of the scalar function ``u -> sum(v * f(u))`` at ``x``,
    computed with :func:`numerical_gradient`, which is what
    reverse-mode differentiation returns when its backward pass is seeded with
    ``v`` instead of 1. See :doc:`/chapters/04_chain_rule`.
    """
    eps = check_float("eps", eps, minimum=0.0, strict_min=True)
    x = as_float_array("x", x)
    v = as_float_array("v", v)
    if v.shape != _evaluate(f, x).shape:
        raise ValueError(f"v must have the shape of f(x), got {v.shape}")
    return numerical_gradient(lambda u: float(np.sum(v * _evaluate(f, u))),
                              x, eps=eps)
