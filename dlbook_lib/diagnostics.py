"""Per-layer diagnostics of a torch network: what flows forward and backward.

:func:`layer_statistics` pushes a batch through a ``torch.nn.Sequential``
and, for every linear (or convolutional) layer, records the statistics of
its output z (the pre-activation), of the activation that follows it, and,
given targets, of the gradient dL/dz after one backward pass. It uses
forward hooks (functions torch calls with a module's input and output) and
``retain_grad`` on the recorded outputs. :func:`dead_units` counts ReLU units
that are off for every input; :func:`weight_grad_norms` reads the norm of
every layer's weight gradient, also inside nested (residual) blocks.
Chapters on activations, initialisation, normalisation and vanishing
gradients read their per-layer curves from here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class LayerStats:
    """Statistics of one linear layer's output z and of the activation a
    after it (``None`` for the last layer, which has none)."""

    name: str
    z_mean: float
    z_std: float
    a_mean: float | None
    a_std: float | None
    grad_std: float | None
    dead: int


def dead_units(z) -> int:
    """Units (columns, or channels of (N, C, ...) outputs) whose
    pre-activation is <= 0 for every example: a ReLU after them outputs 0
    and passes no gradient back, whatever the input."""
    import torch

    z = torch.as_tensor(z)
    per_unit = z.transpose(0, 1).reshape(z.shape[1], -1)
    return int((per_unit <= 0).all(dim=1).sum().item())


def layer_statistics(model, x: Any, y: Any = None,
                     loss: Callable | None = None) -> list[LayerStats]:
    """One :class:`LayerStats` per linear or convolutional layer of
    ``model`` (a ``torch.nn.Sequential``) on the batch ``x``.

    With targets ``y`` the loss (default: cross-entropy of logits) is
    back-propagated once and ``grad_std`` is the std of dL/dz; parameter
    gradients are left in ``.grad``.
    """
    import torch
    import torch.nn.functional as F

    if not isinstance(model, torch.nn.Sequential):
        raise TypeError("model must be a torch.nn.Sequential, got "
                        f"{type(model).__name__}")
    weighted = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)
    outputs: list[tuple[str, bool, torch.Tensor]] = []

    def record(name: str, is_z: bool):
        def hook(module, inputs, out):
            if is_z and out.requires_grad:
                out.retain_grad()
            outputs.append((name, is_z, out))
        return hook

    handles = [m.register_forward_hook(record(n, isinstance(m, weighted)))
               for n, m in model.named_children()]
    try:
        out = model(torch.as_tensor(x))
    finally:
        for h in handles:
            h.remove()
    if y is not None:
        (F.cross_entropy if loss is None else loss)(
            out, torch.as_tensor(y)).backward()
    stats = []
    for i, (name, is_z, z) in enumerate(outputs):
        if not is_z:
            continue
        nxt = outputs[i + 1][2] if i + 1 < len(outputs) else None
        a = None if nxt is None or outputs[i + 1][1] else nxt.detach()
        zd = z.detach()
        stats.append(LayerStats(
            name, zd.mean().item(), zd.std().item(),
            None if a is None else a.mean().item(),
            None if a is None else a.std().item(),
            None if z.grad is None else z.grad.std().item(),
            dead_units(zd)))
    return stats


def as_table(stats: list[LayerStats], fields: tuple[str, ...]) -> np.ndarray:
    """The chosen fields of every layer as a float array (layers x fields),
    with NaN where a field is ``None``."""
    return np.array([[np.nan if getattr(s, f) is None else getattr(s, f)
                      for f in fields] for s in stats], dtype=float)


def weight_grad_norms(model) -> dict[str, float]:
    """Frobenius norm of dL/dW for the weight of every linear or
    convolutional layer of ``model``, after a backward pass.

    Keys are the layers' names in ``model.named_modules()`` (nested blocks
    such as residual branches included), in that order, so for a network
    built input first the first entry is the layer next to the input. Used
    in :doc:`/chapters/13_vanishing_exploding_gradients` to watch gradients
    vanish or explode with depth.
    """
    layers = _weighted_layers(model)
    missing = [n for n, m in layers if m.weight.grad is None]
    if missing:
        raise ValueError(f"layers {missing} have no gradient yet: call "
                         "loss.backward() first")
    return {n: m.weight.grad.norm().item() for n, m in layers}


def _weighted_layers(model) -> list[tuple[str, Any]]:
    """(name, module) of every linear or convolutional layer of ``model``
    in ``named_modules()`` order; fails if there is none."""
    import torch

    weighted = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)
    layers = [(n, m) for n, m in model.named_modules()
              if isinstance(m, weighted)]
    if not layers:
        raise ValueError("model has no linear or convolutional layer")
    return layers


def weight_snapshot(model) -> dict[str, Any]:
    """Detached copies of the weight of every linear or convolutional layer
    of ``model``, keyed like :func:`weight_grad_norms`: the "before" of
    :func:`update_ratios`."""
    return {n: m.weight.detach().clone() for n, m in _weighted_layers(model)}


def update_ratios(before: dict[str, Any], model) -> dict[str, float]:
    """Update-to-weight ratio ``||W - W_before|| / ||W_before||`` (Frobenius
    norms) of every linear or convolutional layer of ``model``.

    ``before`` is a :func:`weight_snapshot` taken before the update. It
    measures the step the optimiser actually took, whatever its rule
    (momentum, Adam, weight decay), not ``lr * ||dL/dW||``. A layer whose
    weights were all zero before gets ``inf`` if it moved and ``0.0`` if
    not. Used in :doc:`/chapters/19_babysitting` with
    :func:`dlbook_lib.train.fit`'s ``before_step`` and ``on_step`` hooks.
    """
    layers = _weighted_layers(model)
    if not isinstance(before, dict) or set(before) != {n for n, _ in layers}:
        raise ValueError("before must be weight_snapshot(model), taken from "
                         "the same model")
    ratios = {}
    for n, m in layers:
        w0 = before[n]
        step = (m.weight.detach() - w0).norm().item()
        size = w0.norm().item()
        ratios[n] = (step / size if size > 0
                     else (float("inf") if step > 0 else 0.0))
    return ratios
