"""backproplab's lecture experiments, one script each (index in ``examples/README.md``).

In the repository they live in ``examples/``; the wheel installs them as
``backproplab.examples``, and ``backproplab examples list`` / ``backproplab examples run NAME``
run them from an installed copy. Every script has ``main(argv=None) -> dict`` and the options
``--quick``, ``--out DIR`` and ``--no-figures``.
"""
