"""Plotting helpers so chapters keep their cells short.

Used from :doc:`/chapters/01_learning_is_fitting` on.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ._validate import as_float_array

BOOK_STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "legend.frameon": False,
    "image.cmap": "viridis",
    "svg.hashsalt": "dlbook",
    "figure.constrained_layout.use": True,
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (:func:`dlbook_lib.setup` calls it)."""
    import matplotlib as mpl

    mpl.rcParams.update(BOOK_STYLE)


def contour_with_path(ax, b_grid, w_grid, loss_grid, path=None, *,
                      levels: int = 30, log: bool = True, xlabel: str = "$b$",
                      ylabel: str = "$w$"):
    """Filled contour plot of a loss L(b, w) with an optional optimisation path.

    ``loss_grid[i, j]`` is the loss at ``(b_grid[j], w_grid[i])``; ``path`` is
    an array of shape (steps, 2) with columns (b, w). With ``log=True`` the
    contours are of log10(L).
    """
    b_grid = as_float_array("b_grid", b_grid, ndim=1)
    w_grid = as_float_array("w_grid", w_grid, ndim=1)
    loss_grid = as_float_array("loss_grid", loss_grid, ndim=2)
    if loss_grid.shape != (len(w_grid), len(b_grid)):
        raise ValueError(f"loss_grid must have shape "
                         f"(len(w_grid), len(b_grid)) = "
                         f"{(len(w_grid), len(b_grid))}, got {loss_grid.shape}")
    z = np.log10(np.maximum(loss_grid, 1e-300)) if log else loss_grid
    cs = ax.contourf(b_grid, w_grid, z, levels=levels)
    ax.figure.colorbar(cs, ax=ax, label="$\\log_{10} L$" if log else "$L$")
    if path is not None:
        path = as_float_array("path", path, ndim=2)
        if path.shape[1] != 2:
            raise ValueError(f"path must have shape (steps, 2), "
                             f"got {path.shape}")
        ax.plot(path[:, 0], path[:, 1], ".-", color="white", ms=3, lw=1,
                label="descent path")
        ax.plot(path[-1, 0], path[-1, 1], "*", color="red", ms=10, label="end")
        ax.legend(loc="upper right", labelcolor="white")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return cs


def loss_curves(ax, curves: dict[str, Sequence[float]], *, logy: bool = True,
                xlabel: str = "update step", ylabel: str = "loss"):
    """Plot loss curves (label -> values) on one axis, log-scaled by default."""
    if not isinstance(curves, dict) or not curves:
        raise ValueError("curves must be a non-empty dict mapping a label to "
                         "a sequence of losses")
    for label, values in curves.items():
        v = np.asarray(values, dtype=float)
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"curve {label!r} must be a non-empty 1-D "
                             f"sequence, got shape {v.shape}")
        ax.plot(np.arange(len(v)), v, label=str(label))
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
