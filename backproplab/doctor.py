"""``backproplab doctor``: check the installation and say exactly what to fix.

Checks, in order: the Python version; that ``autodiff``, ``nn`` and ``viz`` resolve to this
distribution and import (nothing shadows them, no other distribution wrote over them, see
:mod:`backproplab.installation`), and that no file in the working directory would shadow
them for a script or notebook started there; Graphviz's ``dot`` (drawings); the Latin Modern fonts (the
slides' look); the optional extras (matplotlib for plots, tqdm for progress bars). Only the
standard library is used, so the doctor runs even when the packages themselves are broken.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from typing import TextIO

from . import __version__
from .installation import PACKAGES, folder_problems, import_packages, location_problems, record_problems

__all__ = ["run", "checks"]

APT = "sudo apt-get install"


def _dot() -> tuple[bool, str]:
    exe = shutil.which("dot")
    if exe is None:
        return False, (f"Graphviz `dot` not found on PATH: drawings fall back to DOT source. Fix: {APT} graphviz "
                       f"(macOS: brew install graphviz; conda: conda install graphviz)")
    try:
        proc = subprocess.run([exe, "-V"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"Graphviz `dot` at {exe} does not run ({exc}). Fix: reinstall Graphviz"
    return True, f"Graphviz: {(proc.stderr or proc.stdout).strip()} ({exe})"


def _fonts() -> tuple[bool, str]:
    if shutil.which("fc-list") is None:
        return False, (f"fontconfig's fc-list not found, so the Latin Modern fonts cannot be found. "
                       f"Fix: {APT} fontconfig fonts-lmodern")
    out = subprocess.run(["fc-list", ":family=Latin Modern Roman", "family"], capture_output=True,
                         text=True, timeout=20).stdout
    if "Latin Modern" not in out:
        return False, (f"the Latin Modern fonts are missing: drawings use a fallback font, not the slides' look. "
                       f"Fix: {APT} fonts-lmodern")
    return True, "fonts: Latin Modern Roman"


def _optional(module: str, extra: str, purpose: str) -> tuple[bool, str]:
    if importlib.util.find_spec(module) is None:
        return False, f"{module} not installed: no {purpose}. Fix: pip install 'backproplab[{extra}]'"
    return True, f"{module}: installed ({purpose})"


def _engine() -> tuple[bool, str]:
    """Which eager engine runs (autodiff/engine.py): the C core, or pure Python and why."""
    import autodiff
    if autodiff.accelerated:
        return True, "eager engine: the C core (autodiff._ccore)"
    reason = autodiff.engine.reason
    if "BACKPROPLAB_PURE" in reason:
        return True, f"eager engine: pure Python ({reason})"
    return False, (f"eager engine: pure Python, ~5x slower ({reason}). Fix: {APT} build-essential "
                   "python3-dev, then reinstall backproplab")


def checks() -> list[tuple[str, bool, str]]:
    """``(severity, ok, message)`` for every check; severity "required" or "optional"."""
    out: list[tuple[str, bool, str]] = []
    ok_py = sys.version_info >= (3, 10)
    out.append(("required", ok_py, f"Python {sys.version.split()[0]} ({sys.executable})"
                + ("" if ok_py else ": backproplab needs Python 3.10 or newer")))
    problems = location_problems() + record_problems()
    for p in problems:
        out.append(("required", False, p.message))
    seen = {p.package for p in problems}
    for p in folder_problems():  # a viz.py here shadows for scripts and notebooks, not for this command
        if p.package not in seen:
            out.append(("required", False, p.message))
    if not problems:
        try:
            modules = import_packages()
        except ImportError as exc:
            out.append(("required", False, str(exc)))
        else:
            where = ", ".join(f"{m.__name__} ({m.__file__})" for m in modules)
            out.append(("required", True, f"packages {', '.join(PACKAGES)} are backproplab's: {where}"))
            out.append(("optional", *_engine()))
    out.append(("required", *_dot()))
    out.append(("required", *_fonts()))
    out.append(("optional", *_optional("matplotlib", "plots", "example figures and History.plot()")))
    out.append(("optional", *_optional("tqdm", "progress", "progress bars in fit()")))
    out.append(("optional", *_optional("ipywidgets", "notebook", "tqdm's progress bar inside Jupyter")))
    return out


def run(stream: TextIO) -> int:
    """Print every check; exit status 1 if a required one failed."""
    print(f"backproplab {__version__} doctor", file=stream)
    failed = 0
    for severity, ok, message in checks():
        mark = "ok  " if ok else ("FAIL" if severity == "required" else "note")
        failed += severity == "required" and not ok
        print(f"  {mark}  {message}", file=stream)
    print("everything backproplab needs is in place" if not failed else
          f"{failed} problem(s): apply the fixes above, then run `backproplab doctor` again", file=stream)
    return 1 if failed else 0
