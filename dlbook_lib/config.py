"""Reproducible chapter set-up: seeds, determinism, threads, plot style, device.

Every chapter's first code cell calls :func:`setup`. How to run the book is
explained in :doc:`/intro`.
"""
from __future__ import annotations

import os
import random

import numpy as np

from ._validate import check_int

DEFAULT_SEED = 0


def seed_everything(seed: int = DEFAULT_SEED) -> None:
    """Seed Python's ``random``, NumPy's legacy global generator and PyTorch."""
    import torch

    seed = check_int("seed", seed, minimum=0)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(seed: int = DEFAULT_SEED) -> None:
    """Prepare a notebook for reproducible, CPU-friendly execution.

    * seeds ``random``, NumPy and PyTorch with ``seed``;
    * runs PyTorch single-threaded so results do not depend on how many
      cores the reader has, and asks it to use deterministic algorithms
      only;
    * uses float32 as PyTorch's default dtype (chapters ask for float64
      explicitly where a check needs it);
    * applies the book's matplotlib style.

    Printing is left to the caller, so the cell's stored output stays empty.
    """
    import torch

    from .plot import use_book_style

    seed_everything(seed)
    torch.set_num_threads(1)
    # torch.use_deterministic_algorithms(True) also configures torch.compile,
    # whose import costs seconds per kernel; the book never compiles, so it
    # sets the same flag directly where this torch has the function.
    getattr(torch._C, "_set_deterministic_algorithms",
            torch.use_deterministic_algorithms)(True)
    torch.set_default_dtype(torch.float32)
    # Needed by some deterministic CUDA kernels; harmless on the CPU.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    use_book_style()


def device() -> "torch.device":
    """Return the device chapters should put tensors on: CUDA if it is
    available, the CPU otherwise. The book's stored outputs are produced on
    the CPU.
    """
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
