"""Checks that make a derivation fail loudly when it is wrong.

A check compares a result against an *independent* reference (autograd, finite
differences, a closed form, Monte Carlo, PyTorch's own layer) and prints one
short, deterministic verdict line. The verdict states the tolerance, not the
measured error, so stored notebook outputs do not depend on the last bits of
floating-point arithmetic. Introduced in
:doc:`/chapters/01_learning_is_fitting`.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ._validate import as_float_array, check_float

PASS = "\u2713"  # ✓
FAIL = "\u2717"  # ✗
#: Printed lines are wrapped to this width, the width of the book's pages.
WIDTH = 80


def say(line: str) -> None:
    """Print a verdict wrapped to :data:`WIDTH` characters (continuation
    lines indented).
    """
    print(textwrap.fill(line, WIDTH, subsequent_indent="  ",
                        break_long_words=False, break_on_hyphens=False))


@dataclass(frozen=True)
class Comparison:
    """Result of comparing ``actual`` with ``expected`` element-wise.

    The comparison passes when every entry satisfies
    ``abs(a - e) <= atol + rtol * abs(e)`` (the rule of ``numpy.allclose``).
    ``max_abs_error`` is ``max abs(a - e)`` and ``max_rel_error`` is
    ``max abs(a - e) / abs(e)`` over the entries where ``e != 0``; both are kept
    for diagnosis.
    """

    what: str
    max_abs_error: float
    max_rel_error: float
    rtol: float
    atol: float
    passed: bool

    def verdict(self) -> str:
        """One deterministic line: the mark, what was compared and the tolerance
        it met.
        """
        tol = f"rel. tol {self.rtol:.0e}, abs. tol {self.atol:.0e}"
        if self.passed:
            return f"{PASS} {self.what} ({tol})"
        return (f"{FAIL} {self.what}: max abs. error {self.max_abs_error:.3e}, "
                f"max rel. error {self.max_rel_error:.3e} ({tol})")


def compare(actual: Any, expected: Any, what: str = "result", *,
            rtol: float = 1e-7, atol: float = 1e-12) -> Comparison:
    """Compare two same-shaped arrays (NumPy, torch, nested lists or scalars).

    Passes when ``abs(a - e) <= atol + rtol * abs(e)`` for every entry;
    ``expected`` is the reference.
    """
    if not isinstance(what, str) or not what:
        raise TypeError("what must be a non-empty string describing the "
                        "comparison")
    rtol = check_float("rtol", rtol, minimum=0.0)
    atol = check_float("atol", atol, minimum=0.0)
    if rtol == 0.0 and atol == 0.0:
        raise ValueError("rtol and atol cannot both be 0; "
                         "use check_true for exact equality")
    a = as_float_array("actual", actual)
    e = as_float_array("expected", expected)
    if a.shape != e.shape:
        raise ValueError(f"cannot compare {what}: actual has shape {a.shape}, "
                         f"expected has shape {e.shape}")
    diff = np.abs(a - e)
    nonzero = e != 0
    max_rel = (float((diff[nonzero] / np.abs(e[nonzero])).max())
               if nonzero.any() else 0.0)
    passed = bool(np.all(diff <= atol + rtol * np.abs(e)))
    return Comparison(what, float(diff.max()), max_rel, rtol, atol, passed)


def check_close(actual: Any, expected: Any, what: str, *, rtol: float = 1e-7,
                atol: float = 1e-12) -> None:
    """Compare, print the one-line verdict, raise ``AssertionError`` on failure.

    Example: the call ::

        check_close(my_grad, autograd_grad, "dL/dw matches autograd",
                    rtol=1e-10)

    prints ``✓ dL/dw matches autograd (rel. tol 1e-10, abs. tol 1e-12)``.
    """
    result = compare(actual, expected, what, rtol=rtol, atol=atol)
    say(result.verdict())
    if not result.passed:
        raise AssertionError(result.verdict())


def check_true(condition: Any, what: str, detail: str = "") -> None:
    """Print ``✓ what`` if ``condition`` holds, else raise ``AssertionError``.

    ``detail`` is added to the failure message only (e.g. the numbers that broke
    the claim).
    """
    if not isinstance(what, str) or not what:
        raise TypeError("what must be a non-empty string describing the claim")
    if isinstance(condition, np.ndarray):
        raise TypeError("condition must be a single truth value; "
                        "use .all() or .any() first")
    if bool(condition):
        say(f"{PASS} {what}")
        return
    msg = f"{FAIL} {what}" + (f": {detail}" if detail else "")
    raise AssertionError(msg)


def numerical_gradient(f: Callable[[np.ndarray], float], x: Any, *,
                       eps: float = 1e-6,
                       method: str = "central") -> np.ndarray:
    """Finite-difference gradient of scalar ``f`` at ``x`` (any shape, float64).

    ``method="central"`` uses (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), error
    O(eps^2); ``method="forward"`` uses (f(x + eps e_i) - f(x)) / eps, error
    O(eps). ``x`` is not modified.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    eps = check_float("eps", eps, minimum=0.0, strict_min=True)
    if method not in ("central", "forward"):
        raise ValueError(f"method must be 'central' or 'forward', "
                         f"got {method!r}")
    x = as_float_array("x", x).copy()
    grad = np.empty_like(x)
    fx = None if method == "central" else _scalar(f(x.copy()))
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        f_plus = _scalar(f(x.copy()))
        if method == "central":
            x[idx] = old - eps
            f_minus = _scalar(f(x.copy()))
            grad[idx] = (f_plus - f_minus) / (2 * eps)
        else:
            grad[idx] = (f_plus - fx) / eps
        x[idx] = old
    return grad


def _scalar(value: Any) -> float:
    arr = np.asarray(
        value.detach().cpu() if hasattr(value, "detach") else value,
        dtype=float)
    if arr.size != 1:
        raise ValueError(f"f must return a scalar, "
                         f"got an array of shape {arr.shape}")
    return float(arr.reshape(()))


def check_gradient(f: Callable[[np.ndarray], float], grad: Any, x: Any,
                   what: str, *, eps: float = 1e-6, rtol: float = 1e-6,
                   atol: float = 1e-8) -> None:
    """Check an analytic gradient ``grad`` (evaluated at ``x``) against centred
    differences of ``f``.

    Prints the verdict and raises ``AssertionError`` on failure, like
    :func:`check_close`. Centred differences have error O(eps^2) plus round-off
    O(macheps / eps); eps = 1e-6 keeps both near 1e-10 for functions of moderate
    size.
    """
    x_arr = as_float_array("x", x)
    g = as_float_array("grad", grad)
    if g.shape != x_arr.shape:
        raise ValueError(f"grad has shape {g.shape} "
                         f"but x has shape {x_arr.shape}")
    numeric = numerical_gradient(f, x_arr, eps=eps, method="central")
    check_close(g, numeric, what, rtol=rtol, atol=atol)
