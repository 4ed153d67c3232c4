"""A scalar reverse-mode automatic differentiation engine in a few dozen lines.

Built and checked against PyTorch in :doc:`/chapters/05_backpropagation`, in the
spirit of Karpathy's micrograd. Every arithmetic operation on :class:`Value`
objects records a node of the computational graph together with its *local*
derivatives. :meth:`Value.backward` visits the nodes in reverse topological
order (every node after all the nodes that use it) and applies the chain rule:
each parent receives its local derivative times the gradient of the node.
Gradients are *added*, so a value used several times (fan-out) collects the sum
of the contributions of all its uses, which is the multivariate chain rule.
"""
from __future__ import annotations

import math
import numbers
from typing import Any


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, "
                        f"got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


class Value:
    """A scalar node of a computational graph: its value ``data`` and, after
    backward, ``grad``.

    ``parents`` are the nodes it was computed from and ``local_grads`` the
    partial derivatives d(self)/d(parent), evaluated during the forward pass.
    """

    __slots__ = ("data", "grad", "parents", "local_grads", "op")

    def __init__(self, data: float, parents: tuple["Value", ...] = (),
                 local_grads: tuple[float, ...] = (), op: str = ""):
        self.data = _real("data", data)
        self.grad = 0.0
        if len(parents) != len(local_grads):
            raise ValueError("need one local derivative per parent")
        self.parents = tuple(parents)
        self.local_grads = tuple(local_grads)
        self.op = op

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    @staticmethod
    def lift(other: Any) -> "Value":
        """Wrap a number as a constant leaf; Values pass through unchanged."""
        return (other if isinstance(other, Value)
                else Value(_real("an operand of a Value", other)))

    # --- operations: each returns a new node with its local derivatives ------
    def __add__(self, other: Any) -> "Value":
        other = Value.lift(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other: Any) -> "Value":
        other = Value.lift(other)
        return Value(self.data * other.data, (self, other),
                     (other.data, self.data), "*")

    def __pow__(self, exponent: Any) -> "Value":
        if isinstance(exponent, Value):
            raise TypeError("only constant exponents are supported; "
                            "write (y * x.log()).exp() for x ** y")
        k = _real("exponent", exponent)
        if self.data == 0.0 and k < 1.0:
            raise ValueError(f"x ** {k} has no derivative at x = 0")
        if self.data < 0.0 and k != int(k):
            raise ValueError(f"x ** {k} is not real for x = {self.data} < 0")
        return Value(self.data**k, (self,), (k * self.data ** (k - 1),),
                     f"**{k:g}")

    def exp(self) -> "Value":
        """exp(x), local derivative exp(x)."""
        e = math.exp(self.data)
        return Value(e, (self,), (e,), "exp")

    def log(self) -> "Value":
        """Natural logarithm, local derivative 1/x; x must be positive."""
        if self.data <= 0.0:
            raise ValueError(f"log needs a positive argument, got {self.data}")
        return Value(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def tanh(self) -> "Value":
        """tanh(x), local derivative 1 - tanh(x)^2."""
        t = math.tanh(self.data)
        return Value(t, (self,), (1.0 - t * t,), "tanh")

    def relu(self) -> "Value":
        """max(x, 0), local derivative 1 for x > 0 and 0 otherwise
        (PyTorch's choice at 0).
        """
        return Value(max(self.data, 0.0), (self,), (float(self.data > 0.0),),
                     "relu")

    # --- everything else is built from the operations above ------------------
    def __neg__(self) -> "Value":
        return self * -1.0

    def __sub__(self, other: Any) -> "Value":
        return self + (-Value.lift(other))

    def __truediv__(self, other: Any) -> "Value":
        other = Value.lift(other)
        if other.data == 0.0:
            raise ZeroDivisionError("division by a Value whose data is 0")
        return self * other**-1

    def __radd__(self, other: Any) -> "Value":
        return self + other

    def __rmul__(self, other: Any) -> "Value":
        return self * other

    def __rsub__(self, other: Any) -> "Value":
        return Value.lift(other) - self

    def __rtruediv__(self, other: Any) -> "Value":
        return Value.lift(other) / self

    # --- reverse mode --------------------------------------------------------
    def backward(self) -> None:
        """Set ``grad`` = d(self)/d(node) on every node that self depends on."""
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):  # outputs first, inputs last
            for parent, local in zip(node.parents, node.local_grads):
                parent.grad += local * node.grad  # fan-out: sums over all uses


def topological_order(root: Value) -> list[Value]:
    """All nodes that ``root`` depends on, each after its parents (root last).

    A depth-first search with an explicit stack, so deep graphs do not hit
    Python's recursion limit; a node is appended once all its parents have been
    appended.
    """
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value, got {type(root).__name__}")
    order: list[Value] = []
    visited: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node.parents
                         if id(p) not in visited)
    return order
