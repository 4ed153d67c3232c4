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
from typing import Any

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
    rtol = check_float("rtol", rtol, minimum=0.0)
    atol = check_float("atol", atol, minimum=0.0)
    if rtol == 0.0 and atol == 0.0:
        raise ValueError("rtol and atol cannot both be 0; use check_true")
    a = as_float_array("actual", actual)
    e = as_float_array("expected", expected)
    if a.shape != e.shape:
        raise ValueError(f"cannot compare {what}: shapes {a.shape}, {e.shape}")
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
    if bool(condition):
        say(f"{PASS} {what}")
        return
    msg = f"{FAIL} {what}" + (f": {detail}" if detail else "")
    raise AssertionError(msg)


class CheckGroup:
    """Several comparisons and claims reported as **one** verdict line.

    Use it as a context manager when a check cell compares many things::

        with checks.group("dJ/dW and dJ/db match autograd at 5 points") as c:
            for point in points:
                c.close(mine(point), autograd(point), rtol=1e-10)

    prints ``✓ dJ/dW and dJ/db match autograd at 5 points (10 comparisons,
    rel. tol 1e-10)``. When any comparison or claim fails, the line starts
    with ✗, the failing items are listed under it with their errors, and
    ``AssertionError`` is raised when the block ends.
    """

    def __init__(self, what: str):
        self.what = what
        self.count = 0
        self.rtols: list[float] = []
        self.failures: list[str] = []

    def close(self, actual: Any, expected: Any, item: str = "", *,
              rtol: float = 1e-7, atol: float = 1e-12) -> bool:
        """Compare like :func:`check_close`; ``item`` names it on failure."""
        result = compare(actual, expected, item or f"item {self.count + 1}",
                         rtol=rtol, atol=atol)
        self.count += 1
        self.rtols.append(rtol)
        if not result.passed:
            self.failures.append(result.verdict())
        return result.passed

    def true(self, condition: Any, item: str, detail: str = "") -> bool:
        """Record a claim like :func:`check_true`."""
        self.count += 1
        if not bool(condition):
            self.failures.append(f"{FAIL} {item}"
                                 + (f": {detail}" if detail else ""))
        return bool(condition)

    def verdict(self) -> str:
        """The one line the group prints."""
        n = f"{self.count} check{'s' if self.count != 1 else ''}"
        tol = f", rel. tol {max(self.rtols):.0e}" if self.rtols else ""
        if not self.failures:
            return f"{PASS} {self.what} ({n}{tol})"
        return (f"{FAIL} {self.what}: {len(self.failures)} of {n} failed\n"
                + "\n".join("  " + f for f in self.failures))

    def __enter__(self) -> "CheckGroup":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            return False
        if self.count == 0:
            raise AssertionError(f"{FAIL} {self.what}: the group checked "
                                 "nothing")
        line = self.verdict()
        if self.failures:
            print(line)
            raise AssertionError(line)
        say(line)
        return False


def group(what: str) -> CheckGroup:
    """Start a :class:`CheckGroup`: many checks, one verdict line."""
    return CheckGroup(what)
