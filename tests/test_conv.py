"""dlbook_lib.conv: shape arithmetic against torch, layers against autograd."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlbook_lib import conv, init, layers


def test_output_size_matches_torch_over_a_grid():
    for n, k, p, s, d in itertools.product(range(1, 12), (1, 2, 3, 5), (0, 1, 2),
                                           (1, 2, 3), (1, 2)):
        span = d * (k - 1) + 1
        if n + 2 * p < span:
            with pytest.raises(ValueError, match="does not fit"):
                conv.output_size(n, k, padding=p, stride=s, dilation=d)
            continue
        out = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), padding=p,
                       stride=s, dilation=d)
        assert conv.output_size(n, k, padding=p, stride=s, dilation=d) == out.shape[-1]


def test_receptive_field_by_backpropagating_a_one_hot_gradient():
    for kernels, strides in [([3, 3, 3], [1, 1, 1]), ([5, 3], [2, 1]), ([3, 3, 3], [2, 2, 1])]:
        x = torch.zeros(1, 1, 64, requires_grad=True)
        h = x
        for k, s in zip(kernels, strides):
            h = F.conv1d(h, torch.ones(1, 1, k), stride=s)
        g = torch.zeros_like(h)
        g[..., h.shape[-1] // 2] = 1.0
        h.backward(g)
        assert int((x.grad != 0).sum()) == conv.receptive_field(kernels, strides)


def test_shape_functions_reject_bad_input():
    with pytest.raises(ValueError, match="stride"):
        conv.output_size(5, 3, stride=0)
    with pytest.raises(ValueError, match="one stride per layer"):
        conv.receptive_field([3, 3], [1])


def test_conv_params_equals_torchs_parameter_count():
    cases = [(torch.nn.Conv1d, 3, 4, 5, 1), (torch.nn.Conv2d, 3, 4, 3, 1),
             (torch.nn.Conv2d, 1, 2, (3, 5), 1), (torch.nn.Conv2d, 6, 4, 3, 2),
             (torch.nn.Conv2d, 8, 8, 3, 8), (torch.nn.Conv3d, 2, 6, (1, 2, 3), 2)]
    for layer, c_in, c_out, k, groups in cases:
        for bias in (True, False):
            m = layer(c_in, c_out, k, groups=groups, bias=bias)
            expected = sum(p.numel() for p in m.parameters())
            assert conv.conv_params(c_in, c_out, m.kernel_size, bias=bias,
                                    groups=groups) == expected
    assert conv.conv_params(1, 1, 1, bias=False) == 1  # smallest layer
    assert conv.conv_params(3, 4, 5) == 4 * 3 * 5 + 4  # an int: one axis


def test_conv_params_rejects_bad_input():
    with pytest.raises(ValueError, match="groups=2 must divide"):
        conv.conv_params(3, 4, 3, groups=2)


def test_layer_shapes_of_a_small_cnn():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(2, 4, (3, 1), stride=2, padding=1),
        torch.nn.Flatten(), torch.nn.Linear(4 * 2 * 3, 5))
    # 9x10 -> conv 3: 7x8 -> pool 2: 3x4 -> conv (3, 1), s 2, p 1: 2x3
    assert conv.layer_shapes(model, (1, 9, 10)) == [
        ("Conv2d", (2, 7, 8), 2 * 9 + 2), ("ReLU", (2, 7, 8), 0),
        ("MaxPool2d", (2, 3, 4), 0), ("Conv2d", (4, 2, 3), 4 * 2 * 3 + 4),
        ("Flatten", (24,), 0), ("Linear", (5,), 24 * 5 + 5)]
    one = torch.nn.Sequential(torch.nn.Conv1d(3, 1, 1)).double()
    assert conv.layer_shapes(one, (3, 1)) == [("Conv1d", (1, 1), 4)]


# --- from-scratch layers (chapter 17) ----------------------------------------

# (B, C_in, C_out, H, W, k, stride, padding): stride > 1, padding, a batch of
# one, a single channel, non-square inputs, strides that leave rows unread,
# a kernel as large as the padded input and a 1 x 1 kernel
CONV_CASES = [(2, 3, 4, 7, 5, 3, 1, 0), (1, 1, 1, 5, 5, 3, 1, 1),
              (3, 2, 5, 8, 6, 3, 2, 1), (2, 2, 3, 9, 7, 2, 3, 2),
              (1, 3, 2, 4, 4, 6, 1, 1), (2, 1, 2, 6, 10, 1, 2, 0),
              (1, 4, 1, 11, 3, 3, 2, 0)]


def _autograd_conv(x, weight, bias, stride, padding, dy):
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, weight, bias))
    y = F.conv2d(xt, wt, bt, stride=stride, padding=padding)
    y.backward(torch.from_numpy(dy))
    return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@pytest.mark.parametrize("method", conv.Conv2d.METHODS)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_forward_and_backward_equal_autograd(method, case):
    B, c_in, c_out, H, W, k, s, p = case
    rng = np.random.default_rng(sum(case))
    layer = conv.Conv2d(c_in, c_out, k, stride=s, padding=p, method=method,
                        rng=rng)
    x = rng.normal(size=(B, c_in, H, W))
    y = layer(x)
    assert y.shape == (B, c_out, conv.output_size(H, k, padding=p, stride=s),
                       conv.output_size(W, k, padding=p, stride=s))
    dy = rng.normal(size=y.shape)
    dx = layer.backward(dy)
    y_t, dx_t, dw_t, db_t = _autograd_conv(x, layer.params["weight"],
                                           layer.params["bias"], s, p, dy)
    tol = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y, y_t, **tol)
    np.testing.assert_allclose(dx, dx_t, **tol)
    np.testing.assert_allclose(layer.grads["weight"], dw_t, **tol)
    np.testing.assert_allclose(layer.grads["bias"], db_t, **tol)


def test_unread_rows_get_zero_gradient_and_zero_upstream_gives_zero():
    layer = conv.Conv2d(1, 1, 2, stride=3, method="naive")  # 7 = 2 * 3 + 1
    x = np.random.default_rng(0).normal(size=(1, 1, 7, 7))
    dx = layer.backward(np.ones_like(layer(x)))
    assert np.all(dx[..., 2, :] == 0) and np.all(dx[..., 6, :] == 0)
    for method in conv.Conv2d.METHODS:
        layer = conv.Conv2d(2, 3, 3, padding=1, method=method)
        dx = layer.backward(np.zeros_like(layer(np.ones((2, 2, 4, 5)))))
        assert not dx.any() and not layer.grads["weight"].any()


def test_im2col_and_col2im_equal_torch_unfold_and_fold():
    rng = np.random.default_rng(1)
    for B, C, _, H, W, k, s, p in CONV_CASES:
        x = rng.normal(size=(B, C, H, W))
        cols = conv.im2col(x, k, stride=s, padding=p)
        ref = F.unfold(torch.from_numpy(x), k, stride=s, padding=p).numpy()
        np.testing.assert_array_equal(cols, ref)
        c = rng.normal(size=cols.shape)
        back = conv.col2im(c, x.shape, k, stride=s, padding=p)
        ref = F.fold(torch.from_numpy(c), (H, W), k, stride=s, padding=p)
        np.testing.assert_allclose(back, ref.numpy(), rtol=1e-12, atol=1e-14)
        # the adjoint identity <im2col(x), c> = <x, col2im(c)>
        assert np.isclose(np.sum(cols * c), np.sum(x * back), rtol=1e-12)


def test_im2col_keeps_float32_and_pads_with_the_given_value():
    x = np.ones((1, 1, 2, 2), dtype=np.float32)
    cols = conv.im2col(x, 2, padding=1, pad_value=-np.inf)
    assert cols.dtype == np.float32 and cols.shape == (1, 4, 9)
    assert np.isneginf(cols[0, :, 0]).sum() == 3  # the corner patch


def test_default_init_has_torchs_bounds_and_a_scheme_can_be_given():
    layer = conv.Conv2d(4, 16, 3, rng=0)
    bound = 1 / np.sqrt(4 * 9)
    for name in ("weight", "bias"):
        w = layer.params[name]
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    torch_layer = torch.nn.Conv2d(4, 16, 3)
    assert torch_layer.weight.abs().max().item() <= bound
    layer = conv.Conv2d(8, 64, 3, init=init.kaiming_normal, bias=0.5, rng=0)
    assert abs(layer.params["weight"].std() / np.sqrt(2 / 72) - 1) < 0.05
    assert np.all(layer.params["bias"] == 0.5)
    a, b = conv.Conv2d(2, 2, 3, rng=7), conv.Conv2d(2, 2, 3, rng=7)
    np.testing.assert_array_equal(a.params["weight"], b.params["weight"])


def _pool_autograd(x, k, s, dy):
    xt = torch.tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, k, stride=s)
    y.backward(torch.from_numpy(dy))
    return y.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("k, s, shape", [(2, None, (2, 3, 4, 6)),
                                         (3, 2, (1, 2, 7, 6)),
                                         (2, 1, (2, 1, 5, 5)),
                                         (3, 3, (1, 1, 8, 4)),
                                         (1, 2, (1, 2, 3, 5))])
@pytest.mark.parametrize("values", ["distinct", "ties", "constant"])
def test_maxpool_routes_gradients_like_torch_including_ties(k, s, shape,
                                                            values):
    rng = np.random.default_rng(3)
    x = {"distinct": rng.normal(size=shape),
         "ties": rng.integers(0, 3, size=shape).astype(float),
         "constant": np.full(shape, 2.0)}[values]
    pool = conv.MaxPool2d(k, s)
    y = pool(x)
    dy = rng.normal(size=y.shape)
    dx = pool.backward(dy)
    y_t, dx_t = _pool_autograd(x, k, k if s is None else s, dy)
    np.testing.assert_array_equal(y, y_t)
    np.testing.assert_allclose(dx, dx_t, rtol=1e-12, atol=1e-14)
    assert np.isclose(dx.sum(), dy.sum())  # every output sends all it has


def test_small_cnn_in_sequential_equals_its_torch_twin():
    rng = np.random.default_rng(4)
    for method in conv.Conv2d.METHODS:
        net = layers.Sequential(
            conv.Conv2d(1, 4, 3, padding=1, method=method, rng=1),
            layers.Activation("relu"), conv.MaxPool2d(2),
            conv.Conv2d(4, 6, 3, stride=2, padding=1, method=method, rng=2),
            layers.Activation("tanh"), layers.Flatten(),
            layers.Linear(6 * 2 * 2, 3, rng=3))
        twin = layers.to_torch(net)
        assert [n for n, _ in twin.named_parameters()] == list(net.params)
        x = rng.normal(size=(5, 1, 8, 8))
        out = net(x)
        dy = rng.normal(size=out.shape)
        dx = net.backward(dy)
        xt = torch.tensor(x, requires_grad=True)
        out_t = twin(xt)
        out_t.backward(torch.from_numpy(dy))
        np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10,
                                   atol=1e-13)
        for name, q in twin.named_parameters():
            np.testing.assert_allclose(net.grads[name], q.grad.numpy(),
                                       rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(
    "call, exc, msg",
    [
        (lambda: conv.Conv2d(0, 2, 3), ValueError, "c_in must be >= 1"),
        (lambda: conv.Conv2d(1, 2, 0), ValueError, "kernel_size must be >= 1"),
        (lambda: conv.Conv2d(1, 2, 3, stride=0), ValueError, "stride"),
        (lambda: conv.Conv2d(1, 2, 3, padding=-1), ValueError, "padding"),
        (lambda: conv.Conv2d(1, 2, 2.5), TypeError, "kernel_size"),
        (lambda: conv.Conv2d(1, 2, 3, method="fft"), ValueError,
         "method must be one of"),
        (lambda: conv.Conv2d(1, 2, 5)(np.ones((1, 1, 4, 9))), ValueError,
         "does not fit"),
        (lambda: conv.Conv2d(1, 2, 5, method="naive")(np.ones((1, 1, 9, 4))),
         ValueError, "does not fit"),
        (lambda: conv.MaxPool2d(0), ValueError, "kernel_size must be >= 1"),
        (lambda: conv.MaxPool2d(2, stride=0), ValueError, "stride"),
        (lambda: conv.MaxPool2d(3)(np.ones((1, 1, 2, 5))), ValueError,
         "does not fit"),
    ],
)
def test_conv_bad_inputs_are_named(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_layers_compute_in_the_dtype_of_their_arrays_and_print_their_settings():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 6, 6))
    for method in conv.Conv2d.METHODS:
        layer = conv.Conv2d(3, 4, 3, padding=1, method=method)
        y64 = layer.forward(x)
        dx64 = layer.backward(np.ones_like(y64))
        layer.params.update({n: p.astype(np.float32) for n, p in layer.params.items()})
        y32 = layer.forward(x.astype(np.float32))
        dx32 = layer.backward(np.ones_like(y32))
        assert y32.dtype == dx32.dtype == layer.grads["weight"].dtype == np.float32
        np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(dx32, dx64, rtol=1e-4, atol=1e-5)
    assert repr(conv.Conv2d(1, 2, 3, stride=2)) == "Conv2d(1, 2, 3, stride=2)"
    assert repr(conv.MaxPool2d(3, 2)) == "MaxPool2d(3, stride=2)"
    assert repr(conv.MaxPool2d(2)) == "MaxPool2d(2)"
