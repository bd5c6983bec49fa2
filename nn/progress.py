"""Progress reports for :func:`nn.fit`: a tqdm bar, one in-place terminal line, or nothing.

``progress=None`` (the default) shows progress where someone is watching: in Jupyter a
``tqdm.auto`` bar (a widget) when tqdm is installed; on a terminal (stderr is a TTY) a tqdm
bar or, without tqdm, one line rewritten in place; nothing otherwise (a log file, a test
run). ``progress=True`` forces it (to stderr), ``False`` silences it.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Optional, TextIO

__all__ = ["Progress", "make_progress", "in_notebook"]


def in_notebook() -> bool:
    """Whether we run inside a Jupyter kernel (where stderr is not a terminal but a cell)."""
    shell = sys.modules.get("IPython")
    get_ipython = getattr(shell, "get_ipython", None)
    ip = get_ipython() if get_ipython else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def _summary(logs: dict[str, float]) -> dict[str, str]:
    return {k: f"{v:.4g}" for k, v in logs.items()}


class Progress:
    """Silent; the base of the two visible kinds."""

    def update(self, epoch: int, logs: dict[str, float]) -> None: ...

    def close(self) -> None: ...


class _Tqdm(Progress):
    def __init__(self, epochs: int, stream: TextIO) -> None:
        from tqdm.auto import tqdm
        self.bar = tqdm(total=epochs, unit="epoch", file=stream, leave=True, dynamic_ncols=True)

    def update(self, epoch: int, logs: dict[str, float]) -> None:
        self.bar.set_postfix(_summary(logs), refresh=False)
        self.bar.update(epoch - self.bar.n)

    def close(self) -> None:
        self.bar.close()


class _Line(Progress):
    """``epoch 3/50 [###.....] loss 0.1 accuracy 0.9``, rewritten in place with a carriage return."""

    def __init__(self, epochs: int, stream: TextIO) -> None:
        self.epochs, self.stream, self.width = epochs, stream, 0

    def update(self, epoch: int, logs: dict[str, float]) -> None:
        done = int(24 * epoch / max(self.epochs, 1))
        msg = f"epoch {epoch}/{self.epochs} [{'#' * done}{'.' * (24 - done)}] " + \
            " ".join(f"{k} {v}" for k, v in _summary(logs).items())
        self.stream.write("\r" + msg.ljust(self.width))
        self.width = len(msg)
        self.stream.flush()

    def close(self) -> None:
        if self.width:
            self.stream.write("\n")
            self.stream.flush()


def make_progress(progress: Optional[bool], epochs: int, stream: Optional[TextIO] = None) -> Progress:
    """The progress report ``fit(progress=...)`` asks for: a tqdm bar (Jupyter or terminal) when
    tqdm is installed, else one line rewritten in place; nothing for ``progress=False``
    (``None``: report when the stream is a terminal or a notebook)."""
    stream = sys.stderr if stream is None else stream
    notebook = in_notebook()
    terminal = bool(getattr(stream, "isatty", lambda: False)())
    if progress is False or (progress is None and not (notebook or terminal)) or epochs == 0:
        return Progress()
    have_tqdm = importlib.util.find_spec("tqdm") is not None
    if have_tqdm and (not notebook or importlib.util.find_spec("ipywidgets") is not None):
        return _Tqdm(epochs, stream)
    return _Line(epochs, stream)


