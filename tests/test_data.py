import numpy as np
import pytest

from dlbook_lib import data


def test_mnist1d_shapes_split_and_determinism():
    s = data.mnist1d()
    assert s.sizes() == (3500, 500, 1000)
    assert s.x_train.shape[1:] == (40,) and s.x_train.dtype == np.float32
    assert s.y_train.dtype == np.int64 and set(np.unique(s.y_train)) == set(range(10))
    again = data.mnist1d()
    np.testing.assert_array_equal(s.x_test, again.x_test)
    assert "0x" not in repr(s)


def test_mnist1d_leaves_global_numpy_state_alone():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    data.mnist1d(num_samples=100, seed=7)
    assert np.random.rand() == expected


def test_mnist1d_disk_cache_gives_the_generated_arrays_bit_for_bit(tmp_path, monkeypatch):
    from mnist1d.data import get_dataset_args, make_dataset

    monkeypatch.setenv("DLBOOK_CACHE", str(tmp_path))
    data._mnist1d_arrays.cache_clear()
    args = get_dataset_args()
    args.num_samples, args.seed, args.train_split = 60, 3, 0.8
    d = make_dataset(args)
    want = (np.concatenate([d["x"], d["x_test"]]).astype(np.float32),
            np.concatenate([d["y"], d["y_test"]]).astype(np.int64))
    for _ in ("generated and written", "read back from disk"):
        got = data._mnist1d_arrays(60, 3)
        data._mnist1d_arrays.cache_clear()
        for g, w in zip(got, want):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)
    (file,) = tmp_path.glob("mnist1d-*-60-3.npz")   # no half-written .part file left
    np.savez(file, x=want[0] + 1, y=want[1])         # the disk copy is what is used
    np.testing.assert_array_equal(data._mnist1d_arrays(60, 3)[0], want[0] + 1)
    data._mnist1d_arrays.cache_clear()


def test_digits():
    s = data.digits()
    assert sum(s.sizes()) == 1797
    assert s.x_train.shape[1] == 64 and 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0


def test_split_partitions_the_data():
    x = np.arange(100).reshape(100, 1)
    s = data.train_val_test_split(x, x[:, 0], val_fraction=0.1, test_fraction=0.2, seed=3)
    assert s.sizes() == (70, 10, 20)
    allx = np.concatenate([s.x_train, s.x_val, s.x_test])[:, 0]
    assert sorted(allx) == list(range(100))
    np.testing.assert_array_equal(s.x_train[:, 0], s.y_train)


@pytest.mark.parametrize(
    "kwargs, exc, msg",
    [
        ({"val_fraction": 0.0}, ValueError, "val_fraction"),
        ({"test_fraction": 1.0}, ValueError, "test_fraction"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, ValueError, "< 1"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 1.5}, TypeError, "seed"),
    ],
)
def test_split_bad_input(kwargs, exc, msg):
    x = np.zeros((20, 2))
    with pytest.raises(exc, match=msg):
        data.train_val_test_split(x, np.zeros(20), **kwargs)


def test_split_bad_lengths_and_tiny_sets():
    with pytest.raises(ValueError, match="same number of rows"):
        data.train_val_test_split(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="too few"):
        data.train_val_test_split(np.zeros((3, 1)), np.zeros(3))


def test_mnist1d_bad_input():
    with pytest.raises(ValueError, match="num_samples"):
        data.mnist1d(num_samples=5)
    with pytest.raises(TypeError, match="seed"):
        data.mnist1d(seed="a")


def test_noisy_function_1d():
    x, y = data.noisy_function_1d(lambda t: 2 * t, 5000, noise_std=0.5, seed=1)
    assert np.all(np.diff(x) >= 0) and -1 <= x.min() and x.max() <= 1
    assert np.std(y - 2 * x) == pytest.approx(0.5, rel=0.05)
    _, y_l = data.noisy_function_1d(lambda t: 0 * t, 20000, noise_std=0.5, noise="laplace", seed=1)
    assert np.std(y_l) == pytest.approx(0.5, rel=0.05)
    with pytest.raises(ValueError, match="noise"):
        data.noisy_function_1d(lambda t: t, 5, noise="cauchy")
    with pytest.raises(ValueError, match="increasing"):
        data.noisy_function_1d(lambda t: t, 5, x_range=(1, 0))
    with pytest.raises(ValueError, match="same shape"):
        data.noisy_function_1d(lambda t: t[:2], 5)
    with pytest.raises(TypeError, match="callable"):
        data.noisy_function_1d(None, 5)


def test_noisy_function_1d_with_input_dependent_noise():
    def std(t):
        return 0.05 + 0.5 * (t > 0)                 # two noise levels
    x, y = data.noisy_function_1d(lambda t: 3 * t, 40000, noise_std=std,
                                  seed=2)
    r = y - 3 * x
    assert np.std(r[x <= 0]) == pytest.approx(0.05, rel=0.03)
    assert np.std(r[x > 0]) == pytest.approx(0.55, rel=0.03)
    for noise in ("gaussian", "laplace"):             # same draws as a number
        a = data.noisy_function_1d(np.sin, 50, noise_std=0.3, noise=noise,
                                   seed=4)
        b = data.noisy_function_1d(np.sin, 50, noise=noise, seed=4,
                                   noise_std=lambda t: np.full_like(t, 0.3))
        np.testing.assert_array_equal(a[1], b[1])
    zero = data.noisy_function_1d(np.cos, 7, noise_std=lambda t: 0 * t)
    np.testing.assert_array_equal(zero[1], np.cos(zero[0]))
    with pytest.raises(ValueError, match="entries >= 0"):
        data.noisy_function_1d(np.sin, 5, noise_std=lambda t: t - 2)
    with pytest.raises(ValueError, match="same shape"):
        data.noisy_function_1d(np.sin, 5, noise_std=lambda t: t[:2] ** 2)


def test_batches_match_dataloader_convention():
    import torch
    from torch.utils.data import DataLoader

    for n in (1, 7, 64, 65):
        for b in (1, 8, 64, 100):
            assert len(data.batches(n, b)) == len(DataLoader(range(n), batch_size=b))
            got = np.sort(np.concatenate(data.batches(n, b)))
            np.testing.assert_array_equal(got, np.arange(n))
    assert [len(i) for i in data.batches(10, 4, drop_last=True)] == [4, 4]
    np.testing.assert_array_equal(data.batches(5, 2, shuffle=False)[0], [0, 1])
    with pytest.raises(ValueError, match="batch_size"):
        data.batches(10, 0)
    with pytest.raises(ValueError, match="leaves no batch"):
        data.batches(3, 5, drop_last=True)


def test_xor_cloud():
    x, y = data.xor(50, noise=0.1, seed=3)
    assert x.shape == (200, 2) and x.dtype == np.float64 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [100, 100]
    # each point's label is the XOR of the coordinates of its nearest corner
    nearest = (x > 0.5).astype(np.int64)
    assert np.mean((nearest[:, 0] ^ nearest[:, 1]) == y) > 0.97
    assert np.std(x - nearest) == pytest.approx(0.1, rel=0.15)
    again_x, again_y = data.xor(50, noise=0.1, seed=3)
    np.testing.assert_array_equal(x, again_x)
    np.testing.assert_array_equal(y, again_y)
    assert not np.array_equal(x, data.xor(50, noise=0.1, seed=4)[0])


def test_xor_four_points_and_bad_input():
    x, y = data.xor(1, noise=0.0)
    rows = sorted(zip(map(tuple, x), y))
    assert rows == [((0.0, 0.0), 0), ((0.0, 1.0), 1), ((1.0, 0.0), 1),
                    ((1.0, 1.0), 0)]
    with pytest.raises(ValueError, match="n_per_corner"):
        data.xor(0)
    with pytest.raises(ValueError, match="noise"):
        data.xor(5, noise=-0.1)
    with pytest.raises(TypeError, match="seed"):
        data.xor(5, seed=0.5)


def test_kfold_equals_sklearn_kfold_without_shuffle():
    from sklearn.model_selection import KFold

    for n, k in ((2, 2), (10, 3), (31, 5), (7, 7), (100, 10)):
        ours = data.kfold(n, k)
        ref = list(KFold(n_splits=k).split(np.zeros((n, 1))))
        assert len(ours) == len(ref) == k
        for (tr, va), (tr_ref, va_ref) in zip(ours, ref):
            np.testing.assert_array_equal(tr, tr_ref)
            np.testing.assert_array_equal(va, va_ref)


def test_kfold_shuffled_partitions_and_is_deterministic():
    for n, k in ((11, 3), (50, 5), (5, 5)):
        pairs = data.kfold(n, k, shuffle=True, seed=4)
        vals = np.concatenate([va for _, va in pairs])
        np.testing.assert_array_equal(np.sort(vals), np.arange(n))
        for tr, va in pairs:
            assert len(np.intersect1d(tr, va)) == 0
            np.testing.assert_array_equal(np.sort(np.concatenate([tr, va])),
                                          np.arange(n))
            np.testing.assert_array_equal(tr, np.sort(tr))
        sizes = sorted(len(va) for _, va in pairs)
        assert sizes[-1] - sizes[0] <= 1
        again = data.kfold(n, k, shuffle=True, seed=4)
        assert all(np.array_equal(a[1], b[1]) for a, b in zip(pairs, again))
    assert not np.array_equal(data.kfold(50, 5, shuffle=True, seed=4)[0][1],
                              data.kfold(50, 5)[0][1])


def test_kfold_bad_input():
    with pytest.raises(ValueError, match="k must be >= 2"):
        data.kfold(10, 1)
    with pytest.raises(ValueError, match="at least k examples"):
        data.kfold(3, 5)
    with pytest.raises(TypeError, match="k must be an integer"):
        data.kfold(10, 2.5)
    with pytest.raises(TypeError, match="n must be an integer"):
        data.kfold(True, 2)
    with pytest.raises(ValueError, match="seed"):
        data.kfold(10, 2, shuffle=True, seed=-1)


# --- augmentation of MNIST-1D (chapter 15) ------------------------------------

def test_augment_mnist1d_shifts_are_circular_like_the_generators_translate():
    from mnist1d.transform import translate
    x = np.random.default_rng(0).normal(size=(300, 40)).astype(np.float32)
    out = data.augment_mnist1d(x, max_shift=3, scale=0.0, noise=0.0, rng=1)
    assert out.dtype == np.float32 and out.shape == x.shape
    shifts = []
    for row, aug in zip(x, out):
        k = [k for k in range(-3, 4) if np.array_equal(np.roll(row, k), aug)]
        assert len(k) == 1
        shifts += k
    assert set(shifts) == set(range(-3, 4))          # every shift occurs
    # the generator's translate is a circular shift too
    state = np.random.get_state()
    np.random.seed(0)
    moved = translate(x[0], 10)
    np.random.set_state(state)
    assert any(np.array_equal(moved, np.roll(x[0], k)) for k in range(40))


def test_augment_mnist1d_scale_noise_identity_and_seeding():
    x = np.random.default_rng(2).normal(size=(2000, 40))
    np.testing.assert_array_equal(
        data.augment_mnist1d(x, max_shift=0, scale=0.0, noise=0.0), x)
    scaled = data.augment_mnist1d(x, max_shift=0, scale=0.2, noise=0.0)
    ratio = scaled / x
    np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones((1, 40)),
                               rtol=1e-12)
    assert 0.8 <= ratio.min() < 0.81 and 1.19 < ratio.max() <= 1.2
    noisy = data.augment_mnist1d(x, max_shift=0, scale=0.0, noise=0.3)
    assert abs((noisy - x).std() - 0.3) < 0.01
    assert abs((noisy - x).mean()) < 0.01
    a = data.augment_mnist1d(x, rng=5)
    np.testing.assert_array_equal(a, data.augment_mnist1d(x, rng=5))
    gen = np.random.default_rng(5)
    first = data.augment_mnist1d(x, rng=gen)
    np.testing.assert_array_equal(first, a)
    assert not np.array_equal(first, data.augment_mnist1d(x, rng=gen))
    assert data.augment_mnist1d(np.ones((1, 5), int)).dtype == np.float64


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(x=np.ones(40)), ValueError, "2 dimension"),
    (dict(x=np.ones((2, 4)), max_shift=-1), ValueError, "max_shift must be"),
    (dict(x=np.ones((2, 4)), max_shift=1.5), TypeError, "max_shift must be"),
    (dict(x=np.ones((2, 4)), scale=1.0), ValueError, "scale must be < 1"),
    (dict(x=np.ones((2, 4)), noise=-0.1), ValueError, "noise must be >= 0"),
    (dict(x=np.ones((2, 4)), rng=-3), ValueError, "rng must be >= 0"),
    (dict(x=[[1.0, np.nan]]), ValueError, "NaN or infinite"),
])
def test_augment_mnist1d_bad_inputs(kwargs, exc, msg):
    x = kwargs.pop("x")
    with pytest.raises(exc, match=msg):
        data.augment_mnist1d(x, **kwargs)
