"""Offline data sets: MNIST-1D, scikit-learn's digits and small synthetic sets.

Everything here is generated or ships inside an installed package, so a chapter
runs offline and produces the same arrays on every run. Introduced in
:doc:`/chapters/01_learning_is_fitting`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from ._validate import as_float_array, check_float, check_int, check_same_length


@dataclass(frozen=True)
class Split:
    """Train, validation and test arrays of one data set (features ``x_*``,
    targets ``y_*``).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def sizes(self) -> tuple[int, int, int]:
        """Number of examples in the train, validation and test parts."""
        return len(self.x_train), len(self.x_val), len(self.x_test)

    def __repr__(self) -> str:  # short and free of memory addresses
        n_tr, n_va, n_te = self.sizes()
        return (f"Split(train={n_tr}, val={n_va}, test={n_te}, "
                f"features={self.x_train.shape[1:]})")


def train_val_test_split(x, y, *, val_fraction: float = 0.1,
                         test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Shuffle ``(x, y)`` with ``seed`` and cut it into train, validation and
    test parts.

    The fractions are of the whole set; the training part gets the rest. Each
    part keeps at least one example.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError("x and y must be arrays with one row per example")
    n = check_same_length(x=x, y=y)
    val_fraction = check_float("val_fraction", val_fraction, minimum=0.0,
                               maximum=1.0, strict_min=True, strict_max=True)
    test_fraction = check_float("test_fraction", test_fraction, minimum=0.0,
                                maximum=1.0, strict_min=True, strict_max=True)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError("val_fraction + test_fraction must be < 1 so that "
                         "training data remains, "
                         f"got {val_fraction} + {test_fraction}")
    seed = check_int("seed", seed, minimum=0)
    n_val, n_test = int(round(n * val_fraction)), int(round(n * test_fraction))
    if min(n_val, n_test, n - n_val - n_test) < 1:
        raise ValueError(f"{n} examples are too few for fractions "
                         f"val={val_fraction}, test={test_fraction}: "
                         "every part needs at least one example")
    order = np.random.default_rng(seed).permutation(n)
    val, test, train = (order[:n_val], order[n_val:n_val + n_test],
                        order[n_val + n_test:])
    return Split(x[train], y[train], x[val], y[val], x[test], y[test])


@lru_cache(maxsize=4)
def _mnist1d_arrays(num_samples: int,
                    seed: int) -> tuple[np.ndarray, np.ndarray]:
    from importlib.metadata import version

    from mnist1d.data import get_dataset_args, make_dataset

    # Generating 5000 signals takes seconds; the arrays are kept on disk,
    # keyed by the generator's version and arguments (bit-identical reuse).
    cache = Path(os.environ.get("DLBOOK_CACHE",
                                Path.home() / ".cache" / "dlbook"))
    file = cache / f"mnist1d-{version('mnist1d')}-{num_samples}-{seed}.npz"
    if file.exists():
        with np.load(file) as saved:
            return saved["x"], saved["y"]
    args = get_dataset_args()
    args.num_samples = num_samples
    args.seed = seed
    args.train_split = 0.8
    # make_dataset reseeds NumPy's global generator
    state = np.random.get_state()
    try:
        d = make_dataset(args)
    finally:
        np.random.set_state(state)
    x = np.concatenate([d["x"], d["x_test"]]).astype(np.float32)
    y = np.concatenate([d["y"], d["y_test"]]).astype(np.int64)
    try:  # write, then rename: parallel runs never read half a file
        cache.mkdir(parents=True, exist_ok=True)
        part = cache / f"{file.stem}.{os.getpid()}.part.npz"
        np.savez(part, x=x, y=y)
        os.replace(part, file)
    except OSError:  # a read-only home: generate again next time
        pass
    return x, y


def mnist1d(*, num_samples: int = 5000, seed: int = 42,
            val_fraction: float = 0.1, test_fraction: float = 0.2) -> Split:
    """MNIST-1D :cite:`greydanus2020mnist1d`, generated locally with the
    ``mnist1d`` package.

    Ten classes of 1-D signals of length 40 (float32, standardised by the
    generator), labels int64. ``seed`` is the generator's seed (42 gives the
    reference data set); the split is taken with the same seed. NumPy's global
    random state is left untouched.
    """
    num_samples = check_int("num_samples", num_samples, minimum=10)
    seed = check_int("seed", seed, minimum=0)
    x, y = _mnist1d_arrays(num_samples, seed)
    return train_val_test_split(x.copy(), y.copy(), val_fraction=val_fraction,
                                test_fraction=test_fraction, seed=seed)


def digits(*, val_fraction: float = 0.1, test_fraction: float = 0.2,
           seed: int = 0) -> Split:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images), pixels
    scaled to [0, 1].

    Features are float32 vectors of length 64, labels int64. Ships inside
    scikit-learn, so no download happens.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    return train_val_test_split(x, y, val_fraction=val_fraction,
                                test_fraction=test_fraction, seed=seed)


def noisy_function_1d(f: Callable[[np.ndarray], np.ndarray], n: int, *,
                      x_range=(-1.0, 1.0),
                      noise_std: float | Callable[[np.ndarray],
                                                  np.ndarray] = 0.1,
                      noise: str = "gaussian",
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``n`` points x ~ U(x_range) and y = f(x) + noise, both float64 of
    shape (n,).

    ``noise`` is ``"gaussian"`` (standard deviation ``noise_std``) or
    ``"laplace"`` (scale chosen so that the standard deviation is
    ``noise_std``). ``noise_std`` is a number, or a function of x returning
    the standard deviation at each point (noise whose size depends on the
    input, as in :doc:`/chapters/07_loss_functions`).
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    n = check_int("n", n, minimum=1)
    lo, hi = (check_float("x_range[0]", x_range[0]),
              check_float("x_range[1]", x_range[1]))
    if not lo < hi:
        raise ValueError(f"x_range must be increasing, got {tuple(x_range)}")
    if not callable(noise_std):
        noise_std = check_float("noise_std", noise_std, minimum=0.0)
    if noise not in ("gaussian", "laplace"):
        raise ValueError(f"noise must be 'gaussian' or 'laplace', "
                         f"got {noise!r}")
    seed = check_int("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(lo, hi, size=n))
    fx = as_float_array("f(x)", f(x))
    if fx.shape != x.shape:
        raise ValueError(f"f must map an array of shape {x.shape} to the "
                         f"same shape, got {fx.shape}")
    if callable(noise_std):
        noise_std = as_float_array("noise_std(x)", noise_std(x))
        if noise_std.shape != x.shape or np.any(noise_std < 0):
            raise ValueError("noise_std must map x to an array of the same "
                             f"shape {x.shape} with entries >= 0")
        noise_std = np.abs(noise_std)  # -0.0 (from 0 * x) becomes 0.0
    if noise == "gaussian":
        eps = rng.normal(0.0, noise_std, size=n)
    else:
        eps = rng.laplace(0.0, noise_std / np.sqrt(2.0), size=n)
    return x, fx + eps


def batches(n: int, batch_size: int, *, shuffle: bool = True, seed: int = 0,
            drop_last: bool = False) -> list[np.ndarray]:
    """Index arrays of the mini-batches of one epoch over ``n`` examples.

    Without ``drop_last`` there are ceil(n / batch_size) batches, the last one
    possibly smaller (the convention of ``torch.utils.data.DataLoader``).
    """
    n = check_int("n", n, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    if drop_last and batch_size > n:
        raise ValueError(f"drop_last=True with batch_size={batch_size} > "
                         f"n={n} leaves no batch")
    order = (np.random.default_rng(seed).permutation(n) if shuffle
             else np.arange(n))
    stop = n - n % batch_size if drop_last else n
    return [order[i:i + batch_size] for i in range(0, stop, batch_size)]


def kfold(n: int, k: int, *, shuffle: bool = False,
          seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ``k`` (train, validation) index pairs of k-fold cross-validation
    over ``n`` examples.

    The examples (in their order, or permuted with ``seed`` when
    ``shuffle``) are cut into ``k`` consecutive folds, the first ``n % k``
    of them one example larger; fold i is the validation part of pair i and
    the other examples, in increasing order, are its training part. Every
    example is validated exactly once. Without ``shuffle`` the pairs equal
    those of ``sklearn.model_selection.KFold(k).split``
    (:doc:`/chapters/14_diagnosing_training`).
    """
    n = check_int("n", n, minimum=1)
    k = check_int("k", k, minimum=2)
    if k > n:
        raise ValueError(f"k={k} folds need at least k examples, got n={n}")
    seed = check_int("seed", seed, minimum=0)
    order = (np.random.default_rng(seed).permutation(n) if shuffle
             else np.arange(n))
    sizes = np.full(k, n // k)
    sizes[:n % k] += 1
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    pairs = []
    for i in range(k):
        val = order[bounds[i]:bounds[i + 1]]
        in_val = np.zeros(n, dtype=bool)
        in_val[val] = True
        pairs.append((np.flatnonzero(~in_val), val))
    return pairs


#: The four corners of the unit square and their XOR labels.
XOR_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_LABELS = np.array([0, 1, 1, 0], dtype=np.int64)


def xor(n_per_corner: int = 100, *, noise: float = 0.2,
        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem as a cloud: ``n_per_corner`` points around each corner
    of the unit square, shifted by Gaussian noise of standard deviation
    ``noise``, in shuffled order.

    The label of a point is the XOR of its corner's coordinates: 1 around
    (0, 1) and (1, 0), 0 around (0, 0) and (1, 1). Returns ``x`` (float64,
    shape (4 n_per_corner, 2)) and ``y`` (int64). ``xor(1, noise=0)`` gives
    the four XOR points (in shuffled order); no line separates the classes
    (:doc:`/chapters/03_classifiers_softmax_neuron`).
    """
    n_per_corner = check_int("n_per_corner", n_per_corner, minimum=1)
    noise = check_float("noise", noise, minimum=0.0)
    seed = check_int("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    corner = np.repeat(np.arange(4), n_per_corner)
    x = XOR_CORNERS[corner] + noise * rng.normal(size=(len(corner), 2))
    order = rng.permutation(len(corner))
    return x[order], XOR_LABELS[corner][order]


def augment_mnist1d(x, *, max_shift: int = 5, scale: float = 0.2,
                    noise: float = 0.1,
                    rng: int | np.random.Generator = 0) -> np.ndarray:
    """Random variations of MNIST-1D signals that keep their labels, in the
    spirit of how the ``mnist1d`` generator makes the data
    :cite:`greydanus2020mnist1d`.

    Each row of ``x`` (shape (N, L)) independently is

    * shifted circularly by k positions, k uniform in
      {-max_shift, ..., max_shift} (the generator's ``translate`` is a
      circular shift as well);
    * multiplied by a factor uniform in [1 - scale, 1 + scale] (the
      generator scales by a factor in [0.8, 1.2]);
    * given Gaussian noise of standard deviation ``noise`` in every entry.

    Returns a new array of the dtype of ``x`` (float64 for integer input).
    ``rng`` is a seed or a NumPy Generator; pass a Generator to draw new
    variations at every call, as a training loop does
    (:doc:`/chapters/15_regularisation`).
    """
    dtype = np.asarray(x).dtype
    x = as_float_array("x", x, ndim=2)
    max_shift = check_int("max_shift", max_shift, minimum=0)
    scale = check_float("scale", scale, minimum=0.0, maximum=1.0,
                        strict_max=True)
    noise = check_float("noise", noise, minimum=0.0)
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(check_int("rng", rng, minimum=0))
    n, length = x.shape
    shift = rng.integers(-max_shift, max_shift + 1, size=n)
    cols = (np.arange(length) - shift[:, None]) % length   # np.roll per row
    out = x[np.arange(n)[:, None], cols]
    out *= rng.uniform(1.0 - scale, 1.0 + scale, size=(n, 1))
    out += noise * rng.standard_normal((n, length))
    return out.astype(dtype if np.issubdtype(dtype, np.floating)
                      else np.float64)
