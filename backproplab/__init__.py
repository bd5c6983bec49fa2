"""backproplab: a scalar autograd engine for learning, teaching and debugging backpropagation.

One namespace for the three packages the project ships::

    import backproplab as bl
    x = bl.Value(2.0, "x")
    bl.nn.fit(...)              # the same module object as ``import nn``
    bl.viz.draw(loss)           # the same module object as ``import viz``

``autodiff``, ``nn`` and ``viz`` stay importable at the top level, and as
``backproplab.autodiff`` / ``backproplab.nn`` / ``backproplab.viz`` (``from backproplab.nn import
MLP``, as micrograd's ``from micrograd.nn import MLP``). Because those names are
common, importing ``backproplab`` first checks that they resolve to this distribution and
raises :class:`ShadowedPackageError`, naming the file that shadows them, when they do not
(a student's ``viz.py`` next to the notebook, or PyPI's unrelated ``nn``/``viz``/``autodiff``
installed over ours). ``backproplab doctor`` runs the same check and more, and says what to fix.
"""

from __future__ import annotations

import sys
from pathlib import Path

__version__ = "0.1.0"

from .installation import PACKAGES, ShadowedPackageError, import_packages  # noqa: E402

#: Set instead of raised only when the ``backproplab`` command itself is starting, so that
#: ``backproplab doctor`` can still run and explain it (:mod:`backproplab.cli`).
startup_error: ShadowedPackageError | None = None

try:
    import_packages()  # checks first: a shadowing viz.py is named, never imported
except ShadowedPackageError as _exc:
    if not (Path(sys.argv[0]).stem in ("backproplab", "backproplab-script") or sys.argv[0] == "-m"):
        raise
    startup_error = _exc
else:
    # explicit imports (not attributes set at run time), so that editors and type checkers
    # see `bl.nn.MLP`, `bl.viz.draw`, `bl.Value` with their signatures
    import autodiff as autodiff
    import nn as nn
    import viz as viz
    from autodiff import Value as Value

    # `from backproplab.nn import MLP` (as `from micrograd.nn import MLP`) and `import
    # backproplab.viz` find the same module objects (type checkers: the .pyi stubs beside this file)
    for _name, _module in (("autodiff", autodiff), ("nn", nn), ("viz", viz)):
        sys.modules.setdefault(f"{__name__}.{_name}", _module)

__all__ = ["__version__", "Value", "autodiff", "nn", "viz", "ShadowedPackageError", "PACKAGES"]
