"""nn.History (Keras-like records of fit) and nn.progress (tqdm bar / in-place line / silent)."""

from __future__ import annotations

import io

import numpy as np
import pytest

import nn
from nn.progress import _Line, make_progress

X, Y = nn.xor()


def trained(epochs=4, **kw):
    model = nn.MLP(2, [3, 1], activation="tanh", output_activation="sigmoid", seed=0)
    Xv, Yv = X[:2], Y[:2]
    return nn.fit(model, X, Y, loss="binary_cross_entropy", lr=0.5, mode="batch", epochs=epochs,
                  validation=(Xv, Yv), progress=False, **kw)


def test_history_is_keras_like_one_entry_per_epoch():
    h = trained(epochs=4)
    assert list(h.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert h.epoch == [1, 2, 3, 4] and len(h) == 4
    for name, values in h.history.items():
        assert len(values) == 4 and h[name] is values and name in h
        assert getattr(h, name) is values
    assert h["loss"][-1] == h.final_loss and h.initial["loss"] > h["loss"][-1]
    with pytest.raises(KeyError, match="no 'acc'.*loss, accuracy"):
        h["acc"]


def test_history_repr_is_short_and_custom_metrics_are_keys():
    def max_output(outputs, targets):
        return float(np.max(outputs))

    h = trained(epochs=200, metrics=["accuracy", max_output])
    text = repr(h)
    assert text.startswith("<History: 200 epochs, loss=") and "max_output=" in text and len(text) < 200
    assert h.metrics == {"max_output": h["max_output"]} and len(h["max_output"]) == 200


def test_epochs_zero_records_only_the_initial_values():
    h = trained(epochs=0)
    assert len(h) == 0 and h.history == {} and h.final_loss == h.initial["loss"]


def test_history_plot_draws_losses_and_accuracies_on_two_axes():
    matplotlib = pytest.importorskip("matplotlib", reason="History.plot needs matplotlib (the plots extra)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    h = trained(epochs=5)
    loss_ax, acc_ax = h.plot()
    assert [ln.get_label() for ln in loss_ax.get_lines()] == ["loss", "val loss"]
    assert [ln.get_label() for ln in acc_ax.get_lines()] == ["accuracy", "val accuracy"]
    xs, ys = loss_ax.get_lines()[0].get_data()
    assert list(xs) == [0, 1, 2, 3, 4, 5] and list(ys) == [h.initial["loss"], *h["loss"]]
    one = h.plot(["loss"])
    assert len(one.get_lines()) == 1
    with pytest.raises(KeyError, match="nothing recorded for acc"):
        h.plot(["acc"])
    plt.close("all")


def test_history_plot_without_matplotlib_names_the_extra(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"backproplab\[plots\]"):
        trained(epochs=1).plot()


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_silent_without_a_terminal_or_notebook():
    buf = io.StringIO()
    p = make_progress(None, 3, buf)
    p.update(1, {"loss": 0.5})
    p.close()
    assert buf.getvalue() == ""
    assert type(make_progress(False, 3, FakeTTY())).__name__ == "Progress"


def test_progress_line_rewrites_one_line_in_place():
    buf = FakeTTY()
    line = _Line(3, buf)
    for epoch, loss in ((1, 0.123456), (2, 0.05), (3, 0.01)):
        line.update(epoch, {"loss": loss, "accuracy": 0.75})
    line.close()
    out = buf.getvalue()
    assert out.count("\n") == 1 and out.endswith("\n") and out.count("\r") == 3
    assert "epoch 3/3 [########################] loss 0.01 accuracy 0.75" in out
    assert "loss 0.1235" in out  # four significant digits


def test_progress_uses_tqdm_on_a_terminal_when_installed():
    pytest.importorskip("tqdm", reason="tqdm not installed (the progress extra)")
    buf = FakeTTY()
    p = make_progress(None, 2, buf)
    assert type(p).__name__ == "_Tqdm"
    p.update(1, {"loss": 0.5})
    p.update(2, {"loss": 0.25})
    p.close()
    assert "2/2" in buf.getvalue() and "loss=0.25" in buf.getvalue()
