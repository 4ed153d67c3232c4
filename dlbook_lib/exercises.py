"""Self-checking exercises: the reader writes an answer, a check cell says
whether it is right and gives a hint when it is not.

Each exercise in a chapter is an :class:`Exercise` whose ``test`` function
compares an answer with an independent reference (autograd, a closed form, a
measurement) and returns ``None`` when the answer is right (a function that
ends without ``return`` does) or a short reason when it is not. A chapter's
exercise cell makes it and checks the reader's answer with :func:`exercise`.
The hidden solution cell ends with :meth:`Exercise.verify`, which asserts
that the checker accepts the solution and rejects a typical wrong answer, so
every run of the test suite proves both.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .checks import FAIL, PASS, say


class Exercise:
    """An exercise with a checker and a hint.

    ``test(answer)`` returns ``None`` when ``answer`` is right and otherwise a
    short reason (``"the 1/N of the batch mean is missing"``). ``hint`` is
    shown with every wrong answer.
    """

    def __init__(self, name: str, test: Callable[[Any], str | None], *,
                 hint: str):
        if not isinstance(name, str) or not name:
            raise TypeError("name must be a non-empty string, e.g. '3.1'")
        if not callable(test):
            raise TypeError(f"test must be callable, not {type(test).__name__}")
        self.name = name
        self.test = test
        self.hint = hint
        #: whether the last answer given to :meth:`check` was right
        self.passed = False

    def __repr__(self) -> str:
        return f"Exercise({self.name!r})"

    def _reason(self, answer: Any) -> str | None:
        try:
            return self.test(answer)
        except Exception as err:  # a malformed answer is a wrong answer
            return f"the answer could not be checked ({type(err).__name__}:"\
                   f" {err})"

    def check(self, answer: Any) -> None:
        """Print whether ``answer`` is right (with the hint when it is not)
        and remember it in :attr:`passed`. Never raises, so a reader's
        notebook keeps running; returns nothing, so a notebook shows only
        the printed line.
        """
        self.passed = False
        if answer is None:  # the exercise cell as shipped
            say(f"Exercise {self.name}: no answer yet. Replace None with "
                "your answer and run this cell again.")
            return
        reason = self._reason(answer)
        if reason is None:
            self.passed = True
            say(f"{PASS} Exercise {self.name}: right.")
            return
        say(f"{FAIL} Exercise {self.name}: not yet: {reason}. "
            f"Hint: {self.hint}")

    def verify(self, solution: Any, wrong: Any, wrong_is: str) -> None:
        """Assert that the checker accepts ``solution`` and rejects ``wrong``,
        a typical mistake described by ``wrong_is``; print one line.
        """
        reason = self._reason(solution)
        if reason is not None:
            raise AssertionError(f"{FAIL} Exercise {self.name}: the checker "
                                 f"rejects the solution: {reason}")
        if self._reason(wrong) is None:
            raise AssertionError(f"{FAIL} Exercise {self.name}: the checker "
                                 f"accepts a wrong answer ({wrong_is})")
        say(f"{PASS} Exercise {self.name}: the checker accepts this solution "
            f"and rejects {wrong_is}.")


def exercise(name: str, test: Callable[[Any], str | None], answer: Any, *,
             hint: str) -> Exercise:
    """The exercise cell of a chapter in one call: make the
    :class:`Exercise` ``name`` with its ``test`` and ``hint``, check the
    reader's ``answer`` with it at once, and return it (its solution cell
    calls :meth:`Exercise.verify`).
    """
    ex = Exercise(name, test, hint=hint)
    ex.check(answer)
    return ex


def close_to(reference: Any, *, rtol: float = 1e-6, atol: float = 1e-9,
             what: str = "your answer") -> Callable[[Any], str | None]:
    """A ``test`` for :class:`Exercise`: right when the answer has the shape
    of ``reference`` and is within ``atol + rtol * |reference|`` of it.
    ``reference`` may be a function of no arguments, evaluated at check time.
    """
    def test(answer: Any) -> str | None:
        ref = np.asarray(reference() if callable(reference) else reference,
                         dtype=float)
        ans = np.asarray(answer.detach() if hasattr(answer, "detach")
                         else answer, dtype=float)
        if ans.shape != ref.shape:
            return f"{what} has shape {ans.shape}, expected {ref.shape}"
        if not np.allclose(ans, ref, rtol=rtol, atol=atol):
            err = float(np.max(np.abs(ans - ref)))
            return f"{what} is off by up to {err:.2g}"
        return None
    return test


def one_of(correct: Any, choices: tuple) -> Callable[[Any], str | None]:
    """A ``test`` for a multiple-choice or predict-then-run exercise:
    right when the answer equals ``correct`` (a value or a function of no
    arguments returning the measured outcome), which must be in ``choices``.
    """
    def test(answer: Any) -> str | None:
        if answer not in choices:
            return f"answer with one of {choices}"
        truth = correct() if callable(correct) else correct
        return None if answer == truth else f"{answer!r} is not what happens"
    return test
