"""Input-validation helpers for where a reader's data and settings enter.

Constructors, data sets, the trainer and the top-level runners check their
arguments with these helpers, so a reader who passes something wrong gets a
message naming the argument and the problem instead of a broadcasting error
deep inside NumPy or PyTorch. The mathematics inside trusts arrays that were
checked on the way in.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def check_int(name: str, value: Any, *, minimum: int | None = None) -> int:
    """Return ``value`` as ``int`` if an integer (not bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, "
                        f"got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_float(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_min: bool = False,
    strict_max: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` within (open or closed) bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, "
                        f"got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value <= minimum if strict_min
                                else value < minimum):
        op = ">" if strict_min else ">="
        raise ValueError(f"{name} must be {op} {minimum}, got {value}")
    if maximum is not None and (value >= maximum if strict_max
                                else value > maximum):
        op = "<" if strict_max else "<="
        raise ValueError(f"{name} must be {op} {maximum}, got {value}")
    return value


def as_float_array(name: str, value: Any, *,
                   ndim: int | tuple[int, ...] | None = None,
                   allow_empty: bool = False) -> np.ndarray:
    """Convert an array-like (NumPy, torch, list, scalar) to a float64 array.

    Raises a ``TypeError`` for non-numeric input and a ``ValueError`` for the
    wrong number of dimensions, empty arrays (unless ``allow_empty``) and
    non-finite entries.
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"{name} must be array-like, "
                        f"got {type(value).__name__}") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise ValueError(f"{name} must have {want} dimension(s), "
                             f"got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def check_same_length(**arrays: np.ndarray) -> int:
    """Check that all arrays have the same first dimension and return it."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {v}" for k, v in lengths.items())
        raise ValueError(f"arrays must have the same number of rows: {desc}")
    return next(iter(lengths.values()))


def check_labels(name: str, value: Any, *,
                 num_classes: int | None = None) -> np.ndarray:
    """Integer class labels (NumPy, torch or list) as a 1-D int64 array.

    Each label must lie in [0, num_classes).
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels, "
                         f"got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class labels, "
                        f"got dtype {arr.dtype}")
    if arr.min() < 0 or (num_classes is not None and arr.max() >= num_classes):
        allowed = (f"[0, {num_classes - 1}] for {num_classes} classes"
                   if num_classes else ">= 0")
        raise ValueError(f"{name} must lie in {allowed}, "
                         f"got values from {arr.min()} to {arr.max()}")
    return arr.astype(np.int64)
