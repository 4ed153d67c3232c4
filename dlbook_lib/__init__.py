"""dlbook_lib: the helper library of the executable deep-learning book.

Modules (one idea each): :mod:`~dlbook_lib.config` (seeds, determinism, device),
:mod:`~dlbook_lib.checks` (comparisons and gradient checks with one-line
verdicts), :mod:`~dlbook_lib.data` (offline data sets and splits),
:mod:`~dlbook_lib.plot` (figures), :mod:`~dlbook_lib.source` (showing library
code in a chapter).
"""
from .config import device, seed_everything, setup
from .source import show_source

__version__ = "0.1.0"

__all__ = ["setup", "device", "seed_everything", "show_source", "__version__"]
