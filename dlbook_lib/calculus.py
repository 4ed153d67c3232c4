"""Derivatives of compositions: finite-difference Jacobians and a small
computational graph.

Derived and used in :doc:`/chapters/04_chain_rule`. Three tools, each an
independent reference for the chain rule:

- :func:`numerical_jacobian` builds a Jacobian column by column from centred
  differences, one column per input coordinate (the finite-difference analogue
  of forward mode);
- :func:`numerical_vjp` computes a vector-Jacobian product ``v^T J`` as the
  gradient of the scalar ``v . f(x)`` with
  :func:`dlbook_lib.checks.numerical_gradient` (the analogue of reverse mode);
- :class:`ComputationalGraph` evaluates a scalar expression node by node
  (forward pass) and accumulates adjoints from the output back to the inputs
  (backward pass), so every intermediate value and adjoint can be printed and
  compared with autograd.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ._validate import as_float_array, check_float
from .checks import numerical_gradient


def _evaluate(f: Callable[[np.ndarray], Any], x: np.ndarray) -> np.ndarray:
    """Call ``f`` on a copy of ``x``, returning a finite float64 array."""
    return as_float_array("f(x)", f(x.copy()))


def numerical_jacobian(f: Callable[[np.ndarray], Any], x: Any, *,
                       eps: float = 1e-6) -> np.ndarray:
    """Jacobian of ``f`` at ``x`` by centred finite differences, in float64.

    ``f`` maps an array of the shape of ``x`` to an array (or a scalar); NumPy
    arrays, torch tensors and Python numbers are all accepted as its output. The
    result has shape ``f(x).shape + x.shape``, the convention of
    ``torch.autograd.functional.jacobian``: for ``f`` from R^n to R^m it is the
    m x n matrix with entries ``J[i, j] = d f_i / d x_j``; a scalar input or
    output contributes no axis.

    Column ``j`` is the directional derivative along the unit vector ``e_j``,
    ``(f(x + eps e_j) - f(x - eps e_j)) / (2 eps)``, with error O(eps^2) plus
    round-off of order machine epsilon / eps, so the whole Jacobian costs
    ``2 * x.size`` evaluations of ``f``. (Calling
    :func:`dlbook_lib.checks.numerical_gradient` once per output would give the
    rows instead, at ``f(x).size`` times the cost.) ``x`` is not modified. See
    :doc:`/chapters/04_chain_rule`.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    eps = check_float("eps", eps, minimum=0.0, strict_min=True)
    x = as_float_array("x", x)
    out_shape = _evaluate(f, x).shape
    jac = np.empty(out_shape + x.shape)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = eps
        f_plus, f_minus = _evaluate(f, x + step), _evaluate(f, x - step)
        if f_plus.shape != out_shape or f_minus.shape != out_shape:
            raise ValueError(f"f must return the same shape at every point: "
                             f"f(x) has shape {out_shape}, but a perturbed "
                             f"input gave {f_plus.shape}")
        jac[(Ellipsis,) + idx] = (f_plus - f_minus) / (2 * eps)
    return jac


def numerical_vjp(f: Callable[[np.ndarray], Any], x: Any, v: Any, *,
                  eps: float = 1e-6) -> np.ndarray:
    """Vector-Jacobian product ``v^T J_f(x)`` by centred finite differences,
    in float64.

    ``v`` must have the shape of ``f(x)``; the result has the shape of ``x``. It
    is the gradient of the scalar function ``u -> sum(v * f(u))`` at ``x``,
    computed with :func:`dlbook_lib.checks.numerical_gradient`, which is what
    reverse-mode differentiation returns when its backward pass is seeded with
    ``v`` instead of 1. See :doc:`/chapters/04_chain_rule`.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    eps = check_float("eps", eps, minimum=0.0, strict_min=True)
    x = as_float_array("x", x)
    v = as_float_array("v", v)
    out_shape = _evaluate(f, x).shape
    if v.shape != out_shape:
        raise ValueError(f"v must have the shape of f(x), {out_shape}, "
                         f"got {v.shape}")
    return numerical_gradient(lambda u: float(np.sum(v * _evaluate(f, u))),
                              x, eps=eps)


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


def _log_value(a: float) -> float:
    if a <= 0:
        raise ValueError(f"log needs a positive argument, got {a}")
    return math.log(a)


PRIMITIVES: dict[str, Primitive] = {
    "add": Primitive(2, lambda a, b: a + b, lambda a, b: (1.0, 1.0)),
    "sub": Primitive(2, lambda a, b: a - b, lambda a, b: (1.0, -1.0)),
    "mul": Primitive(2, lambda a, b: a * b, lambda a, b: (b, a)),
    "neg": Primitive(1, lambda a: -a, lambda a: (-1.0,)),
    "square": Primitive(1, lambda a: a * a, lambda a: (2.0 * a,)),
    "sin": Primitive(1, math.sin, lambda a: (math.cos(a),)),
    "cos": Primitive(1, math.cos, lambda a: (-math.sin(a),)),
    "exp": Primitive(1, math.exp, lambda a: (math.exp(a),)),
    "log": Primitive(1, _log_value, lambda a: (1.0 / a,)),
    "tanh": Primitive(1, math.tanh, lambda a: (1.0 - math.tanh(a) ** 2,)),
}
"""The operations a :class:`ComputationalGraph` node may use, by name."""


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

    def _new_name(self, name: str) -> str:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"node names must be Python identifiers, "
                             f"got {name!r}")
        if name in self._names:
            raise ValueError(f"a node named {name!r} already exists")
        return name

    def input(self, name: str) -> str:
        """Add an input node and return its name."""
        self.nodes.append(GraphNode(self._new_name(name), "input", ()))
        self._names.add(name)
        return name

    def op(self, name: str, op: str, *parents: str) -> str:
        """Add the node ``name = op(*parents)`` and return its name.

        ``op`` is a key of PRIMITIVES.
        """
        self._new_name(name)
        if op not in PRIMITIVES:
            raise ValueError(f"unknown operation {op!r}; "
                             f"choose one of {sorted(PRIMITIVES)}")
        if len(parents) != PRIMITIVES[op].arity:
            raise ValueError(f"{op} takes {PRIMITIVES[op].arity} argument(s), "
                             f"got {len(parents)}")
        unknown = [p for p in parents if p not in self._names]
        if unknown:
            raise ValueError(f"node {name!r} uses undefined node(s) {unknown}; "
                             "define them first")
        self.nodes.append(GraphNode(name, op, tuple(parents)))
        self._names.add(name)
        return name

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
        if not self.nodes:
            raise ValueError("the graph is empty")
        output = self.nodes[-1].name if output is None else output
        if output not in self._names:
            raise ValueError(f"unknown output node {output!r}")
        missing = [n.name for n in self.nodes if n.name not in values]
        if missing:
            raise ValueError(f"values are missing for nodes {missing}; "
                             "pass the result of forward()")
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
