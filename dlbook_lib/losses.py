"""Loss functions and their gradients, written from scratch in NumPy.

Chapter :doc:`/chapters/01_learning_is_fitting` defines the mean absolute and
mean squared errors and checks them against ``torch.nn.functional.l1_loss`` and
``mse_loss``. Chapter :doc:`/chapters/07_loss_functions` derives every loss here
together with its gradient, the stable log-sum-exp and softmax, and checks them
against autograd, finite differences and the ``torch.nn.functional`` twins.

Conventions: every loss is the *mean* over all entries (PyTorch's default
``reduction="mean"``); every ``*_grad`` function returns the gradient of that
mean with respect to the first argument (predictions, scores or logits), with
the same shape. At a kink (MAE at a zero residual, the hinge at margin
exactly 1) the gradient functions return the subgradient PyTorch's autograd
returns, so the two agree everywhere.
"""
from __future__ import annotations

import numpy as np

from .activations import sigmoid


# ----------------------------------------------------------------- conversions
# Lists, scalars and tensors become float arrays. Two mistakes give a wrong
# loss silently, so they are refused: predictions of shape (N, 1) against
# targets of shape (N,) (broadcast to (N, N)) and 0/1 labels for the hinge.
def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"predictions of shape {a.shape} and targets of "
                         f"shape {b.shape}: the shapes must be equal")
    return a, b


def _pm1_labels(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    s, y = _pair(scores, labels)
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("labels of the binary hinge loss must be -1 or +1, "
                         f"got values {np.unique(y)[:5].tolist()}; "
                         "map 0/1 labels with y = 2 * label - 1")
    return s, y


def _logits_and_labels(logits, labels) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(logits, dtype=float), np.asarray(labels)


# ------------------------------------------------------------------ regression
def mae(prediction, target) -> float:
    """Mean absolute error ``(1/N) sum_n abs(y_n - yhat_n)``."""
    p, t = _pair(prediction, target)
    return float(np.mean(np.abs(t - p)))


def mae_grad(prediction, target) -> np.ndarray:
    """Gradient of :func:`mae` with respect to the predictions:
    sign(yhat_n - y_n) / N.

    At a zero residual the loss has a kink; the value returned there is 0, the
    subgradient that PyTorch's autograd also uses.
    """
    p, t = _pair(prediction, target)
    return np.sign(p - t) / p.size


def mse(prediction, target) -> float:
    """Mean squared error (1/N) sum_n (y_n - yhat_n)^2."""
    p, t = _pair(prediction, target)
    return float(np.mean((t - p) ** 2))


def mse_grad(prediction, target) -> np.ndarray:
    """Gradient of :func:`mse` with respect to the predictions:
    2 (yhat_n - y_n) / N.
    """
    p, t = _pair(prediction, target)
    return 2.0 * (p - t) / p.size


def huber(prediction, target, delta: float = 1.0) -> float:
    """Mean Huber loss with threshold delta > 0, in the convention of
    ``torch.nn.functional.huber_loss``.

    For a residual r = yhat - y the loss is r^2 / 2 where abs(r) <= delta and
    delta * (abs(r) - delta / 2) beyond: quadratic near 0, linear in the tails,
    and continuous with a continuous first derivative at abs(r) = delta.
    ``smooth_l1_loss`` with beta = delta is this loss divided by delta.
    """
    p, t = _pair(prediction, target)
    a = np.abs(p - t)
    return float(np.mean(np.where(a <= delta, 0.5 * a**2,
                                  delta * (a - 0.5 * delta))))


def huber_grad(prediction, target, delta: float = 1.0) -> np.ndarray:
    """Gradient of :func:`huber` with respect to the predictions:
    clip(yhat - y, -delta, delta) / N.
    """
    p, t = _pair(prediction, target)
    return np.clip(p - t, -delta, delta) / p.size


# --------------------------------------------------------------------- margins
def hinge(scores, labels) -> float:
    """Mean binary hinge loss (1/N) sum_n max(0, 1 - y_n s_n) for scores s
    and labels y in {-1, +1}.

    The product y_n s_n is the margin: positive when the sign of the score is
    right, and the loss is zero once it reaches 1.
    """
    s, y = _pm1_labels(scores, labels)
    return float(np.mean(np.maximum(0.0, 1.0 - y * s)))


def hinge_grad(scores, labels) -> np.ndarray:
    """Gradient of :func:`hinge` with respect to the scores:
    -y_n / N where y_n s_n < 1, else 0.
    """
    s, y = _pm1_labels(scores, labels)
    return np.where(y * s < 1.0, -y, 0.0) / s.size


def _margin_terms(z: np.ndarray, y: np.ndarray, margin: float) -> np.ndarray:
    """Matrix of margin - z_y + z_j for j != y
    (and 0 in the column of the true class).
    """
    rows = np.arange(len(y))
    terms = margin - z[rows, y][:, None] + z
    terms[rows, y] = 0.0
    return terms


def multiclass_hinge(logits, labels, margin: float = 1.0,
                     kind: str = "weston_watkins") -> float:
    """Mean multiclass hinge loss of scores (N, C) against integer labels (N,).

    ``kind="weston_watkins"`` sums the violated margins over the wrong classes
    and divides by C, (1/C) sum_{j != y} max(0, margin - z_y + z_j), which is
    what ``torch.nn.functional.multi_margin_loss`` (p=1) computes.
    ``kind="crammer_singer"`` keeps only the worst wrong class,
    max(0, margin - z_y + max_{j != y} z_j).
    """
    z, y = _logits_and_labels(logits, labels)
    terms = np.maximum(0.0, _margin_terms(z, y, margin))
    if kind == "weston_watkins":
        return float(np.mean(terms.sum(axis=1) / z.shape[1]))
    if kind == "crammer_singer":
        return float(np.mean(terms.max(axis=1)))
    raise ValueError(f"kind must be 'weston_watkins' or 'crammer_singer', "
                     f"got {kind!r}")


def multiclass_hinge_grad(logits, labels, margin: float = 1.0,
                          kind: str = "weston_watkins") -> np.ndarray:
    """Gradient of :func:`multiclass_hinge` w.r.t. the scores, shape (N, C).

    Weston-Watkins: each violated wrong class j gets +1/(C N), the true class
    gets minus the number of violations over (C N). Crammer-Singer: if the worst
    wrong class violates the margin, +1/N at that class and -1/N at the true
    class.
    """
    z, y = _logits_and_labels(logits, labels)
    n, c = z.shape
    rows = np.arange(n)
    terms = _margin_terms(z, y, margin)
    terms[rows, y] = -np.inf  # the true class never counts as a violation
    if kind == "weston_watkins":
        g = (terms > 0).astype(float) / c
    elif kind == "crammer_singer":
        worst = terms.argmax(axis=1)
        g = np.zeros_like(z)
        g[rows, worst] = (terms[rows, worst] > 0).astype(float)
    else:
        raise ValueError(f"kind must be 'weston_watkins' or 'crammer_singer', "
                         f"got {kind!r}")
    g[rows, y] = -g.sum(axis=1)
    return g / n


# ----------------------------------------------------- log-sum-exp and softmax
def logsumexp(z, axis: int = -1) -> np.ndarray:
    """log sum_k exp(z_k) along ``axis``, computed as
    m + log sum_k exp(z_k - m) with m = max z.

    After the shift the largest exponent is exp(0) = 1, so nothing overflows,
    and the sum lies in [1, K], so the logarithm never sees 0. Exact for any
    finite z, however extreme.
    """
    z = np.asarray(z, dtype=float)
    m = z.max(axis=axis, keepdims=True)
    return np.squeeze(m + np.log(np.exp(z - m).sum(axis=axis, keepdims=True)),
                      axis=axis)


def softmax(z, axis: int = -1) -> np.ndarray:
    """Softmax exp(z_j) / sum_k exp(z_k) over ``axis``, stable for any finite z.

    Uses softmax(z) = softmax(z - max z): the shift cancels between numerator
    and denominator, and afterwards every exponent is at most 0.
    """
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z, axis: int = -1) -> np.ndarray:
    """log softmax(z) = z - logsumexp(z) along ``axis``; finite where
    log(softmax(z)) gives -inf.

    Evaluated as (z - m) - log sum_k exp(z_k - m) with m = max z, which avoids
    the cancellation of two large numbers in z - logsumexp(z) when the logits
    are large.
    """
    z = np.asarray(z, dtype=float)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# --------------------------------------------------------------- cross-entropy
def binary_cross_entropy_with_logits(logits, targets) -> float:
    """Mean binary cross-entropy of q = sigmoid(z) against y in [0, 1],
    computed from logits z.

    -(y log q + (1 - y) log(1 - q)) equals softplus(z) - y z, evaluated as
    max(z, 0) - y z + log(1 + exp(-abs(z))), which is finite for every finite z.
    Matches ``torch.nn.functional.binary_cross_entropy_with_logits``.
    """
    z, y = _pair(logits, targets)
    return float(np.mean(np.maximum(z, 0.0) - y * z
                         + np.log1p(np.exp(-np.abs(z)))))


def binary_cross_entropy_with_logits_grad(logits, targets) -> np.ndarray:
    """Gradient of :func:`binary_cross_entropy_with_logits` w.r.t. the logits:
    (sigmoid(z) - y) / N.
    """
    z, y = _pair(logits, targets)
    return (sigmoid(z) - y) / z.size


def cross_entropy(logits, labels) -> float:
    """Mean categorical cross-entropy of logits (N, C) for integer labels (N,).

    -log softmax(z_n)[y_n] = logsumexp(z_n) - z_n[y_n], averaged over the batch:
    the negative log-likelihood of a categorical distribution with probabilities
    softmax(z_n). It is evaluated with :func:`log_softmax`, so it is finite for
    any finite logits. Takes *logits*, like
    ``torch.nn.functional.cross_entropy``; never pass it probabilities.
    """
    z, y = _logits_and_labels(logits, labels)
    return float(np.mean(-log_softmax(z, axis=1)[np.arange(len(y)), y]))


def cross_entropy_grad(logits, labels) -> np.ndarray:
    """Gradient of :func:`cross_entropy` with respect to the logits:
    (softmax(z_n) - onehot(y_n)) / N.
    """
    z, y = _logits_and_labels(logits, labels)
    g = softmax(z, axis=1)
    g[np.arange(len(y)), y] -= 1.0
    return g / len(y)


def one_hot(labels, num_classes: int) -> np.ndarray:
    """One-hot matrix of shape (N, num_classes) (float64) for integer labels
    of shape (N,).
    """
    y = np.asarray(labels)
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), y] = 1.0
    return out


# --------------------------------------------------- Gaussian likelihood
def gaussian_nll(mean, var, target, *, eps: float = 1e-6,
                 full: bool = False) -> float:
    """Mean negative log-likelihood of targets y under N(mean, var), with
    one mean and one variance per entry (heteroscedastic regression).

    -log N(y; mu, v) = (log v + (y - mu)^2 / v) / 2 + log(2 pi) / 2; the
    constant is added only with ``full=True``. As in
    ``torch.nn.GaussianNLLLoss``, variances below ``eps`` are raised to
    ``eps``. Derived in :doc:`/chapters/07_loss_functions`.
    """
    m, y = _pair(mean, target)
    v = np.maximum(np.asarray(var, dtype=float), eps)
    nll = 0.5 * (np.log(v) + (y - m) ** 2 / v)
    if full:
        nll = nll + 0.5 * np.log(2 * np.pi)
    return float(np.mean(nll))


def gaussian_nll_grad(mean, var, target, *,
                      eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of :func:`gaussian_nll` with respect to the means and the
    variances: (mu - y) / (v N) and (1 - (y - mu)^2 / v) / (2 v N), with
    v = max(var, eps).

    The variance gradient vanishes at v = (y - mu)^2. Like PyTorch, which
    clamps a copy of the variances without recording it for autograd, the
    clamp is invisible to the gradient: below ``eps`` it is the gradient at
    v = eps.
    """
    m, y = _pair(mean, target)
    v = np.maximum(np.asarray(var, dtype=float), eps)
    r = m - y
    return r / v / m.size, 0.5 * (1.0 - r * r / v) / v / m.size
