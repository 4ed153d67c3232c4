"""Plotting helpers so chapters keep their cells short.

Used from :doc:`/chapters/01_learning_is_fitting` on.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

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


def contour_with_path(ax, b_grid, w_grid, loss_grid, path=None):
    """Filled contour plot of log10 of a loss L(b, w) with an optional
    optimisation path.

    ``loss_grid[i, j]`` is the loss at ``(b_grid[j], w_grid[i])``; ``path`` is
    an array of shape (steps, 2) with columns (b, w).
    """
    z = np.log10(np.maximum(loss_grid, 1e-300))
    cs = ax.contourf(b_grid, w_grid, z, levels=30)
    ax.figure.colorbar(cs, ax=ax, label="$\\log_{10} L$")
    if path is not None:
        path = np.asarray(path)
        ax.plot(path[:, 0], path[:, 1], ".-", color="white", ms=3, lw=1,
                label="descent path")
        ax.plot(path[-1, 0], path[-1, 1], "*", color="red", ms=10, label="end")
        ax.legend(loc="upper right", labelcolor="white")
    ax.set_xlabel("$b$")
    ax.set_ylabel("$w$")
    return cs


def loss_curves(ax, curves: dict[str, Sequence[float]], *,
                ylabel: str = "loss"):
    """Plot loss curves (label -> values) against the update step on one
    axis, log-scaled."""
    for label, values in curves.items():
        ax.plot(np.arange(len(values)), values, label=str(label))
    ax.set_yscale("log")
    ax.set_xlabel("update step")
    ax.set_ylabel(ylabel)
    ax.legend()
