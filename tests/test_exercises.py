"""dlbook_lib.exercises: the checker says right, wrong (with a hint) or not
answered, never raises on a reader's answer, and verify() fails loudly when a
checker would accept a wrong answer or reject the solution."""
import numpy as np
import pytest

from dlbook_lib.exercises import Exercise, close_to, exercise, one_of


def test_close_to_right_wrong_shape_and_unanswered(capsys):
    ex = Exercise("1.1", close_to(lambda: np.array([1.0, 2.0])),
                  hint="add the two terms")
    ex.check(np.array([1.0, 2.0]))
    assert ex.passed
    assert "right" in capsys.readouterr().out
    ex.check(np.array([1.0, 2.5]))
    assert not ex.passed
    out = capsys.readouterr().out
    assert "not yet" in out and "off by up to 0.5" in out and "Hint:" in out
    ex.check([1.0])
    assert not ex.passed
    assert "shape (1,)" in capsys.readouterr().out
    ex.check(None)
    assert not ex.passed
    assert "no answer yet" in capsys.readouterr().out


def test_malformed_answer_is_wrong_not_an_exception(capsys):
    ex = Exercise("1.2", close_to(3.0), hint="a number")
    ex.check("three")
    assert not ex.passed
    assert "could not be checked" in capsys.readouterr().out


def test_one_of_uses_the_measured_outcome(capsys):
    measured = {"value": "relu"}
    ex = Exercise("6.1", one_of(lambda: measured["value"],
                                ("relu", "sigmoid")), hint="look at depth")
    ex.check("relu")
    assert ex.passed
    ex.check("sigmoid")
    assert not ex.passed
    ex.check("tanh")
    assert not ex.passed
    assert "answer with one of" in capsys.readouterr().out


def test_verify_accepts_solution_and_rejects_wrong(capsys):
    ex = Exercise("2.1", close_to(2.0), hint="h")
    ex.verify(2.0, 4.0, "twice it")
    assert "rejects twice it" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="rejects the solution"):
        ex.verify(3.0, 4.0, "x")
    with pytest.raises(AssertionError, match="accepts a wrong answer"):
        ex.verify(2.0, 2.0 + 1e-12, "a rounding slip")  # within tolerance


def test_bad_construction():
    with pytest.raises(TypeError, match="name"):
        Exercise("", close_to(1.0), hint="h")
    with pytest.raises(TypeError, match="callable"):
        Exercise("1", 3, hint="h")


def test_exercise_cell_makes_the_exercise_and_checks_the_answer_at_once(capsys):
    def test(answer):  # no return: right
        if answer != 6:
            return "count again"

    ex = exercise("3.2", test, 6, hint="two times three")
    assert ex.passed and ex.name == "3.2"
    assert capsys.readouterr().out.strip() == "\u2713 Exercise 3.2: right."
    ex = exercise("3.2", test, 5, hint="two times three")
    assert not ex.passed
    assert "count again. Hint: two times three" in capsys.readouterr().out
    assert not exercise("3.2", test, None, hint="h").passed
    assert "no answer yet" in capsys.readouterr().out
