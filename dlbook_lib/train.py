"""One training loop for every chapter that trains a torch model.

:func:`fit` runs mini-batch training with one batching convention: each epoch
draws a permutation of the training examples from a ``torch.Generator``
seeded with ``seed`` and cuts it into consecutive batches of ``batch_size``
(the last one may be smaller), so a run gives the same numbers every time.
It records per-epoch curves and, given validation data, can keep the weights
of the best epoch and stop early when the validation score has not improved
for ``patience`` epochs.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from . import activations
from ._validate import check_float, check_int
from .data import Split


@dataclass
class History:
    """Per-epoch curves of a :func:`fit` run.

    ``train_loss[e]`` is the mean training loss over the batches of epoch
    e + 1 (weighted by batch size); ``val_loss`` and ``val_score`` are
    measured after each epoch when validation data is given. ``best_epoch``
    (1-based) is the epoch whose weights the model holds at the end when
    ``restore_best`` is on; ``stopped_epoch`` is the last epoch run and
    ``steps`` the number of optimiser steps taken.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_score: list[float] = field(default_factory=list)
    best_epoch: int = 0
    stopped_epoch: int = 0
    steps: int = 0


def accuracy(logits, labels) -> float:
    """Fraction of rows whose largest logit is at the label (higher is
    better; the default validation score of :func:`fit`)."""
    return float((logits.argmax(dim=1) == labels).float().mean().item())


def _tensor(value: Any, dtype, device):
    import torch

    if isinstance(value, torch.Tensor):
        return value.to(device=device, dtype=dtype)
    return torch.as_tensor(np.asarray(value), dtype=dtype, device=device)


def fit(model, x, y, *, optimizer: Callable, epochs: int, batch_size: int,
        loss: Callable | None = None, val: tuple | None = None,
        score: Callable = accuracy, restore_best: bool = False,
        patience: int | None = None, scheduler: Callable | None = None,
        on_epoch: Callable | None = None, seed: int = 0,
        y_dtype=None, drop_last: bool = False,
        before_step: Callable | None = None,
        on_step: Callable | None = None) -> History:
    """Train ``model`` on (x, y) for up to ``epochs`` epochs.

    * ``optimizer`` builds the optimiser from the parameters, e.g.
      ``lambda ps: torch.optim.Adam(ps, lr=1e-3)``; ``scheduler`` (optional)
      builds a learning-rate scheduler from the optimiser, stepped once per
      epoch;
    * ``loss(output, target)`` defaults to the mean cross-entropy of logits;
      ``y_dtype`` defaults to int64 labels for it and otherwise to the
      floating dtype of the model's parameters, which the inputs also get
      (float32, or float64 for a model converted with ``.double()``);
    * ``val = (x_val, y_val)`` adds validation curves; ``score`` (higher is
      better) selects the best epoch, whose weights the model gets back with
      ``restore_best=True``; ``patience=k`` stops after k epochs without a
      better score;
    * ``on_epoch(model, epoch)`` (optional) is called after every epoch, for
      measurements the curves do not cover, and stops training after that
      epoch (its validation included) when it returns ``True``;
    * ``drop_last=True`` skips the last, smaller batch of each epoch;
    * ``before_step(model)`` runs between ``backward`` and the optimiser step
      (gradient clipping, gradient statistics); ``on_step(model, step,
      loss)`` runs after every step (``step`` counts from 1) and stops
      training when it returns ``True``.
    """
    import torch
    import torch.nn.functional as F

    from .config import device as default_device

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, "
                        f"got {type(model).__name__}")
    if not callable(optimizer):
        raise TypeError("optimizer must be a function of the parameters, "
                        "e.g. lambda ps: torch.optim.SGD(ps, lr=0.1)")
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    if patience is not None:
        patience = check_int("patience", patience, minimum=1)
    if (restore_best or patience) and val is None:
        raise ValueError("restore_best and patience need validation data val")
    loss = F.cross_entropy if loss is None else loss
    x_dtype = next((p.dtype for p in model.parameters()
                    if p.is_floating_point()), torch.float32)
    if y_dtype is None:
        y_dtype = torch.int64 if loss is F.cross_entropy else x_dtype
    dev = default_device()
    model.to(dev)
    x = _tensor(x, x_dtype, dev)
    y = _tensor(y, y_dtype, dev)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}")
    if val is not None:
        x_val = _tensor(val[0], x_dtype, dev)
        y_val = _tensor(val[1], y_dtype, dev)

    opt = optimizer(model.parameters())
    sched = scheduler(opt) if scheduler is not None else None
    gen = torch.Generator().manual_seed(seed)
    hist = History()
    best, best_state, waited, step, stop = -float("inf"), None, 0, 0, False
    end = len(x) - len(x) % batch_size if drop_last else len(x)
    if end == 0:
        raise ValueError(f"drop_last with batch_size {batch_size} leaves no "
                         f"batch of {len(x)} examples")
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(x), generator=gen).to(dev)
        total = 0.0
        for start in range(0, end, batch_size):
            idx = order[start:start + batch_size]
            batch_loss = loss(model(x[idx]), y[idx])
            opt.zero_grad()
            batch_loss.backward()
            if before_step is not None:
                before_step(model)
            opt.step()
            step += 1
            total += batch_loss.item() * len(idx)
            if on_step is not None and on_step(model, step, batch_loss.item()):
                stop = True
                break
        hist.train_loss.append(total / min(end, start + len(idx)))
        hist.stopped_epoch = epoch
        hist.steps = step
        if sched is not None:
            sched.step()
        if on_epoch is not None and on_epoch(model, epoch):
            stop = True
        if val is None:
            if stop:
                break
            continue
        model.eval()
        with torch.no_grad():
            out = model(x_val)
            hist.val_loss.append(float(loss(out, y_val).item()))
            hist.val_score.append(float(score(out, y_val)))
        if hist.val_score[-1] > best:
            best, hist.best_epoch, waited = hist.val_score[-1], epoch, 0
            if restore_best:
                best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if patience is not None and waited >= patience:
                break
        if stop:
            break
    if restore_best:
        model.load_state_dict(best_state)
    return hist


def make_mlp(sizes: Sequence[int], *, activation: str = "relu", seed: int = 0,
             batch_norm: bool = False, dropout: float = 0.0):
    """A multilayer perceptron: Linear layers of the given sizes with an
    activation in between.

    ``make_mlp([40, 100, 10])`` is Linear(40, 100), ReLU, Linear(100, 10): the
    output layer has no activation, because it returns logits for
    ``torch.nn.functional.cross_entropy``. With two sizes it is a linear
    classifier (softmax regression). ``activation`` is a name of
    :data:`dlbook_lib.activations.ACTIVATIONS`. The weights get PyTorch's
    default initialisation, drawn with the global torch generator
    temporarily seeded with ``seed``; its previous
    state is restored afterwards, so building a model does not change later
    random numbers. ``batch_norm=True`` puts a ``torch.nn.BatchNorm1d`` after
    every hidden Linear layer, before its activation (the placement of
    :doc:`/chapters/09_normalisation`); ``dropout=p > 0`` puts a
    ``torch.nn.Dropout(p)`` after every hidden activation
    (:doc:`/chapters/15_regularisation`). Neither draws random numbers, so
    the Linear weights are the same with and without them.
    """
    import torch
    from torch import nn

    sizes = [check_int(f"sizes[{i}]", s, minimum=1)
             for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes needs input and output sizes, got {sizes}")
    activations.get(activation)  # fail early on an unknown name
    seed = check_int("seed", seed, minimum=0)
    dropout = check_float("dropout", dropout, minimum=0.0, maximum=1.0,
                          strict_max=True)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                if batch_norm:
                    layers.append(nn.BatchNorm1d(n_out))
                layers.append(activations.torch_module(activation))
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
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

    if not isinstance(split, Split):
        raise TypeError(f"split must be a dlbook_lib.data.Split, "
                        f"got {type(split).__name__}")
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
