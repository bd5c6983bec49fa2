"""``python -m viz`` runs the ``backproplab`` command line (see :mod:`viz.cli`)."""

from .cli import main

raise SystemExit(main())
