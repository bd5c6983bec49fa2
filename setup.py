"""Everything about the package is in pyproject.toml, except the optional C core of the eager
engine (autodiff/_ccore.c), which setuptools can only be given here.

Optional means: without a C compiler or Python's headers the build prints one line and goes on,
and the pure-Python engine runs (autodiff.accelerated is then False). The flag -ffp-contract=off
keeps every multiply and add a separate IEEE operation, as in Python, so the C core's numbers
are bitwise the pure-Python engine's.
"""

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that never fails the installation: a failed build is a one-line note."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler at all, missing headers, ...
            self._note(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._note(exc)

    @staticmethod
    def _note(exc: Exception) -> None:
        reason = str(exc).strip().splitlines()[-1:] or [type(exc).__name__]
        print(f"backproplab: C core not built ({reason[0]}); the pure-Python engine will run "
              "(install a C compiler and python3-dev for the faster one)", file=sys.stderr)


setup(
    ext_modules=[Extension("autodiff._ccore", ["autodiff/_ccore.c"], optional=True,
                           extra_compile_args=["-O2", "-ffp-contract=off"])],
    cmdclass={"build_ext": OptionalBuildExt},
)
