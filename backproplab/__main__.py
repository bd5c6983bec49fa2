"""``python -m backproplab ...`` is the ``backproplab`` command line (see :mod:`backproplab.cli`)."""

from .cli import main

raise SystemExit(main())
