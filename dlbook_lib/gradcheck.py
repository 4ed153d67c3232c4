"""Gradient checking: compare a backward pass with centred finite differences,
parameter by parameter.

Derived and measured in :doc:`/chapters/05_backpropagation`. For each named
parameter the analytic gradient ``a`` is compared with the numerical gradient
``n`` of centred differences (computed by
:func:`dlbook_lib.numeric.numerical_gradient`) through the relative error::

    norm(a - n) / (norm(a) + norm(n))

which is 0 for a perfect match, 1/3 when a factor of 2 is missing and 1 when the
sign is wrong. In float64 with eps = 1e-6 the correct backward passes measured
in the chapter score between about 1e-9 and 2e-8; the default threshold 1e-7
leaves room for that, while the bugs measured there score 1e-1 and more.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from ._validate import as_float_array, check_float
from .checks import FAIL, PASS
from .numeric import numerical_gradient


def relative_error(analytic: Any, numeric: Any) -> float:
    """norm(analytic - numeric) / (norm(analytic) + norm(numeric)); 0 if both
    are zero.
    """
    a = as_float_array("analytic", analytic)
    n = as_float_array("numeric", numeric)
    if a.shape != n.shape:
        raise ValueError(f"analytic has shape {a.shape}, numeric {n.shape}")
    scale = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if scale == 0.0 else float(np.linalg.norm(a - n) / scale)


@dataclass(frozen=True)
class GradCheckReport:
    """Relative error of each parameter's gradient and the threshold it was
    judged by.
    """

    errors: dict[str, float]
    threshold: float

    @property
    def failed(self) -> list[str]:
        """Names of parameters whose relative error exceeds the threshold."""
        return [name for name, err in self.errors.items()
                if not err <= self.threshold]

    @property
    def passed(self) -> bool:
        """True when every parameter's gradient agrees."""
        return not self.failed

    def table(self) -> str:
        """One line per parameter: name, relative error, verdict.

        A passing error is shown as the bound it met ("<= 1e-07"): its own
        digits are round-off, which differs between machines, so the stored
        output states only the claim.
        """
        lines = []
        for name, err in self.errors.items():
            ok = err <= self.threshold
            shown = f"<= {self.threshold:.0e}" if ok else f"{err:.1e}"
            lines.append(f"  {name:>6s}  rel. error {shown:>8s}  "
                         f"{PASS if ok else FAIL}")
        return "\n".join(lines)

    def verdict(self) -> str:
        """One line: which parameters agree or disagree, at which threshold."""
        if self.passed:
            return (f"{PASS} all {len(self.errors)} parameter gradients "
                    f"agree with centred differences "
                    f"(rel. error <= {self.threshold:.0e})")
        return (f"{FAIL} gradients disagree for {', '.join(self.failed)} "
                f"(rel. error > {self.threshold:.0e})")

    def __str__(self) -> str:
        return self.table() + "\n" + self.verdict()


def gradient_check(loss_fn: Callable[[dict[str, np.ndarray]], float],
                   params: Mapping[str, Any], grads: Mapping[str, Any], *,
                   eps: float = 1e-6,
                   threshold: float = 1e-7) -> GradCheckReport:
    """Check ``grads`` (name -> analytic gradient) against centred differences
    of ``loss_fn``.

    ``loss_fn`` receives a dict name -> array holding all parameters and returns
    the scalar loss; each parameter in turn is perturbed entry by entry while
    the others stay fixed.
    """
    if not params or set(grads) != set(params):
        raise ValueError("params and grads must be non-empty dicts with the "
                         f"same names, got {sorted(params)}, {sorted(grads)}")
    eps = check_float("eps", eps, minimum=0.0, strict_min=True)
    threshold = check_float("threshold", threshold, minimum=0.0,
                            strict_min=True)
    base = {name: as_float_array(f"params[{name!r}]", p)
            for name, p in params.items()}
    errors = {}
    for name in base:
        numeric = numerical_gradient(lambda p: loss_fn({**base, name: p}),
                                     base[name], eps=eps)
        errors[name] = relative_error(grads[name], numeric)
    return GradCheckReport(errors, threshold)


def check_model(model, loss: Callable, x: Any, *, eps: float = 1e-6,
                threshold: float = 1e-7) -> GradCheckReport:
    """Gradient check of a network of :mod:`dlbook_lib.layers`.

    ``loss(output)`` returns the loss and its gradient dL/d(output). The
    model's backward pass fills ``model.grads``; each parameter is then
    perturbed in place, entry by entry, and restored afterwards. Layers that
    keep running statistics (batch norm in training mode) update them on
    every forward pass of the check.
    """
    x = as_float_array("x", x)
    model.backward(loss(model.forward(x))[1])
    grads = {name: g.copy() for name, g in model.grads.items()}
    params = model.params
    saved = {name: p.copy() for name, p in params.items()}

    def loss_of(values: dict[str, np.ndarray]) -> float:
        for name, v in values.items():
            params[name][...] = v
        return loss(model.forward(x))[0]

    try:
        return gradient_check(loss_of, saved, grads, eps=eps,
                              threshold=threshold)
    finally:
        for name, p in params.items():
            p[...] = saved[name]
