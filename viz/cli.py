"""The ``backproplab`` command line (also ``python -m viz``).

    backproplab draw "sigmoid(w*x + b)" --set x=0.5 --set w=-1 --set b=0.1 --param w,b -o g.svg
    backproplab draw "..." --set ... --view backward [--wrt w] -o g.png
    backproplab step "..." --set ... [--script cmds.txt]      # terminal stepper (stdin by default)
    backproplab step "..." --set ... --html steps.html          # self-contained step-through page
    backproplab step "..." --set ... --frames DIR               # one SVG per step, for slides

Expressions are parsed by :mod:`viz.expr` (``ast``, never ``eval``): numbers, names,
``+ - * / **``, unary minus and the engine's functions. Every name needs a value
(``--set name=value``); ``--param`` marks names as parameters (drawn red). Exit
status: 0 on success, 2 for a refused expression or bad arguments, 1 when writing
the output failed (e.g. Graphviz is not installed).
"""

from __future__ import annotations

import argparse
import io
import math
import difflib
import sys
from typing import Optional, Sequence

import autodiff
from autodiff import Value

from .expr import ExprError, parse_expr

__all__ = ["main", "build_parser", "add_commands", "parse", "run", "did_you_mean"]


class UsageError(Exception):
    """Bad command-line input; reported with exit status 2."""


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` (difflib), or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _assignments(items: Sequence[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for item in items:
        for part in filter(None, (p.strip() for p in item.split(","))):
            name, eq, number = part.partition("=")
            name = name.strip()
            if not eq:
                raise UsageError(f"--set {part!r}: write NAME=NUMBER, e.g. --set x=0.5")
            if not name.isidentifier():
                raise UsageError(f"--set {part!r}: {name!r} is not a variable name (letters, digits and _, "
                                 "not starting with a digit, as in the expression)")
            if name in values:
                raise UsageError(f"--set {name} is given twice ({name}={values[name]:g} and {part}); "
                                 f"give each name one value")
            try:
                values[name] = float(number)
            except ValueError:
                raise UsageError(f"--set {part!r}: {number.strip()!r} is not a number") from None
            if not math.isfinite(values[name]):
                raise UsageError(f"--set {part!r}: the value must be a finite number, got {number.strip()}")
    return values


def _digits(text: str) -> int:
    """--digits: significant digits, an int from 1 to 17 (float64 holds 17)."""
    try:
        digits = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer; give 1 to 17") from None
    if not 1 <= digits <= 17:
        raise argparse.ArgumentTypeError(f"{digits} is out of range; give 1 to 17 significant digits")
    return digits


def _names(items: Sequence[str]) -> list[str]:
    return [n.strip() for item in items for n in item.split(",") if n.strip()]


def _build(args: argparse.Namespace) -> Value:
    values = _assignments(args.set)
    try:
        loss = parse_expr(args.expr, values, params=_names(args.param))
    except ExprError as exc:
        raise UsageError(str(exc)) from None
    used = {v.label for v in autodiff.topological_order(loss) if v.label}
    if not loss.label:  # the slides call the loss l
        loss.label = next(n for n in ("l", "loss", "f", "out") if n not in used)
    unused = sorted(set(values) - used)
    if unused:
        print(f"backproplab: warning: --set {', '.join(unused)} not used in the expression",
              file=sys.stderr)
    return loss


def _wrt(loss: Value, names: list[str]) -> Optional[list[Value]]:
    """The nodes named by --wrt; by default the parameters, or every variable if none."""
    leaves = [v for v in autodiff.topological_order(loss) if v.is_leaf and v.label]
    if names:
        by_name = {v.label: v for v in leaves}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise UsageError(f"--wrt {', '.join(missing)}: no such variable in the expression"
                             f"{did_you_mean(missing[0], sorted(by_name))} "
                             f"(variables: {', '.join(sorted(by_name))})")
        return [by_name[n] for n in names]
    return None if any(v.param for v in leaves) else leaves


def cmd_draw(args: argparse.Namespace) -> int:
    from .render import draw
    loss = _build(args)
    if args.view == "backward":
        loss.backward()
    drawing = draw(loss, view=args.view, wrt=_wrt(loss, _names(args.wrt)), detail=args.detail)
    from .render import GraphvizNotFound
    try:
        if args.output:
            print(f"wrote {drawing.save(args.output)}")
        else:
            sys.stdout.write(drawing.svg())
    except GraphvizNotFound as exc:
        raise GraphvizNotFound(f"{exc} Or write the DOT source with -o FILE.dot.") from None
    return 0


def cmd_step(args: argparse.Namespace) -> int:
    from .stepper import Stepper
    loss = _build(args)
    stepper = Stepper(loss, detail=args.detail, wrt=_wrt(loss, _names(args.wrt)), digits=args.digits,
                      constants=args.constants)
    if args.frames:
        paths = stepper.export_frames(args.frames)
        print(f"wrote {len(paths)} frames to {args.frames} ({paths[0].name} … {paths[-1].name})")
    if args.html:
        from .html_page import write_html
        path = write_html(stepper, args.html, title=args.expr)
        print(f"wrote {path} ({len(stepper)} steps); open it in a browser")
    if args.html or args.frames:
        return 0
    from .terminal import run
    if args.script:
        return run(stepper, io.StringIO(_read_script(args.script)), sys.stdout)
    return run(stepper, sys.stdin, sys.stdout)


def _read_script(path: str) -> str:
    """The text of a ``--script`` file; a file that cannot be read or is not UTF-8 text is a
    usage error naming it."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise UsageError(f"--script {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"--script {path}: not a UTF-8 text file (byte {exc.start} is "
                         f"0x{raw[exc.start]:02x}); give a file of stepper commands, one per line") from None
    if "\x00" in text:
        raise UsageError(f"--script {path}: holds NUL bytes, so it is a binary file, not stepper commands")
    return text


def add_commands(sub: "argparse._SubParsersAction") -> dict[str, argparse.ArgumentParser]:
    """Add the ``draw`` and ``step`` subcommands to ``sub``; returns them by name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("expr", help='the expression, e.g. "sigmoid(w*x + b)" (one starting with - '
                        'needs a leading space: " -x*w")')
    common.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a variable's value (repeat, or separate with commas)")
    common.add_argument("--param", action="append", default=[], metavar="NAME",
                        help="mark a variable as a parameter (drawn red); repeatable")

    p_draw = sub.add_parser("draw", parents=[common], help="write the graph as SVG/PNG/DOT")
    p_draw.add_argument("-o", "--output", help="output file (.svg, .png, .pdf, .dot); SVG to stdout if absent")
    p_draw.add_argument("--view", choices=("forward", "backward"), default="forward")
    p_draw.add_argument("--wrt", action="append", default=[], metavar="NAME",
                        help="backward view: trace paths to these variables (default: the parameters)")
    p_draw.add_argument("--detail", choices=("scalar", "neuron", "layer"), default="scalar")
    p_draw.set_defaults(run=cmd_draw)

    p_step = sub.add_parser("step", parents=[common],
                            help="step through the backward pass (terminal, or --html page)")
    p_step.add_argument("--script", metavar="FILE", help="read stepper commands from FILE instead of stdin")
    p_step.add_argument("--html", metavar="OUT", help="write a self-contained step-through HTML page")
    p_step.add_argument("--frames", metavar="DIR",
                        help="write one slide-style SVG per step into DIR (current edge highlighted, "
                             "the formula as caption)")
    p_step.add_argument("--digits", type=_digits, default=4, help="significant digits in formulas (4)")
    p_step.add_argument("--wrt", action="append", default=[], metavar="NAME",
                        help="step only along the paths to these variables (default: the parameters, "
                             "or every variable if there are none)")
    p_step.add_argument("--detail", choices=("scalar", "neuron", "layer"), default="scalar",
                        help="one step per scalar edge, or per edge of the neuron- or layer-level drawing")
    p_step.add_argument("--constants", action="store_true",
                        help="also show the steps into plain numbers such as the 0.5 of 0.5*e**2")
    p_step.add_argument("--hide-constants", action="store_false", dest="constants",
                        help="leave those steps out (the default)")
    p_step.set_defaults(run=cmd_step)
    return {"draw": p_draw, "step": p_step}


def _parser_and_commands() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="backproplab",
        description="Draw a scalar expression's computational graph as the lecture slides do, "
                    "or step through its backward pass.")
    return parser, add_commands(parser.add_subparsers(dest="command", required=True))


def build_parser() -> argparse.ArgumentParser:
    return _parser_and_commands()[0]


def parse(parser: argparse.ArgumentParser, commands: dict[str, argparse.ArgumentParser],
          argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """``parser.parse_args`` with a "did you mean" for a mistyped subcommand (one of
    ``commands``) and the subcommand's own usage, not the top-level one, for its unknown options."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in commands:
        parser.error(f"unknown command {argv[0]!r}{did_you_mean(argv[0], list(commands))}; "
                     f"choose from {', '.join(commands)}")
    args, extra = parser.parse_known_args(argv)
    if extra:
        commands.get(getattr(args, "command", None) or "", parser).error(
            f"unrecognized arguments: {' '.join(extra)}")
    return args


def run(args: argparse.Namespace) -> int:
    """Run a parsed command; errors are one line on stderr and an exit status (see module doc)."""
    try:
        return args.run(args)
    except UsageError as exc:
        print(f"backproplab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError, RuntimeError, ArithmeticError) as exc:
        print(f"backproplab {args.command}: error: {exc}", file=sys.stderr)
        return 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser, commands = _parser_and_commands()
    return run(parse(parser, commands, argv))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
