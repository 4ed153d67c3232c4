"""Loss functions written from scratch in NumPy.

Chapter :doc:`/chapters/01_learning_is_fitting` defines the mean absolute and mean squared
errors and checks them against ``torch.nn.functional.l1_loss`` and ``mse_loss``.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array


def _pair(prediction, target) -> tuple[np.ndarray, np.ndarray]:
    p = as_float_array("prediction", prediction)
    t = as_float_array("target", target)
    if p.shape != t.shape:
        raise ValueError(f"prediction has shape {p.shape} but target has shape {t.shape}; "
                         "they must match (no broadcasting)")
    return p, t


def mae(prediction, target) -> float:
    """Mean absolute error ``(1/N) sum_n abs(y_n - yhat_n)``."""
    p, t = _pair(prediction, target)
    return float(np.mean(np.abs(t - p)))


def mse(prediction, target) -> float:
    """Mean squared error (1/N) sum_n (y_n - yhat_n)^2."""
    p, t = _pair(prediction, target)
    return float(np.mean((t - p) ** 2))
