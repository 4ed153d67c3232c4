"""dlbook_lib.train.fit: one training loop, reproducible, with early stopping."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlbook_lib import data, train


def small_split():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    return data.train_val_test_split(x, y, seed=0)


def reference_loop(model, split, epochs, lr, batch_size, seed):
    """The loop fit promises, written out: Adam, a seeded permutation per
    epoch cut into consecutive batches, validation accuracy after each
    epoch, weights of the best epoch restored."""
    x = torch.as_tensor(split.x_train)
    y = torch.as_tensor(split.y_train)
    xv, yv = torch.as_tensor(split.x_val), torch.as_tensor(split.y_val)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    best, best_state, curve = -1.0, None, []
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            curve.append((model(xv).argmax(1) == yv).float().mean().item())
        if curve[-1] > best:
            best, best_state = curve[-1], copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return curve


def test_fit_equals_the_loop_written_out():
    split = small_split()
    a = train.make_mlp([8, 16, 3], seed=1)
    b = train.make_mlp([8, 16, 3], seed=1)
    curve = reference_loop(a, split, epochs=12, lr=1e-2, batch_size=32,
                           seed=5)
    hist = train.fit(b, split.x_train, split.y_train,
                     optimizer=lambda ps: torch.optim.Adam(ps, lr=1e-2),
                     epochs=12, batch_size=32, seed=5,
                     val=(split.x_val, split.y_val), restore_best=True)
    assert hist.val_score == curve
    assert hist.best_epoch == 1 + int(np.argmax(curve))
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_patience_stops_after_the_peak_and_restores_its_weights():
    split = small_split()
    scores = iter([0.1, 0.5, 0.7, 0.6, 0.65, 0.4, 0.3, 0.9, 0.95])

    def rising_then_falling(out, y):
        return next(scores)

    model = train.make_mlp([8, 16, 3], seed=2)
    opt = lambda ps: torch.optim.SGD(ps, lr=0.1)  # noqa: E731
    hist = train.fit(model, split.x_train, split.y_train, optimizer=opt,
                     epochs=9, batch_size=50, val=(split.x_val, split.y_val),
                     score=rising_then_falling, restore_best=True, patience=3)
    assert hist.best_epoch == 3 and hist.stopped_epoch == 6
    assert len(hist.train_loss) == len(hist.val_score) == 6
    three = train.make_mlp([8, 16, 3], seed=2)
    train.fit(three, split.x_train, split.y_train, optimizer=opt, epochs=3,
              batch_size=50)
    for p, q in zip(model.parameters(), three.parameters()):
        assert torch.equal(p, q)


def test_regression_loss_and_a_scheduler():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]])
    model = torch.nn.Linear(3, 1)
    seen = []
    hist = train.fit(model, x, y, loss=torch.nn.functional.mse_loss,
                     on_epoch=lambda m, e: seen.append((m is model, e)),
                     optimizer=lambda ps: torch.optim.SGD(ps, lr=0.1),
                     scheduler=lambda o: torch.optim.lr_scheduler.StepLR(
                         o, 10, 0.5),
                     epochs=30, batch_size=16)
    assert hist.train_loss[-1] < 1e-3 * hist.train_loss[0]
    assert hist.val_score == [] and hist.best_epoch == 0
    assert seen == [(True, e) for e in range(1, 31)]


def test_fit_names_bad_inputs():
    model = torch.nn.Linear(2, 2)
    opt = lambda ps: torch.optim.SGD(ps, lr=0.1)  # noqa: E731
    with pytest.raises(ValueError, match="need validation data"):
        train.fit(model, np.zeros((4, 2)), np.zeros(4), optimizer=opt,
                  epochs=1, batch_size=2, patience=2)
    with pytest.raises(ValueError, match="4 examples but y has 3"):
        train.fit(model, np.zeros((4, 2)), np.zeros(3), optimizer=opt,
                  epochs=1, batch_size=2)
    with pytest.raises(TypeError, match="function of the parameters"):
        train.fit(model, np.zeros((4, 2)), np.zeros(4),
                  optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                  epochs=1, batch_size=2)


def test_drop_last_before_step_and_on_step_stop():
    import torch
    x = np.random.default_rng(0).normal(size=(70, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = train.make_mlp([8, 4, 2], seed=0)
    seen, grads = [], []
    hist = train.fit(model, x, y, epochs=3, batch_size=32, drop_last=True,
                     optimizer=lambda ps: torch.optim.SGD(ps, lr=0.1),
                     before_step=lambda m: grads.append(
                         float(m[0].weight.grad.norm())),
                     on_step=lambda m, s, l: seen.append(s) or False)
    assert hist.steps == 6 and seen == list(range(1, 7)) and len(grads) == 6
    stop = train.fit(train.make_mlp([8, 4, 2], seed=0), x, y, epochs=5,
                     batch_size=10,
                     optimizer=lambda ps: torch.optim.SGD(ps, lr=0.1),
                     on_step=lambda m, s, l: s == 9)
    assert stop.steps == 9 and stop.stopped_epoch == 2
    with pytest.raises(ValueError, match="drop_last"):
        train.fit(train.make_mlp([8, 2]), x, y, epochs=1, batch_size=100,
                  drop_last=True,
                  optimizer=lambda ps: torch.optim.SGD(ps, lr=0.1))


def test_make_mlp_batch_norm_after_each_hidden_linear():
    from torch import nn
    plain = train.make_mlp([6, 5, 4, 3], seed=3)
    bn = train.make_mlp([6, 5, 4, 3], seed=3, batch_norm=True)
    assert [type(m) for m in bn] == [nn.Linear, nn.BatchNorm1d, nn.ReLU,
                                     nn.Linear, nn.BatchNorm1d, nn.ReLU,
                                     nn.Linear]
    assert [m.num_features for m in bn if isinstance(m, nn.BatchNorm1d)] \
        == [5, 4]
    # the same Linear weights as without batch norm (BatchNorm1d draws none)
    lin = [m for m in bn if isinstance(m, nn.Linear)]
    for p, q in zip(plain.parameters(), (t for m in lin
                                         for t in m.parameters())):
        assert torch.equal(p, q)
    # training mode: each hidden unit standardised over the batch before ReLU
    x = torch.randn(32, 6, generator=torch.Generator().manual_seed(0))
    z = bn[0](x)
    ref = (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + 1e-5)
    assert torch.allclose(bn[2](bn[1](z)), torch.relu(ref), atol=1e-6)
    # a two-size MLP has no hidden layer, so no batch norm
    assert len(train.make_mlp([6, 3], batch_norm=True)) == 1


def test_make_mlp_dropout_after_each_hidden_activation():
    from torch import nn
    plain = train.make_mlp([6, 5, 4, 3], seed=3)
    drop = train.make_mlp([6, 5, 4, 3], seed=3, dropout=0.4)
    assert [type(m) for m in drop] == [nn.Linear, nn.ReLU, nn.Dropout,
                                       nn.Linear, nn.ReLU, nn.Dropout,
                                       nn.Linear]
    assert all(m.p == 0.4 for m in drop if isinstance(m, nn.Dropout))
    for p, q in zip(plain.parameters(), drop.parameters()):
        assert torch.equal(p, q)            # Dropout draws no weights
    x = torch.randn(64, 6, generator=torch.Generator().manual_seed(0))
    drop.eval()
    assert torch.equal(drop(x), plain(x))   # identity in evaluation mode
    drop.train()
    torch.manual_seed(0)
    with torch.no_grad():
        h = drop[2](drop[1](drop[0](x)))
    kept = h != 0
    active = torch.relu(drop[0](x)) > 0               # units ReLU let through
    assert 0.4 < kept[active].float().mean().item() < 0.8   # about 1 - p
    np.testing.assert_allclose(h[kept].numpy(),
                               (torch.relu(drop[0](x)) / 0.6)[kept].detach()
                               .numpy(), rtol=1e-6)
    assert len(train.make_mlp([6, 3], dropout=0.5)) == 1   # no hidden layer
    assert not any(isinstance(m, nn.Dropout)
                   for m in train.make_mlp([6, 5, 3], dropout=0.0))
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match="dropout must be"):
            train.make_mlp([6, 5, 3], dropout=bad)
    with pytest.raises(TypeError, match="dropout must be a real number"):
        train.make_mlp([6, 5, 3], dropout="0.5")


def test_fit_trains_a_float64_model_in_float64():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 3))
    y = x @ np.array([[0.5], [-1.0], [2.0]])
    model = torch.nn.Linear(3, 1).double()
    ref = copy.deepcopy(model)
    seen = []
    train.fit(model, x, y, loss=F.mse_loss, epochs=2, batch_size=16,
              optimizer=lambda ps: torch.optim.SGD(ps, lr=0.1),
              before_step=lambda m: seen.append(m.weight.grad.dtype))
    assert model.weight.dtype == torch.float64
    assert seen == [torch.float64] * 6
    # the same steps written out in float64
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(0)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    for _ in range(2):
        order = torch.randperm(40, generator=gen)
        for start in range(0, 40, 16):
            idx = order[start:start + 16]
            opt.zero_grad()
            F.mse_loss(ref(xt[idx]), yt[idx]).backward()
            opt.step()
    for p, q in zip(model.parameters(), ref.parameters()):
        assert torch.equal(p, q)


def test_on_epoch_returning_true_stops_after_that_epoch():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=50)
    sgd = lambda ps: torch.optim.SGD(ps, lr=0.1)  # noqa: E731
    for val in (None, (x[:10], y[:10])):
        model = train.make_mlp([4, 8, 3], seed=0)
        hist = train.fit(model, x, y, optimizer=sgd, epochs=20, batch_size=16,
                         val=val, on_epoch=lambda m, e: e == 3)
        assert hist.stopped_epoch == 3 and hist.steps == 3 * 4
        assert len(hist.train_loss) == 3
        assert len(hist.val_loss) == (3 if val is not None else 0)
    # None and other falsy returns never stop; the run equals one without it
    a, b = (train.make_mlp([4, 8, 3], seed=0) for _ in range(2))
    ha = train.fit(a, x, y, optimizer=sgd, epochs=5, batch_size=16,
                   on_epoch=lambda m, e: None)
    hb = train.fit(b, x, y, optimizer=sgd, epochs=5, batch_size=16)
    assert ha.stopped_epoch == 5 and ha.train_loss == hb.train_loss
