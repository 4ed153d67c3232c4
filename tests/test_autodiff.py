import math

import numpy as np
import pytest
import torch

from dlbook_lib import autodiff
from dlbook_lib.autodiff import Value


def t64(a):
    return torch.tensor(a, dtype=torch.float64)

UNARY = {
    "exp": (lambda v: v.exp(), torch.exp),
    "log": (lambda v: v.log(), torch.log),
    "tanh": (lambda v: v.tanh(), torch.tanh),
    "relu": (lambda v: v.relu(), torch.relu),
    "neg": (lambda v: -v, lambda t: -t),
    "pow3": (lambda v: v**3, lambda t: t**3),
    "pow-1.5": (lambda v: v**-1.5, lambda t: t**-1.5),
    "rdiv": (lambda v: 2.0 / v, lambda t: 2.0 / t),
    "rsub": (lambda v: 2.0 - v, lambda t: 2.0 - t),
}


def _torch_grad(fn, *xs):
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = fn(*ts)
    out.backward()
    return out.item(), [t.grad.item() if t.grad is not None else 0.0 for t in ts]


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("x", [0.3, 1.7, -0.8])
def test_unary_operations_match_torch(name, x):
    ours, theirs = UNARY[name]
    if name in ("log", "pow-1.5") and x < 0:
        x = -x
    v = Value(x)
    out = ours(v)
    out.backward()
    value, (grad,) = _torch_grad(theirs, x)
    assert out.data == pytest.approx(value, rel=1e-14)
    assert v.grad == pytest.approx(grad, rel=1e-13, abs=1e-300)


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_binary_operations_match_torch(op):
    f = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
         "/": lambda a, b: a / b}[op]
    a, b = Value(1.3), Value(-0.7)
    out = f(a, b)
    out.backward()
    value, grads = _torch_grad(f, 1.3, -0.7)
    assert out.data == pytest.approx(value, rel=1e-15)
    assert [a.grad, b.grad] == pytest.approx(grads, rel=1e-14)


def test_fan_out_adds_contributions():
    x = Value(3.0)
    y = x * x + x  # x used three times
    y.backward()
    assert x.grad == 7.0
    h = (x * 2.0).tanh()  # a shared intermediate node used twice
    z = h * h + h.exp()
    z.backward()
    _, (g,) = _torch_grad(lambda t: torch.tanh(2 * t) ** 2 + torch.exp(torch.tanh(2 * t)), 3.0)
    assert x.grad == pytest.approx(g, rel=1e-12)


def test_relu_at_zero_and_constant_operands():
    x = Value(0.0)
    y = x.relu() + 1
    y.backward()
    assert x.grad == 0.0  # PyTorch's convention
    z = 2 * Value(1.5) - 1
    assert z.data == 2.0


def test_random_programs_match_torch():
    ops = ["+", "-", "*", "/", "pow", "exp", "log", "tanh", "relu"]
    for seed in range(20):
        g = np.random.default_rng(seed)
        leaf_values = g.normal(size=3)
        program = [(str(g.choice(ops)), int(g.integers(3 + k)), int(g.integers(3 + k))) for k in range(15)]

        def run(leaves):
            nodes = list(leaves)
            for op, i, j in program:
                a, b = nodes[i], nodes[j]
                nodes.append({"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                              "/": lambda: a / (1.0 + b * b), "pow": lambda: (1.0 + a * a) ** 1.5,
                              "exp": lambda: a.tanh().exp(), "log": lambda: (1.0 + a * a).log(),
                              "tanh": lambda: a.tanh(), "relu": lambda: a.relu()}[op]())
            out = nodes[-1]
            for node in nodes[3:-1]:
                out = out + node
            return out

        leaves = [Value(v) for v in leaf_values]
        out = run(leaves)
        out.backward()
        value, grads = _torch_grad(lambda *ts: run(ts), *leaf_values)
        assert out.data == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose([v.grad for v in leaves], grads, rtol=1e-10, atol=1e-14)


def test_topological_order_and_deep_graphs():
    x = Value(0.5)
    y = x
    for _ in range(5000):  # deeper than Python's recursion limit
        y = y + x
    order = autodiff.topological_order(y)
    assert order[0] is x and order[-1] is y and len(order) == 5001
    position = {id(n): k for k, n in enumerate(order)}
    assert all(position[id(p)] < position[id(n)] for n in order for p in n.parents)
    y.backward()
    assert x.grad == 5001.0


def test_backward_twice_gives_the_same_gradients():
    x = Value(2.0)
    y = (x * x).log()
    y.backward()
    first = x.grad
    y.backward()
    assert x.grad == first == pytest.approx(1.0)


def test_repr_is_short():
    assert repr(Value(1.5)) == "Value(data=1.5, grad=0)"


@pytest.mark.parametrize(
    "call, exc, msg",
    [
        (lambda: Value("a"), TypeError, "data must be a real number"),
        (lambda: Value(math.nan), ValueError, "finite"),
        (lambda: Value(True), TypeError, "real number"),
        (lambda: Value(1.0) + "x", TypeError, "data must be a real number"),
        (lambda: Value(2.0) ** Value(2.0), TypeError, "exponent must be a real number"),
    ],
)
def test_bad_inputs_are_named(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


# --- the explicit graph view ----------------------------------------------

def example_graph():
    g = autodiff.ComputationalGraph()
    g.input("x"); g.input("y")
    g.op("a", "mul", "x", "y"); g.op("b", "sin", "x"); g.op("c", "add", "a", "b")
    g.op("d", "neg", "y"); g.op("e", "exp", "d"); g.op("f", "mul", "c", "e")
    return g


@pytest.mark.parametrize("point", [(1.2, 0.7), (-0.3, 2.0), (0.0, 0.0)])
def test_graph_values_and_adjoints_match_autograd(point):
    g = example_graph()
    values = g.forward(x=point[0], y=point[1])
    adjoint = g.backward(values)
    p = t64(point).requires_grad_(True)
    f = (p[0] * p[1] + torch.sin(p[0])) * torch.exp(-p[1])
    (grad,) = torch.autograd.grad(f, p)
    assert abs(values["f"] - f.item()) < 1e-14
    np.testing.assert_allclose([adjoint["x"], adjoint["y"]], grad.numpy(), rtol=1e-12, atol=1e-15)
    assert adjoint["f"] == 1.0


def test_every_primitive_derivative_matches_autograd():
    torch_ops = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "neg": torch.neg,
                 "square": torch.square, "sin": torch.sin, "cos": torch.cos, "exp": torch.exp,
                 "log": torch.log, "tanh": torch.tanh, "relu": torch.relu}
    assert set(torch_ops) == set(autodiff.PRIMITIVES)
    args = [0.7, 1.9]
    for name, prim in autodiff.PRIMITIVES.items():
        xs = [t64(a).requires_grad_(True) for a in args[:prim.arity]]
        out = torch_ops[name](*xs)
        grads = torch.autograd.grad(out, xs)
        assert abs(prim.value(*args[:prim.arity]) - out.item()) < 1e-14, name
        np.testing.assert_allclose(prim.partials(*args[:prim.arity]), [gr.item() for gr in grads],
                                   rtol=1e-14, err_msg=name)


def test_graph_unused_node_gets_zero_adjoint_and_reused_node_accumulates():
    g = autodiff.ComputationalGraph()
    g.input("x"); g.input("unused")
    g.op("s", "mul", "x", "x")  # the same parent twice: d(x*x)/dx = 2x
    values = g.forward(x=3.0, unused=5.0)
    adjoint = g.backward(values)
    assert adjoint["x"] == 6.0 and adjoint["unused"] == 0.0


def test_graph_table_and_single_input():
    g = autodiff.ComputationalGraph()
    g.input("x")
    g.op("y", "tanh", "x")
    rows = g.table(x=0.5)
    assert [r[0] for r in rows] == ["x", "y"]
    assert rows[1][1] == "tanh(x)"
    assert abs(rows[0][3] - (1 - math.tanh(0.5) ** 2)) < 1e-15


def test_graph_backward_to_an_intermediate_output():
    g = example_graph()
    adjoint = g.backward(g.forward(x=1.0, y=2.0), output="c")
    assert adjoint["y"] == 1.0  # c = x*y + sin x, so dc/dy = x
    assert adjoint["e"] == 0.0 and adjoint["f"] == 0.0


def test_graph_bad_inputs():
    g = autodiff.ComputationalGraph()
    g.input("x")
    with pytest.raises(ValueError, match="already exists"):
        g.input("x")
    with pytest.raises(ValueError, match="unknown operation"):
        g.op("y", "sigmoid", "x")
    with pytest.raises(ValueError, match="takes 2"):
        g.op("y", "mul", "x")
    with pytest.raises(ValueError, match="undefined"):
        g.op("y", "add", "x", "z")
    g.op("y", "log", "x")
    with pytest.raises(ValueError, match="exactly the inputs"):
        g.forward(x=1.0, z=2.0)
    with pytest.raises(TypeError, match="real number"):
        g.forward(x="1")
    with pytest.raises(ValueError, match="unknown output"):
        g.backward(g.forward(x=1.0), output="q")
