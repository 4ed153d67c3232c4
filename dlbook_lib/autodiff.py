"""Reverse-mode automatic differentiation, in two views that share one table
of local derivatives (:data:`PRIMITIVES`).

- :class:`ComputationalGraph` (:doc:`/chapters/04_chain_rule`) is an explicit
  list of named nodes: :meth:`~ComputationalGraph.forward` computes every
  node's value and :meth:`~ComputationalGraph.backward` accumulates each node's
  adjoint from the output back, so every intermediate can be printed.
- :class:`Value` (:doc:`/chapters/05_backpropagation`, in the spirit of
  Karpathy's micrograd) records the same graph implicitly as Python arithmetic
  runs; :meth:`Value.backward` visits the nodes in reverse topological order.

Both apply the chain rule the same way: each parent receives its local
derivative times the adjoint of the node, and contributions are *added*, so a
value used several times (fan-out) collects the sum over all its uses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from ._validate import check_float


@dataclass(frozen=True)
class Primitive:
    """An elementary operation of a :class:`ComputationalGraph`.

    ``value(*args)`` computes the node from its parents' values and
    ``partials(*args)`` returns the local derivatives of the node with respect
    to each parent, in the same order.
    """

    arity: int
    value: Callable[..., float]
    partials: Callable[..., tuple[float, ...]]


PRIMITIVES: dict[str, Primitive] = {
    "add": Primitive(2, lambda a, b: a + b, lambda a, b: (1.0, 1.0)),
    "sub": Primitive(2, lambda a, b: a - b, lambda a, b: (1.0, -1.0)),
    "mul": Primitive(2, lambda a, b: a * b, lambda a, b: (b, a)),
    "neg": Primitive(1, lambda a: -a, lambda a: (-1.0,)),
    "square": Primitive(1, lambda a: a * a, lambda a: (2.0 * a,)),
    "sin": Primitive(1, math.sin, lambda a: (math.cos(a),)),
    "cos": Primitive(1, math.cos, lambda a: (-math.sin(a),)),
    "exp": Primitive(1, math.exp, lambda a: (math.exp(a),)),
    "log": Primitive(1, math.log, lambda a: (1.0 / a,)),
    "tanh": Primitive(1, math.tanh, lambda a: (1.0 - math.tanh(a) ** 2,)),
    "relu": Primitive(1, lambda a: max(a, 0.0), lambda a: (float(a > 0.0),)),
}
"""The operations of both views, by name: value and local derivatives."""


@dataclass(frozen=True)
class GraphNode:
    """One node of a :class:`ComputationalGraph`: an input (``op == "input"``)
    or an operation.
    """

    name: str
    op: str
    parents: tuple[str, ...]


class ComputationalGraph:
    """A scalar expression as a list of named nodes in evaluation
    (topological) order.

    Build it with :meth:`input` and :meth:`op`; each node may only use nodes
    defined before it, so the order of definition is a valid evaluation order.
    :meth:`forward` computes every node's value; :meth:`backward` walks the
    nodes in reverse and accumulates each node's adjoint, the derivative of the
    output with respect to that node. A node used by several others receives one
    contribution per use, and the contributions add: that sum is case 2 of the
    chain rule. See :doc:`/chapters/04_chain_rule`.
    """

    def __init__(self) -> None:
        self.nodes: list[GraphNode] = []
        self._names: set[str] = set()

    def _add(self, node: GraphNode) -> str:
        if node.name in self._names:
            raise ValueError(f"a node named {node.name!r} already exists")
        self.nodes.append(node)
        self._names.add(node.name)
        return node.name

    def input(self, name: str) -> str:
        """Add an input node and return its name."""
        return self._add(GraphNode(name, "input", ()))

    def op(self, name: str, op: str, *parents: str) -> str:
        """Add the node ``name = op(*parents)`` and return its name.

        ``op`` is a key of PRIMITIVES.
        """
        if op not in PRIMITIVES:
            raise ValueError(f"unknown operation {op!r}; "
                             f"choose one of {sorted(PRIMITIVES)}")
        if len(parents) != PRIMITIVES[op].arity:
            raise ValueError(f"{op} takes {PRIMITIVES[op].arity} argument(s)")
        if not set(parents) <= self._names:
            raise ValueError(f"node {name!r} uses undefined node(s) "
                             f"{sorted(set(parents) - self._names)}")
        return self._add(GraphNode(name, op, tuple(parents)))

    @property
    def inputs(self) -> list[str]:
        """Names of the input nodes, in order of definition."""
        return [n.name for n in self.nodes if n.op == "input"]

    def forward(self, **inputs: float) -> dict[str, float]:
        """Evaluate every node from the given input values; returns
        ``{name: value}``.
        """
        if set(inputs) != set(self.inputs):
            raise ValueError(f"forward needs exactly the inputs {self.inputs}, "
                             f"got {sorted(inputs)}")
        values: dict[str, float] = {}
        for node in self.nodes:
            if node.op == "input":
                values[node.name] = check_float(node.name, inputs[node.name])
            else:
                args = [values[p] for p in node.parents]
                values[node.name] = float(PRIMITIVES[node.op].value(*args))
        return values

    def backward(self, values: dict[str, float],
                 output: str | None = None) -> dict[str, float]:
        """Adjoints ``d output / d node`` of every node, given the values from
        :meth:`forward`.

        ``output`` defaults to the last node. Nodes the output does not depend
        on get adjoint 0.
        """
        output = self.nodes[-1].name if output is None else output
        if output not in self._names:
            raise ValueError(f"unknown output node {output!r}")
        adjoint = {node.name: 0.0 for node in self.nodes}
        adjoint[output] = 1.0
        for node in reversed(self.nodes):
            if node.op == "input":
                continue
            local = PRIMITIVES[node.op].partials(
                *[values[p] for p in node.parents])
            for parent, d_node_d_parent in zip(node.parents, local):
                # paths add up
                adjoint[parent] += adjoint[node.name] * d_node_d_parent
        return adjoint

    def table(self, **inputs: float) -> list[tuple[str, str, float, float]]:
        """Forward then backward pass; one row per node:
        ``(name, expression, value, adjoint)``.
        """
        values = self.forward(**inputs)
        adjoint = self.backward(values)
        rows = []
        for node in self.nodes:
            expr = ("input" if node.op == "input"
                    else f"{node.op}({', '.join(node.parents)})")
            rows.append((node.name, expr, values[node.name],
                         adjoint[node.name]))
        return rows


class Value:
    """A scalar node of a computational graph: its value ``data`` and, after
    backward, ``grad``.

    ``parents`` are the nodes it was computed from and ``local_grads`` the
    partial derivatives d(self)/d(parent), evaluated during the forward pass.
    """

    __slots__ = ("data", "grad", "parents", "local_grads", "op")

    def __init__(self, data: float, parents: tuple["Value", ...] = (),
                 local_grads: tuple[float, ...] = (), op: str = ""):
        self.data = check_float("data", data)
        self.grad = 0.0
        self.parents = tuple(parents)
        self.local_grads = tuple(local_grads)
        self.op = op

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    @staticmethod
    def lift(other: Any) -> "Value":
        """Wrap a number as a constant leaf; Values pass through unchanged."""
        return other if isinstance(other, Value) else Value(other)

    # --- operations: each returns a new node with its local derivatives ------
    def apply(self, op: str, *others: Any) -> "Value":
        """The node ``op(self, *others)`` with its value and local
        derivatives from :data:`PRIMITIVES`."""
        parents = (self, *map(Value.lift, others))
        args = [p.data for p in parents]
        prim = PRIMITIVES[op]
        return Value(prim.value(*args), parents, prim.partials(*args), op)

    def __add__(self, other: Any) -> "Value":
        return self.apply("add", other)

    def __mul__(self, other: Any) -> "Value":
        return self.apply("mul", other)

    def __pow__(self, exponent: Any) -> "Value":
        k = check_float("exponent", exponent)  # a constant, not a Value
        return Value(self.data**k, (self,), (k * self.data ** (k - 1),),
                     f"pow {k:g}")

    def exp(self) -> "Value":
        """exp(x), local derivative exp(x)."""
        return self.apply("exp")

    def log(self) -> "Value":
        """Natural logarithm, local derivative 1/x; x must be positive."""
        return self.apply("log")

    def tanh(self) -> "Value":
        """tanh(x), local derivative 1 - tanh(x)^2."""
        return self.apply("tanh")

    def relu(self) -> "Value":
        """max(x, 0), local derivative 1 for x > 0 and 0 otherwise
        (PyTorch's choice at 0).
        """
        return self.apply("relu")

    # --- everything else is built from the operations above ------------------
    def __neg__(self) -> "Value":
        return self.apply("neg")

    def __sub__(self, other: Any) -> "Value":
        return self.apply("sub", other)

    def __truediv__(self, other: Any) -> "Value":
        return self * Value.lift(other) ** -1

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
