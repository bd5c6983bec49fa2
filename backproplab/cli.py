"""The ``backproplab`` command line (also ``python -m backproplab``).

    backproplab --version
    backproplab doctor                              # is this installation whole? what to fix
    backproplab demo [--out DIR]                    # the NPTEL worked example: table, graphs, stepper page
    backproplab examples [list]                     # the lecture experiments shipped with the package
    backproplab examples run xor [--quick] [--out DIR] [script options]
    backproplab draw "sigmoid(w*x + b)" --set ...   # see viz.cli
    backproplab step "..." --set ... [--html page.html]

``draw`` and ``step`` are :mod:`viz.cli`'s; this module adds the commands that concern the
installed package. Exit status: 0 on success, 1 when a command fails, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Optional, Sequence

import backproplab

from . import __version__, doctor

__all__ = ["main", "build_parser", "example_names", "examples_package"]

EXAMPLE_ACTIONS = ("list", "run")


def _viz_cli() -> ModuleType:
    """:mod:`viz.cli`, imported only once autodiff/nn/viz are known to be ours."""
    return importlib.import_module("viz.cli")


def examples_package() -> ModuleType:
    """``backproplab.examples`` (the repository's ``examples/``, packaged into the wheel)."""
    try:
        return importlib.import_module("backproplab.examples")
    except ModuleNotFoundError:  # a checkout on sys.path without installing
        return importlib.import_module("examples")


def _scripts() -> dict[str, Path]:
    folder = Path(examples_package().__file__).parent
    return {p.stem: p for p in sorted(folder.glob("*.py")) if not p.stem.startswith("_")}


def example_names() -> list[str]:
    """The examples' names (their script stems), as ``backproplab examples run NAME`` takes them."""
    return list(_scripts())


def _summary(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def cmd_examples_list(args: argparse.Namespace) -> int:
    """Print every example with the first paragraph of its docstring."""
    scripts = _scripts()
    width = max(map(len, scripts))
    for name, path in scripts.items():
        print(f"{name:<{width}}  {_summary(path)}")
    print(f"\nrun one with: backproplab examples run NAME [--quick] [--out DIR]  "
          f"(NAME --help for its options; scripts in {Path(examples_package().__file__).parent})")
    return 0


def _run_example(name: str, argv: Sequence[str]) -> int:
    scripts = _scripts()
    if name not in scripts:
        hint = _viz_cli().did_you_mean(name, list(scripts))
        raise _viz_cli().UsageError(f"no example {name!r}{hint}; choose from {', '.join(scripts)} "
                                    f"(backproplab examples list)")
    module = importlib.import_module(f"{examples_package().__name__}.{name}")
    module.main(list(argv))
    return 0


def cmd_examples_run(args: argparse.Namespace) -> int:
    """Run one example with its own options."""
    return _run_example(args.name, args.script_args)


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the main demo (the NPTEL worked example)."""
    argv = (["--out", args.out] if args.out else []) + ["--quick"] * args.quick + ["--no-figures"] * args.no_figures
    return _run_example("demo", argv)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the installation and say what to fix."""
    return doctor.run(sys.stdout)


def _parser_and_commands() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="backproplab",
        description="backproplab: draw a scalar expression's graph as the lecture slides do, step "
                    "through its backward pass, run the lecture experiments.")
    parser.add_argument("--version", action="version", version=f"backproplab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = _viz_cli().add_commands(sub)

    p_demo = sub.add_parser("demo", help="the main demo: the NPTEL worked example, its graphs and a "
                                         "step-through page")
    p_demo.add_argument("--out", metavar="DIR", help="where to write the graphs and the page (default ./out/demo)")
    p_demo.add_argument("--quick", action="store_true", help="accepted for symmetry (the demo is small)")
    p_demo.add_argument("--no-figures", action="store_true", help="print the table only")
    p_demo.set_defaults(run=cmd_demo)

    p_examples = sub.add_parser("examples", help="list or run the lecture experiments")
    p_examples.set_defaults(run=cmd_examples_list)  # `backproplab examples` alone lists them
    ex_sub = p_examples.add_subparsers(dest="action", required=False, metavar="ACTION")
    ex_sub.add_parser("list", help="every example with a one-line summary").set_defaults(run=cmd_examples_list)
    p_run = ex_sub.add_parser("run", help="run one example",
                              usage="backproplab examples run NAME [--quick] [--out DIR] [options]")
    p_run.add_argument("name", metavar="NAME", help="an example (backproplab examples list)")
    p_run.add_argument("script_args", nargs=argparse.REMAINDER,
                       help="the example's options: --quick (small sizes), --out DIR, --no-figures, "
                            "and its own (NAME --help)")
    p_run.set_defaults(run=cmd_examples_run)

    p_doctor = sub.add_parser("doctor", help="check the installation (packages, Graphviz, fonts) and say what to fix")
    p_doctor.set_defaults(run=cmd_doctor)
    commands.update(demo=p_demo, examples=p_examples, doctor=p_doctor)
    return parser, commands


def build_parser() -> argparse.ArgumentParser:
    """The ``backproplab`` argument parser with every command."""
    return _parser_and_commands()[0]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if backproplab.startup_error is not None:  # autodiff/nn/viz are not ours: only the doctor can run
        if args[:1] == ["doctor"]:
            return doctor.run(sys.stdout)
        print(f"backproplab: error: {backproplab.startup_error}\n(run `backproplab doctor` for the full check)",
              file=sys.stderr)
        return 1
    parser, commands = _parser_and_commands()
    if args[:1] == ["examples"] and args[1:2] and not args[1].startswith("-") and args[1] not in EXAMPLE_ACTIONS:
        commands["examples"].error(f"unknown action {args[1]!r}{_viz_cli().did_you_mean(args[1], EXAMPLE_ACTIONS)}; "
                                   f"choose from {', '.join(EXAMPLE_ACTIONS)}")
    return _viz_cli().run(_viz_cli().parse(parser, commands, args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
