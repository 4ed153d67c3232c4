"""Linear classifiers: the logistic neuron, the perceptron, a training helper.

Everything here is derived and checked in
:doc:`/chapters/03_classifiers_softmax_neuron`. The scores of a linear
classifier are turned into probabilities by the sigmoid
(:mod:`dlbook_lib.activations`) or the softmax and scored by the cross-entropy
(:mod:`dlbook_lib.losses`); this module adds the logistic neuron's loss and
gradient (y_hat - y) x, the perceptron, and PyTorch helpers that train real
models on real data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from . import losses
from ._validate import (as_float_array, check_float, check_int, check_labels,
                        check_same_length)
from .activations import sigmoid
from .data import Split


# ------------------------------------------------------------------ validation
def _binary_targets(name: str, value: Any) -> np.ndarray:
    arr = as_float_array(name, value, ndim=1)
    if np.any((arr < 0) | (arr > 1)):
        raise ValueError(f"{name} must lie in [0, 1] "
                         "(binary targets or probabilities)")
    return arr


# ---------------------------------------------------------------------- labels
def one_hot(labels: Any, num_classes: int) -> np.ndarray:
    """One-hot matrix of shape (N, num_classes) (float64) for integer labels
    of shape (N,).
    """
    num_classes = check_int("num_classes", num_classes, minimum=1)
    y = check_labels("labels", labels, num_classes=num_classes)
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), y] = 1.0
    return out


# --------------------------------------------------------- the logistic neuron
def _neuron_inputs(
    w: Any, b: Any, x: Any, y: Any,
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    x = as_float_array("x", x, ndim=2)
    w = as_float_array("w", w, ndim=1)
    if w.shape[0] != x.shape[1]:
        raise ValueError(f"w has {w.shape[0]} entries but x has "
                         f"{x.shape[1]} features")
    b = check_float("b", b)
    y = _binary_targets("y", y)
    check_same_length(x=x, y=y)
    return w, b, x, y


def logistic_loss(w: Any, b: float, x: Any, y: Any) -> float:
    """Mean binary cross-entropy J(w, b) of the logistic neuron
    y_hat = sigmoid(x w + b).

    ``x`` has shape (N, D), ``w`` shape (D,), ``y`` shape (N,) with entries in
    [0, 1].
    """
    w, b, x, y = _neuron_inputs(w, b, x, y)
    return losses.binary_cross_entropy_with_logits(x @ w + b, y)


def logistic_grad(w: Any, b: float, x: Any, y: Any) -> tuple[np.ndarray, float]:
    """Gradient of :func:`logistic_loss`:
    dJ/dw = (1/N) x^T (y_hat - y), dJ/db = mean(y_hat - y).

    For one example (N = 1) this is the familiar (y_hat - y) x and (y_hat - y).
    """
    w, b, x, y = _neuron_inputs(w, b, x, y)
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


def perceptron_predict(w: Any, b: float, x: Any) -> np.ndarray:
    """Heaviside output of the perceptron: 1 where x w + b > 0, else 0
    (int64, shape (N,)).
    """
    x = as_float_array("x", x, ndim=2)
    w = as_float_array("w", w, ndim=1)
    if w.shape[0] != x.shape[1]:
        raise ValueError(f"w has {w.shape[0]} entries but x has "
                         f"{x.shape[1]} features")
    b = check_float("b", b)
    return (x @ w + b > 0).astype(np.int64)


def perceptron_train(x: Any, y: Any, *, max_epochs: int = 100, lr: float = 1.0,
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
    seed = check_int("seed", seed, minimum=0)
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


# -------------------------------------------------------------- PyTorch models
def accuracy(scores: Any, labels: Any) -> float:
    """Fraction of correct predictions.

    ``scores`` is either a matrix (N, C) of logits or probabilities, whose
    row-wise argmax is the prediction, or a vector (N,) of predicted class
    labels.
    """
    s = as_float_array("scores", scores, ndim=(1, 2))
    y = check_labels("labels", labels)
    check_same_length(scores=s, labels=y)
    pred = s.argmax(axis=1) if s.ndim == 2 else s
    return float(np.mean(pred == y))


def make_mlp(sizes: Sequence[int], *, activation: str = "relu", seed: int = 0):
    """A multilayer perceptron: Linear layers of the given sizes with an
    activation in between.

    ``make_mlp([40, 100, 10])`` is Linear(40, 100), ReLU, Linear(100, 10): the
    output layer has no activation, because it returns logits for
    ``torch.nn.functional.cross_entropy``. With two sizes it is a linear
    classifier (softmax regression). ``activation`` is ``"relu"``, ``"sigmoid"``
    or ``"tanh"``. The weights get PyTorch's default initialisation, drawn with
    the global torch generator temporarily seeded with ``seed``; its previous
    state is restored afterwards, so building a model does not change later
    random numbers.
    """
    import torch
    from torch import nn

    sizes = [check_int(f"sizes[{i}]", s, minimum=1)
             for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output size, "
                         f"got {sizes}")
    acts = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
    if activation not in acts:
        raise ValueError(f"activation must be one of {sorted(acts)}, "
                         f"got {activation!r}")
    seed = check_int("seed", seed, minimum=0)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers.append(acts[activation]())
        return nn.Sequential(*layers)
    finally:
        torch.random.set_rng_state(state)


@dataclass
class TrainResult:
    """Outcome of :func:`train_classifier`: accuracies of the selected model,
    and its history.

    ``best_epoch`` is the epoch (1-based) with the highest validation accuracy,
    whose weights the model holds at the end; ``val_curve`` and ``train_loss``
    have one entry per epoch.
    """

    train_acc: float
    val_acc: float
    test_acc: float
    best_epoch: int
    val_curve: list[float]
    train_loss: list[float]

    def __repr__(self) -> str:
        return (f"TrainResult(train_acc={self.train_acc:.3f}, "
                f"val_acc={self.val_acc:.3f}, "
                f"test_acc={self.test_acc:.3f}, best_epoch={self.best_epoch})")


def train_classifier(model, split: Split, *, epochs: int, lr: float,
                     batch_size: int, seed: int = 0,
                     weight_decay: float = 0.0) -> TrainResult:
    """Train ``model`` (logits out) with Adam on the mean cross-entropy and
    keep the weights of its best epoch on the validation set.

    The loop is :func:`dlbook_lib.train.fit`: each epoch's batches come from
    a permutation drawn from a generator seeded with ``seed``, and after every
    epoch the validation accuracy is measured. Early stopping is chosen on
    the validation set, never on the test set; the train, validation and
    test accuracies of the kept weights are returned.
    """
    import torch

    from .train import accuracy, fit

    if not isinstance(split, Split):
        raise TypeError(f"split must be a dlbook_lib.data.Split, "
                        f"got {type(split).__name__}")
    lr = check_float("lr", lr, minimum=0.0, strict_min=True)
    weight_decay = check_float("weight_decay", weight_decay, minimum=0.0)
    hist = fit(model, split.x_train, split.y_train, epochs=epochs,
               batch_size=batch_size, seed=seed, restore_best=True,
               optimizer=lambda ps: torch.optim.Adam(
                   ps, lr=lr, weight_decay=weight_decay),
               val=(split.x_val, split.y_val))
    dev = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        acc = [accuracy(model(torch.as_tensor(x, dtype=torch.float32,
                                              device=dev)),
                        torch.as_tensor(y, device=dev))
               for x, y in ((split.x_train, split.y_train),
                            (split.x_val, split.y_val),
                            (split.x_test, split.y_test))]
    return TrainResult(*acc, hist.best_epoch, hist.val_score,
                       hist.train_loss)
