"""Is this installation whole? Where ``autodiff``, ``nn`` and ``viz`` resolve, and what shadows them.

backproplab ships three top-level packages whose names are common: PyPI has unrelated
``nn``, ``viz`` and ``autodiff`` distributions (installing one writes into the same directory
as ours), and a student's own ``viz.py`` beside a notebook comes first on ``sys.path``.
Either way ``import viz`` silently gives the wrong module. The checks here compare each
name's resolved file with the directory this distribution installed it in (the sibling of
the ``backproplab`` package) and, for an installed wheel, with the hashes in its RECORD.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.metadata
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Optional

__all__ = ["PACKAGES", "ShadowedPackageError", "Problem", "expected_origin", "resolved_origin",
           "location_problems", "folder_problems", "record_problems", "import_packages"]

#: Each top-level package of this distribution and a name only ours defines.
PACKAGES: dict[str, str] = {"autodiff": "Value", "nn": "MLP", "viz": "draw"}
DISTRIBUTION = "backproplab"
HOME = Path(__file__).resolve().parent.parent  # the directory holding backproplab/, autodiff/, nn/, viz/


class ShadowedPackageError(ImportError):
    """``autodiff``, ``nn`` or ``viz`` is not backproplab's: the message names the file and the fix."""


@dataclass(frozen=True)
class Problem:
    package: str
    message: str


def expected_origin(name: str) -> Path:
    return HOME / name / "__init__.py"


def resolved_origin(name: str) -> Optional[Path]:
    """The file ``import name`` loads (or has loaded) now, or None if nothing is found."""
    module = sys.modules.get(name)
    if module is not None:
        origin = getattr(module, "__file__", None)
    else:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        origin = spec.origin if spec is not None else None
    if origin in (None, "namespace", "built-in", "frozen"):
        return None
    return Path(origin).resolve()


def _fix_for(name: str, origin: Path) -> str:
    if origin.name == f"{name}.py":
        return f"rename it (e.g. to my_{name}.py) or run Python from another directory"
    if origin.parent.name == name:
        return (f"rename the folder {origin.parent} or run Python from another directory "
                f"(if pip installed it: pip uninstall {name})")
    return f"remove {origin.parent} from sys.path (if pip installed it: pip uninstall {name})"


def location_problems() -> list[Problem]:
    """Every top-level name that resolves somewhere other than this distribution's directory."""
    problems = []
    for name in PACKAGES:
        origin, expected = resolved_origin(name), expected_origin(name)
        if origin is None:
            problems.append(Problem(name, f"`import {name}` finds nothing (expected {expected}); "
                                          f"reinstall: pip install --force-reinstall {DISTRIBUTION}"))
        elif origin != expected.resolve():
            problems.append(Problem(name, f"`import {name}` loads {origin}, not backproplab's {expected}: "
                                          f"that file shadows it; {_fix_for(name, origin)}"))
    return problems


def folder_problems(folder: Optional[Path] = None) -> list[Problem]:
    """Files in ``folder`` (default: the working directory) that would shadow a package for a
    script, ``python -m`` or a notebook started there: Python puts that folder first on
    ``sys.path``. The ``backproplab`` command itself does not (its ``sys.path[0]`` is its own
    bin directory), so :func:`location_problems` alone cannot see them from the command."""
    folder = Path.cwd() if folder is None else Path(folder)
    problems = []
    for name in PACKAGES:
        for candidate in (folder / f"{name}.py", folder / name / "__init__.py"):
            if candidate.is_file() and candidate.resolve() != expected_origin(name).resolve():
                problems.append(Problem(name, f"{candidate} shadows backproplab's {name} for every script and "
                                              f"notebook run from {folder} (`import {name}` would load it); "
                                              f"{_fix_for(name, candidate)}"))
                break
    return problems


def _sha256(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def record_problems() -> list[Problem]:
    """Files of ``autodiff``/``nn``/``viz`` that differ from the wheel's RECORD, and other
    installed distributions that write into the same directories.

    Nothing to compare for a checkout or an editable install (their RECORD lists no sources).
    """
    try:
        ours = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return []
    problems = []
    changed: dict[str, list[str]] = {}
    for f in ours.files or ():
        if f.parts[0] in PACKAGES and f.hash is not None and f.suffix == ".py":
            path = Path(str(f.locate()))
            if not path.is_file() or _sha256(path) != f"{f.hash.mode}={f.hash.value}":
                changed.setdefault(f.parts[0], []).append(str(f))
    for name, files in changed.items():
        problems.append(Problem(name, f"{len(files)} installed file(s) of {name}/ differ from backproplab's "
                                      f"wheel (e.g. {files[0]}): another package overwrote them; "
                                      f"fix: pip uninstall {name}; pip install --force-reinstall {DISTRIBUTION}"))
    for dist in importlib.metadata.distributions():
        other = (dist.metadata["Name"] or "").lower()
        if other == DISTRIBUTION:
            continue
        tops = {f.parts[0] for f in dist.files or () if f.parts}
        for name in sorted(tops & set(PACKAGES)):
            problems.append(Problem(name, f"the installed distribution {dist.metadata['Name']} "
                                          f"{dist.version} also writes {name}/; fix: pip uninstall "
                                          f"{dist.metadata['Name']}; pip install --force-reinstall {DISTRIBUTION}"))
    return problems


def import_packages() -> tuple[ModuleType, ModuleType, ModuleType]:
    """Import ``autodiff``, ``nn``, ``viz`` after checking they are ours; raise
    :class:`ShadowedPackageError` naming the shadowing file otherwise."""
    problems = location_problems()
    if problems:
        raise ShadowedPackageError("backproplab cannot start: " + "; ".join(p.message for p in problems))
    modules = []
    for name, marker in PACKAGES.items():
        try:
            module = importlib.import_module(name)
        except (SyntaxError, ImportError) as exc:
            where = getattr(exc, "filename", None) or expected_origin(name)
            raise ShadowedPackageError(
                f"backproplab cannot import its {name} package ({type(exc).__name__}: {exc}) from {where}: "
                f"another distribution (probably PyPI's `{name}`) overwrote it; fix: pip uninstall {name}; "
                f"pip install --force-reinstall {DISTRIBUTION}") from exc
        if not hasattr(module, marker):
            raise ShadowedPackageError(
                f"{module.__file__} is not backproplab's {name} (it has no {name}.{marker}): another "
                f"distribution (probably PyPI's `{name}`) overwrote it; fix: pip uninstall {name}; "
                f"pip install --force-reinstall {DISTRIBUTION}")
        modules.append(module)
    return modules[0], modules[1], modules[2]
