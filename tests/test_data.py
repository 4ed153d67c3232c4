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
