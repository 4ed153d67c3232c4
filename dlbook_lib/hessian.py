"""Hessians of network losses: full matrices for small models, matrix-free
tools for large ones.

Derived and checked in :doc:`/chapters/10_critical_points_hessian`. A network's
parameters are a list of tensors; the functions here treat them as one flat
vector theta of length n. The loss is given as a callable ``loss_fn()`` that
recomputes the scalar loss from the current parameters (a closure over the model
and the data), so the same function serves every method:

- :func:`hvp` computes the Hessian-vector product H v by differentiating the
  gradient twice (Pearlmutter's trick), at the cost of about two backward passes
  and without forming H;
- :func:`full_hessian` stacks n such products into the n x n matrix (small
  models only);
- :func:`power_iteration` and :func:`lanczos` find extreme eigenvalues from
  products alone, which is how the sharpness of a large network is measured in
  :doc:`/chapters/11_batch_size_momentum`.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from ._validate import check_float, check_int

LossFn = Callable[[], torch.Tensor]


def _as_list(params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    if isinstance(params, torch.Tensor):  # list() would split it into rows
        raise TypeError("params must be a list of tensors such as "
                        "list(model.parameters()), not one tensor")
    return list(params)


# ---------------------------------------------------------------- flat vectors
def num_params(params: Sequence[torch.Tensor]) -> int:
    """Total number of entries n of a list of parameter tensors."""
    return sum(p.numel() for p in params)


def flatten(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Flatten tensors of any shapes into one vector, in the order given."""
    return torch.cat([t.reshape(-1) for t in tensors])


def unflatten(vector: torch.Tensor,
              like: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Cut a flat vector into tensors shaped like ``like`` (the inverse of
    :func:`flatten`).
    """
    out, start = [], 0
    for t in like:
        out.append(vector[start:start + t.numel()].reshape(t.shape))
        start += t.numel()
    return out


# ------------------------------------------------------------------- H v and H
def hvp(loss_fn: LossFn, params: Sequence[torch.Tensor],
        v: torch.Tensor) -> torch.Tensor:
    """Hessian-vector product H v without forming H (double backpropagation).

    With g(theta) the gradient, H v is the gradient of the scalar g(theta)^T v,
    since d/dtheta_i (sum_j g_j v_j) = sum_j H_ij v_j. The first backward pass
    keeps its graph (create_graph=True) so that the second one can differentiate
    through it.
    """
    params = _as_list(params)
    v = v.to(dtype=params[0].dtype, device=params[0].device)
    grads = torch.autograd.grad(loss_fn(), params, create_graph=True,
                                allow_unused=True)
    g = flatten([torch.zeros_like(p) if gi is None else gi
                 for p, gi in zip(params, grads)])
    if not g.requires_grad:  # the loss is linear in the parameters: H = 0
        return torch.zeros_like(v)
    hv = torch.autograd.grad(g @ v, params, allow_unused=True)
    return flatten([torch.zeros_like(p) if h is None else h
                    for p, h in zip(params, hv)]).detach()


def full_hessian(loss_fn: LossFn,
                 params: Sequence[torch.Tensor]) -> torch.Tensor:
    """The n x n Hessian, column j being H e_j from :func:`hvp`.

    It takes n products, so it is for small n only.
    """
    params = _as_list(params)
    n = num_params(params)
    eye = torch.eye(n, dtype=params[0].dtype, device=params[0].device)
    H = torch.stack([hvp(loss_fn, params, eye[j]) for j in range(n)], dim=1)
    return (H + H.T) / 2  # symmetric up to round-off; make it exactly so


# ----------------------------------------------------------------- eigenvalues
def _start_vector(n: int, seed: int, like: torch.Tensor) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    v = torch.randn(n, generator=gen, dtype=torch.float64).to(
        dtype=like.dtype, device=like.device)
    return v / v.norm()


def power_iteration(loss_fn: LossFn, params: Sequence[torch.Tensor], *,
                    iters: int = 100, tol: float = 1e-6,
                    seed: int = 0) -> tuple[float, torch.Tensor]:
    """Dominant Hessian eigenvalue (largest in absolute value) and its unit
    eigenvector.

    Repeats v <- H v / norm(H v) from a random unit vector; the Rayleigh
    quotient v^T H v converges to the eigenvalue of largest absolute value
    at the rate (lambda_2 / lambda_1)^2 per product, where lambda_1 and
    lambda_2 are the eigenvalues of largest and second largest absolute value
    (H is symmetric). At a minimum all eigenvalues are >= 0, so this is the
    top eigenvalue, the usual measure of sharpness. Stops after ``iters``
    products or when the estimate changes by less than ``tol`` relative to
    its size.
    """
    params = _as_list(params)
    iters = check_int("iters", iters, minimum=1)
    tol = check_float("tol", tol, minimum=0.0)
    seed = check_int("seed", seed, minimum=0)
    v = _start_vector(num_params(params), seed, params[0])
    estimate = None
    for _ in range(iters):
        hv = hvp(loss_fn, params, v)
        new = float(v @ hv)  # Rayleigh quotient of the current unit vector
        norm = hv.norm()
        if norm == 0:
            return 0.0, v
        v = hv / norm
        if estimate is not None and abs(new - estimate) <= tol * abs(new):
            return new, v
        estimate = new
    return float(estimate), v


def lanczos(loss_fn: LossFn, params: Sequence[torch.Tensor], k: int, *,
            seed: int = 0) -> np.ndarray:
    """Ritz values (ascending) of the Hessian after ``k`` Lanczos steps,
    from k products H v.

    Builds an orthonormal basis q_1, ..., q_k of the Krylov space
    span(v, Hv, ..., H^(k-1) v) and the tridiagonal matrix T = Q^T H Q (alpha_j
    on the diagonal, beta_j beside it). The eigenvalues of T (the Ritz values)
    approximate the extreme eigenvalues of H first, and are exact when k = n.
    Every new vector is re-orthogonalised against all earlier ones, which keeps
    the basis orthonormal in floating point (plain Lanczos loses orthogonality
    and produces spurious copies of converged eigenvalues).
    """
    params = _as_list(params)
    n = num_params(params)
    k = check_int("k", k, minimum=1)
    if k > n:
        raise ValueError(f"k must be <= the number of parameters {n}, got {k}")
    seed = check_int("seed", seed, minimum=0)
    q = _start_vector(n, seed, params[0])
    basis, alphas, betas = [q], [], []
    for j in range(k):
        w = hvp(loss_fn, params, basis[j])
        alphas.append(float(basis[j] @ w))
        Q = torch.stack(basis, dim=1)
        for _ in range(2):  # full re-orthogonalisation, twice is enough
            w = w - Q @ (Q.T @ w)
        beta = float(w.norm())
        # last step, or the Krylov space is exhausted
        if j == k - 1 or beta < 1e-10 * max(1.0, abs(alphas[-1])):
            break
        betas.append(beta)
        basis.append(w / beta)
    m = len(alphas)
    T = np.diag(alphas) + np.diag(betas[:m - 1], 1) + np.diag(betas[:m - 1], -1)
    return np.linalg.eigvalsh(T)


def classify_critical_point(eigenvalues, *, tol: float = 1e-8) -> str:
    """Name a critical point from Hessian eigenvalues (second-derivative test).

    Eigenvalues with absolute value at most ``tol`` times the largest absolute
    value count as zero. All positive: "minimum"; all negative: "maximum"; both
    signs: "saddle" (whatever the zeros); otherwise some are zero and the rest
    share a sign, and the second-order expansion cannot decide: "inconclusive".
    """
    lam = np.asarray(eigenvalues, dtype=float)
    tol = check_float("tol", tol, minimum=0.0)
    scale = float(np.abs(lam).max())
    if scale == 0.0:
        return "inconclusive"
    pos, neg = lam > tol * scale, lam < -tol * scale
    if pos.any() and neg.any():
        return "saddle"
    if pos.all():
        return "minimum"
    if neg.all():
        return "maximum"
    return "inconclusive"
