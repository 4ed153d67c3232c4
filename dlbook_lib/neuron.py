"""The single neuron as a linear classifier: the logistic neuron and the
perceptron.

Derived and checked in :doc:`/chapters/03_classifiers_softmax_neuron`. The
scores of a linear classifier are turned into probabilities by the sigmoid
(:mod:`dlbook_lib.activations`) or the softmax and scored by the
cross-entropy (:mod:`dlbook_lib.losses`); this module adds the logistic
neuron's loss and gradient (y_hat - y) x and the perceptron. Training torch
models is :mod:`dlbook_lib.train`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np

from . import losses
from ._validate import (as_float_array, check_float, check_int, check_labels,
                        check_same_length)
from .activations import sigmoid


def logistic_loss(w, b: float, x, y) -> float:
    """Mean binary cross-entropy J(w, b) of the logistic neuron
    y_hat = sigmoid(x w + b).

    ``x`` has shape (N, D), ``w`` shape (D,), ``y`` shape (N,) with entries in
    [0, 1].
    """
    return losses.binary_cross_entropy_with_logits(x @ w + b, y)


def logistic_grad(w, b: float, x, y) -> tuple[np.ndarray, float]:
    """Gradient of :func:`logistic_loss`:
    dJ/dw = (1/N) x^T (y_hat - y), dJ/db = mean(y_hat - y).

    For one example (N = 1) this is the familiar (y_hat - y) x and (y_hat - y).
    """
    err = sigmoid(x @ w + b) - y  # dJ/dz per example, from the chain rule
    return x.T @ err / len(y), float(err.mean())


# -------------------------------------------------------------- the perceptron
@dataclass
class PerceptronResult:
    """Outcome of :func:`perceptron_train`.

    ``w`` and ``b`` are the final weights and bias, ``mistakes`` the total
    number of updates, ``errors_per_epoch`` the number of misclassified examples
    met during each epoch, and ``converged`` whether an epoch passed without a
    single mistake.
    """

    w: np.ndarray
    b: float
    mistakes: int
    epochs: int
    converged: bool
    errors_per_epoch: list[int] = field(default_factory=list)

    def __repr__(self) -> str:
        return (f"PerceptronResult(mistakes={self.mistakes}, "
                f"epochs={self.epochs}, converged={self.converged})")


def perceptron_predict(w, b: float, x) -> np.ndarray:
    """Heaviside output of the perceptron: 1 where x w + b > 0, else 0
    (int64, shape (N,)).
    """
    return (x @ w + b > 0).astype(np.int64)


def perceptron_train(x, y, *, max_epochs: int = 100, lr: float = 1.0,
                     seed: int = 0) -> PerceptronResult:
    """Rosenblatt's perceptron learning rule, one example at a time, from w = 0
    and b = 0.

    For each example (in an order shuffled by ``seed`` every epoch) the
    prediction y_hat = step(w^T x + b) is compared with the label y in {0, 1};
    on a mistake w <- w + lr (y - y_hat) x and b <- b + lr (y - y_hat). Training
    stops after the first epoch without mistakes, or after ``max_epochs``.
    """
    x = as_float_array("x", x, ndim=2)
    y = check_labels("y", y, num_classes=2)
    check_same_length(x=x, y=y)
    max_epochs = check_int("max_epochs", max_epochs, minimum=1)
    lr = check_float("lr", lr, minimum=0.0, strict_min=True)
    rng = np.random.default_rng(seed)
    w, b = np.zeros(x.shape[1]), 0.0
    mistakes, errors = 0, []
    for _ in range(max_epochs):
        errors_this_epoch = 0
        for n in rng.permutation(len(y)):
            y_hat = 1 if x[n] @ w + b > 0 else 0
            if y_hat != y[n]:
                w = w + lr * (y[n] - y_hat) * x[n]
                b = b + lr * (y[n] - y_hat)
                errors_this_epoch += 1
        mistakes += errors_this_epoch
        errors.append(errors_this_epoch)
        if errors_this_epoch == 0:
            break
    return PerceptronResult(w, float(b), mistakes, len(errors),
                            errors[-1] == 0, errors)
