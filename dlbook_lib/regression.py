"""The straight-line model y = b + w x fitted by mean squared error.

Everything chapter :doc:`/chapters/01_learning_is_fitting` derives for it by
hand: predictions, the loss and its gradient, the (constant) Hessian and the
closed-form least-squares solution. Parameters are packed as ``theta = [b, w]``.
"""
from __future__ import annotations

import numpy as np


def line_predict(theta, x) -> np.ndarray:
    """Predictions b + w x for ``theta = [b, w]``."""
    b, w = theta
    return b + w * np.asarray(x, dtype=float)


def line_mse(theta, x, y) -> float:
    """L(b, w) = (1/N) sum_n (y_n - b - w x_n)^2."""
    r = y - line_predict(theta, x)
    return float(np.mean(r**2))


def line_mse_grad(theta, x, y) -> np.ndarray:
    """Gradient [dL/db, dL/dw] = [-(2/N) sum r_n, -(2/N) sum r_n x_n]
    with r_n = y_n - b - w x_n.
    """
    r = y - line_predict(theta, x)
    return np.array([-2.0 * np.mean(r), -2.0 * np.mean(r * x)])


def line_mse_hessian(x) -> np.ndarray:
    """The constant Hessian 2 [[1, mean x], [mean x, mean x^2]] of the line's
    MSE.
    """
    x = np.asarray(x, dtype=float)
    m1, m2 = np.mean(x), np.mean(x**2)
    return 2.0 * np.array([[1.0, m1], [m1, m2]])


def least_squares_line(x, y) -> np.ndarray:
    """Closed-form minimiser [b*, w*]:
    w* = cov(x, y) / var(x), b* = mean(y) - w* mean(x).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    var_x = np.mean((x - x.mean()) ** 2)
    if var_x == 0.0:
        raise ValueError("all x are equal: the slope of a least-squares line "
                         "is not determined")
    w = np.mean((x - x.mean()) * (y - y.mean())) / var_x
    return np.array([y.mean() - w * x.mean(), w])
