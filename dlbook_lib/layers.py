"""Layers of the from-scratch NumPy network, all with one protocol.

Every layer

* ``forward(x)`` returns the output and keeps what the backward pass needs;
* ``backward(dy)`` takes dL/d(output) of the last forward pass, stores dL/dp
  in ``grads[name]`` for each parameter and returns dL/dx;
* exposes ``params`` and ``grads``, dicts name -> float64 array of the same
  shape (the convention of :mod:`dlbook_lib.optim`: an optimiser updates
  ``params`` in place);
* has ``train()`` and ``eval()``; only layers that behave differently (batch
  norm, dropout) look at ``training``.

Shapes and names follow PyTorch (a batch is one example per row, ``weight`` of
a linear layer is (n_out, n_in)), so a network built here can be compared
weight for weight with its ``torch.nn`` twin. :class:`Sequential` chains layers
and names their parameters ``"0.weight"``, ``"0.bias"``, ... like
``torch.nn.Sequential.named_parameters()``. The backward pass of each layer is
derived in :doc:`/chapters/05_backpropagation` (linear layers, activations),
:doc:`/chapters/09_normalisation` (batch norm) and
:doc:`/chapters/13_vanishing_exploding_gradients` (residual blocks).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import activations
from ._validate import check_float, check_int


class Layer:
    """Base class: no parameters, identity behaviour left to subclasses."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: Any) -> np.ndarray:
        """``forward`` of ``x`` as a float64 array (lists, float32 data)."""
        return self.forward(np.asarray(x, dtype=float))

    def train(self, mode: bool = True) -> "Layer":
        """Training mode (``mode=True``) or evaluation mode."""
        self.training = mode
        return self

    def eval(self) -> "Layer":
        """Evaluation mode, as ``train(False)``."""
        return self.train(False)


def weight_and_bias(shape: tuple[int, ...],
                    init: Callable[..., np.ndarray] | None, bias: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Initial ``weight`` of ``shape`` and ``bias`` of length ``shape[0]``:
    with ``init=None`` PyTorch's default of ``nn.Linear`` and ``nn.Conv2d``
    for both, uniform in +-1/sqrt(fan_in) with fan_in = prod(shape[1:])
    (weight drawn first); otherwise ``init(shape, rng=rng)`` and a constant
    ``bias``."""
    if init is None:
        bound = 1.0 / np.sqrt(np.prod(shape[1:]))
        return (rng.uniform(-bound, bound, size=shape),
                rng.uniform(-bound, bound, size=shape[0]))
    return (np.asarray(init(shape, rng=rng), dtype=float),
            np.full(shape[0], check_float("bias", bias)))


class Linear(Layer):
    """y = x W^T + b for x of shape (B, n_in), ``weight`` W (n_out, n_in).

    ``init`` is a scheme of :mod:`dlbook_lib.init` (any callable
    ``init(shape, rng=...)``) for the weight; the bias starts at ``bias``
    (0 by default), or, with ``init=None``, both follow PyTorch's default
    (uniform in +-1/sqrt(n_in)). ``rng`` is a seed or a NumPy Generator.
    """

    def __init__(self, n_in: int, n_out: int, *,
                 init: Callable[..., np.ndarray] | None = None,
                 bias: float = 0.0, rng: int | np.random.Generator = 0):
        super().__init__()
        n_in = check_int("n_in", n_in, minimum=1)
        n_out = check_int("n_out", n_out, minimum=1)
        self.params["weight"], self.params["bias"] = weight_and_bias(
            (n_out, n_in), init, bias, np.random.default_rng(rng))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return x @ self.params["weight"].T + self.params["bias"]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self.grads["weight"] = dy.T @ self._x
        self.grads["bias"] = dy.sum(axis=0)
        return dy @ self.params["weight"]

    def __repr__(self) -> str:
        n_out, n_in = self.params["weight"].shape
        return f"Linear({n_in}, {n_out})"


class Activation(Layer):
    """An element-wise activation of :mod:`dlbook_lib.activations` by name."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self.fn = activations.get(name)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._z = x
        return self.fn.f(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * self.fn.grad(self._z)

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


class BatchNorm(Layer):
    """Batch normalisation over axis 1 of (N, D) or (N, C, H, W), as PyTorch.

    Training mode normalises with the batch mean and biased variance,
    y = weight * (x - mean) / sqrt(var + eps) + bias, and updates
    running = (1 - momentum) * running + momentum * statistic, with the
    *unbiased* variance for ``running_var``. Evaluation mode uses the running
    statistics. ``weight`` (gamma) and ``bias`` (beta) are the parameters;
    derived in :doc:`/chapters/09_normalisation`.
    """

    def __init__(self, num_features: int, *, eps: float = 1e-5,
                 momentum: float = 0.1):
        super().__init__()
        self.num_features = check_int("num_features", num_features, minimum=1)
        self.eps = check_float("eps", eps, minimum=0.0, strict_min=True)
        self.momentum = check_float("momentum", momentum, minimum=0.0,
                                    maximum=1.0)
        self.params["weight"] = np.ones(num_features)
        self.params["bias"] = np.zeros(num_features)
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = (0,) if x.ndim == 2 else (0, 2, 3)  # all axes but channels
        shape = (1, -1) + (1,) * (x.ndim - 2)  # broadcasts a channel vector
        if self.training:
            m = x.size // self.num_features   # values per channel
            if m < 2:   # torch's message, and why
                raise ValueError("expected more than 1 value per channel "
                                 f"when training, got input of shape "
                                 f"{x.shape}: the batch variance is "
                                 "undefined (use eval() or a larger batch)")
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            mom = self.momentum
            self.running_mean = (1 - mom) * self.running_mean + mom * mean
            self.running_var = ((1 - mom) * self.running_var
                                + mom * var * m / (m - 1))
        else:
            mean, var = self.running_mean, self.running_var
        sigma = np.sqrt(var + self.eps).reshape(shape)
        x_hat = (x - mean.reshape(shape)) / sigma
        self._cache = (x_hat, sigma, self.training, axes, shape)
        return (self.params["weight"].reshape(shape) * x_hat
                + self.params["bias"].reshape(shape))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = (gamma / sigma) (dy - mean(dy) - x_hat mean(dy x_hat)) in
        training mode (means over the statistics axes); (gamma / sigma) dy in
        evaluation mode, where the statistics are constants."""
        x_hat, sigma, training, axes, shape = self._cache
        self.grads["bias"] = dy.sum(axis=axes)
        self.grads["weight"] = (dy * x_hat).sum(axis=axes)
        scale = self.params["weight"].reshape(shape) / sigma
        if not training:
            return scale * dy
        return scale * (dy - dy.mean(axis=axes, keepdims=True)
                        - x_hat * (dy * x_hat).mean(axis=axes, keepdims=True))

    def __repr__(self) -> str:
        return f"BatchNorm({self.num_features})"


class Dropout(Layer):
    """Dropout with drop probability ``p`` (PyTorch's convention: ``p`` is
    the probability of *dropping* a unit, 1 - p of keeping it).

    In training mode each entry is kept with probability 1 - p, independently;
    the keep mask of the last forward pass is ``keep`` (a boolean array).
    Inverted dropout (the default, as ``torch.nn.Dropout``) divides the kept
    entries by 1 - p, so E[output] = input, and evaluation mode is the
    identity. With ``inverted=False`` training only zeroes entries and
    evaluation multiplies by 1 - p instead. ``use_mask(keep)`` fixes the mask
    (e.g. one read off ``torch.nn.Dropout``, or for a gradient check) until
    ``use_mask(None)``; otherwise every forward pass in training mode draws a
    new one from the layer's generator, seeded with ``seed``. Derived in
    :doc:`/chapters/15_regularisation`.
    """

    def __init__(self, p: float = 0.5, *, seed: int = 0,
                 inverted: bool = True):
        super().__init__()
        self.p = check_float("dropout probability p", p, minimum=0.0,
                             maximum=1.0, strict_max=True)
        self.inverted = inverted
        self.rng = np.random.default_rng(seed)
        self.keep: np.ndarray | None = None
        self._given: np.ndarray | None = None

    def use_mask(self, keep: Any) -> "Dropout":
        """Use the boolean mask ``keep`` (True = kept) in every forward pass
        in training mode from now on, instead of drawing masks;
        ``use_mask(None)`` draws them again."""
        self._given = None if keep is None else np.asarray(keep)
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training:
            self._factor = 1.0 if self.inverted else 1.0 - self.p
            return x * self._factor
        keep = self._given
        if keep is None:
            keep = self.rng.random(x.shape) >= self.p
        self.keep = keep
        self._factor = keep / (1.0 - self.p) if self.inverted else keep * 1.0
        return x * self._factor

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """The output is x times a constant factor (the scaled mask), so
        dL/dx is dy times the same factor."""
        return dy * self._factor

    def __repr__(self) -> str:
        extra = "" if self.inverted else ", inverted=False"
        return f"Dropout(p={self.p}{extra})"


class Flatten(Layer):
    """(B, d1, d2, ...) -> (B, d1 d2 ...), as ``torch.nn.Flatten``: joins
    a convolutional part to linear layers. No parameters; the backward pass
    reshapes the gradient back (:doc:`/chapters/17_convolution_backprop`).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy.reshape(self._shape)

    def __repr__(self) -> str:
        return "Flatten()"


class Sequential(Layer):
    """Layers applied in order; the backward pass runs them in reverse.

    ``params`` and ``grads`` name each layer's arrays ``"i.name"`` (the same
    arrays, so an optimiser's in-place update changes the layers).
    """

    def __init__(self, *layers: Layer):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} is not a dlbook_lib.layers.Layer")
        self.layers = list(layers)
        self.training = True   # no arrays of its own: see params and grads

    def _named(self, attr: str) -> dict[str, np.ndarray]:
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers)
                for k, v in getattr(layer, attr).items()}

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self._named("params")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self._named("grads")

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def train(self, mode: bool = True) -> "Sequential":
        super().train(mode)
        for layer in self.layers:
            layer.train(mode)
        return self

    def __repr__(self) -> str:
        inner = ", ".join(map(repr, self.layers))
        return f"Sequential({inner})"


class Residual(Layer):
    """A residual block y = x + F(x) around an inner layer F (often a
    :class:`Sequential`) whose output has the shape of its input.

    Its Jacobian is I + dF/dx, so the backward pass returns dy + F's input
    gradient (:doc:`/chapters/13_vanishing_exploding_gradients`). ``params``
    and ``grads`` are F's arrays, named ``"inner.<name>"`` like the
    parameters of a torch module that stores F as ``self.inner``.
    """

    def __init__(self, inner: Layer):
        self.inner = inner
        self.training = True   # no arrays of its own: see params and grads

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"inner.{k}": v for k, v in self.inner.params.items()}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {f"inner.{k}": v for k, v in self.inner.grads.items()}

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x + self.inner.forward(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy + self.inner.backward(dy)

    def train(self, mode: bool = True) -> "Residual":
        super().train(mode)
        self.inner.train(mode)
        return self

    def __repr__(self) -> str:
        return f"Residual({self.inner!r})"


def mlp(sizes: Sequence[int], activation: str = "relu", *,
        init: Callable[..., np.ndarray] | None = None,
        batch_norm: bool = False, seed: int = 0) -> Sequential:
    """Linear layers of the given sizes with ``activation`` in between.

    ``mlp([40, 100, 10])`` is Linear(40, 100), ReLU, Linear(100, 10): the last
    layer is linear (logits). ``batch_norm=True`` puts a :class:`BatchNorm`
    after each hidden linear layer, before the activation. ``init`` as in
    :class:`Linear`; all layers draw from one generator seeded with ``seed``.
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes needs an input and an output size: {sizes}")
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(n_in, n_out, init=init, rng=rng))
        if i < len(sizes) - 2:
            if batch_norm:
                layers.append(BatchNorm(n_out))
            layers.append(Activation(activation))
    return Sequential(*layers)


def to_torch(model: Sequential):
    """The same network in ``torch.nn``, with float64 copies of the
    parameters, for side-by-side checks against autograd.

    Each :class:`Linear` becomes ``nn.Linear``, each :class:`Activation` its
    twin from :func:`dlbook_lib.activations.torch_module`, each
    :class:`BatchNorm` an ``nn.BatchNorm1d`` (inputs of shape (N, D)) with
    the same eps, momentum and running statistics, :class:`Flatten`
    ``nn.Flatten``, and a layer with a ``torch_twin()`` method (the
    convolution and pooling layers of :mod:`dlbook_lib.conv`) the module
    that method builds; every module gets its layer's train/eval mode.
    Parameter names agree (``"0.weight"``, ...). PyTorch's random state is
    not used. Introduced in
    :doc:`/chapters/05_backpropagation`.
    """
    import torch
    from torch import nn

    mods: list[nn.Module] = []
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Linear):
            n_out, n_in = layer.params["weight"].shape
            # skip_init: no random initialisation, the weights are copied
            mod = nn.utils.skip_init(nn.Linear, n_in, n_out,
                                     dtype=torch.float64)
        elif isinstance(layer, Activation):
            mod = activations.torch_module(layer.name)
            if any(True for _ in mod.parameters()):
                raise ValueError(f"layer {i}: torch's {layer.name} learns "
                                 "its own parameter, ours has none")
        elif isinstance(layer, BatchNorm):
            mod = nn.BatchNorm1d(layer.num_features, eps=layer.eps,
                                 momentum=layer.momentum, dtype=torch.float64)
            mod.running_mean.copy_(torch.from_numpy(layer.running_mean))
            mod.running_var.copy_(torch.from_numpy(layer.running_var))
        elif isinstance(layer, Flatten):
            mod = nn.Flatten()
        elif hasattr(layer, "torch_twin"):  # e.g. conv.Conv2d, conv.MaxPool2d
            mod = layer.torch_twin()
        else:
            raise TypeError(f"layer {i} ({layer!r}) has no torch.nn twin "
                            "in to_torch")
        mods.append(mod.train(layer.training))
    twin = nn.Sequential(*mods)
    twin.training = model.training
    with torch.no_grad():
        for name, p in twin.named_parameters():
            p.copy_(torch.from_numpy(model.params[name]))
    return twin
