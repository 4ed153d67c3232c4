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
    if seed >= 2**32:
        raise ValueError(f"seed must be < 2**32, got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(seed: int = DEFAULT_SEED, *, threads: int = 1,
          style: bool = True) -> None:
    """Prepare a notebook for reproducible, CPU-friendly execution.

    * seeds ``random``, NumPy and PyTorch with ``seed``;
    * runs PyTorch single-threaded (``threads=1``) so results do not depend on
      how many cores the reader has, and asks it to use deterministic algorithms
      only;
    * uses float32 as PyTorch's default dtype (chapters ask for float64
      explicitly where a check needs it);
    * applies the book's matplotlib style (``style=True``).

    Printing is left to the caller, so the cell's stored output stays empty.
    """
    import torch

    threads = check_int("threads", threads, minimum=1)
    if not isinstance(style, bool):
        raise TypeError(f"style must be True or False, got {style!r}")
    seed_everything(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    # Needed by some deterministic CUDA kernels; harmless on the CPU.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if style:
        from .plot import use_book_style

        use_book_style()


def device(prefer: str = "auto") -> "torch.device":
    """Return the device chapters should put tensors on.

    ``prefer="auto"`` picks CUDA if it is available and the CPU otherwise;
    ``"cpu"`` forces the CPU. The book's stored outputs are produced on the CPU.
    """
    import torch

    if prefer not in ("auto", "cpu", "cuda"):
        raise ValueError(f"prefer must be 'auto', 'cpu' or 'cuda', "
                         f"got {prefer!r}")
    if prefer == "cpu":
        return torch.device("cpu")
    if prefer == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("prefer='cuda' was requested but no CUDA device "
                           "is available")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
