"""An interactive, gdb-like stepper through the backward pass, in the terminal.

``run(Stepper(loss))`` reads commands from standard input, one per line. At a
terminal it shows a prompt, edits the line and keeps a history with :mod:`readline`
(arrow keys, Ctrl-R), and an empty line repeats the last command (as in gdb); when
stdin is a pipe or a file (a script of commands) it shows no prompt, skips blank
lines and echoes each command as ``> cmd`` instead, so a transcript reads well and
tests can drive it with :class:`io.StringIO`. Type ``help`` for the commands.

Everything printed goes through :func:`viz.stepformula.escape_control`: a label that
holds an escape sequence is shown as ``\x1b[2J``, never sent to the terminal.
"""

from __future__ import annotations

import re
import shlex
import sys
import textwrap
from typing import Callable, Optional, TextIO

from .step_breakpoints import closest
from .stepformula import escape_control
from .step_types import Step
from .stepper import Stepper

__all__ = ["run", "HELP", "COMMANDS"]

# (command, its short forms, arguments, what it does): the one list behind help and the parser
COMMANDS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("step", ("s", "n", "next"), "[N]", "apply the next step (or N steps)"),
    ("back", ("b",), "[N]", "undo the current step (or N steps)"),
    ("continue", ("c", "cont"), "", "apply steps until a breakpoint triggers (or the pass ends)"),
    ("break", ("br",), "[PATTERN | nan | small EPS]",
     "stop when a gradient flows into a node whose name matches PATTERN (a glob, e.g. w*; "
     "re:REGEX for a regular expression without nested repeats), at a NaN or infinite value, "
     "or when the new |gradient| < EPS; without arguments: list the breakpoints"),
    ("delete", ("d",), "[K]", "remove breakpoint K (all of them without K)"),
    ("print", ("p",), "NAME", "value and gradient of node NAME at this point"),
    ("why", ("w",), "NAME", "every path from the loss to NAME and its product of local derivatives"),
    ("local", ("lr", "rule"), "", "the current step's local derivative: the op's rule, instantiated"),
    ("check", ("ch",), "[EPS]", "finite-difference check of the current step's local derivative(s), "
     "with step EPS (default 1e-6)"),
    ("svg", ("sv",), "PATH", "write the backward view at this point (current step highlighted)"),
    ("frames", ("f",), "DIR", "write one SVG per step into DIR (slide frames, formula as caption)"),
    ("list", ("l",), "", "all steps; > marks the current one"),
    ("goto", ("g",), "K", "jump to position K (0 = nothing applied yet)"),
    ("help", ("h", "?"), "", "this text"),
    ("quit", ("q", "exit"), "", "leave"),
)


def _help() -> str:
    lines = ["commands (one per line; # starts a comment; at a terminal an empty line repeats "
             "the last command):"]
    for name, short, args, what in COMMANDS:
        head = f"  {', '.join(short + (name,))} {args}".rstrip()
        text = textwrap.wrap(what, 60)
        if len(head) >= 34:
            lines.append(head)
            head = ""
        lines.append(f"{head:<34} {text[0]}")
        lines += [f"{'':<34} {more}" for more in text[1:]]
    return "\n".join(lines)


HELP = _help()


def _number(word: str, usage: str) -> float:
    """A command's numeric argument (the command's own method checks its range)."""
    try:
        return float(word)
    except ValueError:
        raise ValueError(f"{usage}: {word!r} is not a number (e.g. 1e-6)") from None


class _Session:
    def __init__(self, stepper: Stepper, out: TextIO) -> None:
        self.s = stepper
        self.out = out

    def say(self, text: str = "") -> None:
        print("\n".join(escape_control(line) for line in str(text).split("\n")), file=self.out)

    def show(self, step: Optional[Step]) -> None:
        s = self.s
        if step is None:
            self.say(f"[0/{len(s)}] at the start: ∂{s.loss_name}/∂{s.loss_name} = 1, "
                     "nothing propagated yet")
            return
        self.say(f"[{step.index + 1}/{len(s)}] {step.formula}")
        if step.local_formula:
            self.say(f"        {step.local_formula}")
        self.say(f"        {s.change_text(step)}")
        for bp in s.hits(step):
            self.say(f"        breakpoint: {bp.description}")

    def count(self, args: list[str]) -> int:
        if not args:
            return 1
        if len(args) > 1 or not args[0].isdigit():
            raise ValueError(f"expected a number of steps, got {' '.join(args)!r}")
        return int(args[0])

    # ------------------------------------------------------------- commands
    def do_step(self, args: list[str]) -> None:
        if self.s.at_end:
            self.say(f"the backward pass is complete ({len(self.s)} steps); use back or goto")
            return
        for _ in range(self.count(args)):
            step = self.s.next()
            if step is None:
                break
            self.show(step)
        if self.s.at_end:
            self.say("end of the backward pass: every gradient is computed")
            self.note_nonfinite()

    def note_nonfinite(self) -> None:
        """At the end, never leave a NaN or an infinite gradient unmentioned."""
        explanation = self.s.explain_nonfinite()
        if explanation:
            self.say("note: a gradient is not finite (a NaN makes plain backward() raise):")
            self.say("        " + explanation.replace("\n", "\n        "))

    def do_back(self, args: list[str]) -> None:
        self.s.goto(max(0, self.s.position - self.count(args)))
        self.show(self.s.current)

    def do_continue(self, args: list[str]) -> None:
        if self.s.at_end:
            self.say(f"the backward pass is complete ({len(self.s)} steps); use back or goto")
            return
        step = self.s.continue_()
        if step is None:
            self.say(f"no breakpoint triggered; end of the backward pass ({len(self.s)} steps)")
            self.note_nonfinite()
        else:
            self.show(step)

    def do_break(self, args: list[str]) -> None:
        s = self.s
        if not args:
            if not s.breakpoints:
                self.say("no breakpoints")
            for k, bp in enumerate(s.breakpoints, 1):
                self.say(f"  {k}: {bp}")
            return
        if args[0] == "nan" and len(args) == 1:
            bp = s.break_on_nonfinite()
        elif args[0] == "small":
            if len(args) != 2:
                raise ValueError("usage: break small EPS (e.g. break small 1e-6)")
            bp = s.break_on_small(_number(args[1], "break small EPS"))
        elif len(args) == 1 and args[0].startswith("re:"):
            try:
                bp = s.break_on(re.compile(args[0][3:]))
            except re.error as exc:
                raise ValueError(f"bad regular expression {args[0][3:]!r}: {exc}") from None
        elif len(args) == 1:
            bp = s.break_on(args[0])
        else:
            raise ValueError(f"usage: break PATTERN | nan | small EPS; got {' '.join(args)!r}")
        self.say(f"breakpoint {len(s.breakpoints)}: {bp.description}")

    def do_delete(self, args: list[str]) -> None:
        if not args:
            self.s.breakpoints.clear()
            self.say("all breakpoints deleted")
            return
        k = self.count(args)
        if not 1 <= k <= len(self.s.breakpoints):
            raise ValueError(f"no breakpoint {k}; there are {len(self.s.breakpoints)}")
        self.say(f"deleted breakpoint {k}: {self.s.breakpoints.pop(k - 1).description}")

    def do_print(self, args: list[str]) -> None:
        if len(args) != 1:
            raise ValueError("usage: print NAME")
        self.say(self.s.describe(args[0]))

    def do_why(self, args: list[str]) -> None:
        if len(args) != 1:
            raise ValueError("usage: why NAME")
        self.say(str(self.s.why(args[0])))

    def do_check(self, args: list[str]) -> None:
        if len(args) > 1:
            raise ValueError(f"usage: check [EPS]; got {' '.join(args)!r}")
        if args:
            self.say(str(self.s.check(eps=_number(args[0], "check EPS"))))
        else:
            self.say(str(self.s.check()))

    def do_local(self, args: list[str]) -> None:
        step = self.s.current
        if step is None:
            raise ValueError("no current step: step forward first (the loss's own rule is ∂l/∂l = 1)")
        self.say(step.local_formula or "(no local rule recorded for this step)")

    def do_svg(self, args: list[str]) -> None:
        if len(args) != 1:
            raise ValueError("usage: svg PATH")
        path = self.s.draw().save(args[0])
        self.say(f"wrote {path}")

    def do_frames(self, args: list[str]) -> None:
        if len(args) != 1:
            raise ValueError("usage: frames DIR")
        paths = self.s.export_frames(args[0])
        self.say(f"wrote {len(paths)} frames to {args[0]} ({paths[0].name} … {paths[-1].name})")

    def do_list(self, args: list[str]) -> None:
        for step in self.s.steps:
            mark = ">" if step is self.s.current else " "
            self.say(f"{mark}{step.index + 1:4d}  {step.formula}")

    def do_goto(self, args: list[str]) -> None:
        if len(args) != 1 or not args[0].isdigit():
            raise ValueError(f"usage: goto K with 0 <= K <= {len(self.s)}")
        self.s.goto(int(args[0]))
        self.show(self.s.current)

    def do_help(self, args: list[str]) -> None:
        self.say(HELP)


_ALIASES = {short: name for name, shorts, _, _ in COMMANDS for short in shorts}
_CANCELLED = object()   # what the reader returns when Ctrl-C cancelled the line being typed


def _line_reader(stdin: TextIO, stdout: TextIO, interactive: bool, prompt: str) -> Callable[[], Optional[str]]:
    """A function returning the next line ('' for an empty one), ``_CANCELLED`` when Ctrl-C
    cancelled the line (as in gdb: a new prompt, the session goes on), or None at the end
    of input (Ctrl-D at a terminal, after printing the newline the shell's prompt needs).
    At the real terminal it is :func:`input` with readline's editing and history."""
    if interactive and stdin is sys.stdin and stdout is sys.stdout:
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:  # pragma: no cover - e.g. Windows without pyreadline
            pass

        def read():
            try:
                return input(prompt)
            except EOFError:
                stdout.write("\n")
                stdout.flush()
                return None
            except KeyboardInterrupt:   # the terminal has echoed ^C: end its line
                stdout.write("\n")
                stdout.flush()
                return _CANCELLED
        return read

    def read_stream():
        if interactive:
            stdout.write(prompt)
            stdout.flush()
        try:
            line = stdin.readline()
        except KeyboardInterrupt:
            if not interactive:
                raise
            stdout.write("^C\n")
            return _CANCELLED
        if not line and interactive:
            stdout.write("\n")
            stdout.flush()
        return line if line else None
    return read_stream


def run(stepper: Stepper, stdin: Optional[TextIO] = None, stdout: Optional[TextIO] = None,
        prompt: str = "(backprop) ") -> int:
    """Run the stepper on commands from ``stdin`` until ``quit`` or end of input.

    Returns 0, or 1 if a command failed while reading a script (not a terminal), so
    that a scripted demonstration that goes wrong is noticed.
    """
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    interactive = hasattr(stdin, "isatty") and stdin.isatty()
    session = _Session(stepper, stdout)
    failed = False
    session.say(f"backward pass of {stepper.loss_name}: {len(stepper)} chain-rule steps "
                "(help for commands)")
    read = _line_reader(stdin, stdout, interactive, prompt)
    last = ""
    while True:
        line = read()
        if line is None:
            break
        if line is _CANCELLED:
            continue
        line = line.strip()
        if not line and interactive:
            line = last  # Enter repeats the last command
        if not line or line.startswith("#"):
            continue
        last = line
        if not interactive:
            session.say(f"> {line}")
        try:
            words = shlex.split(line)
        except ValueError as exc:
            words = []
            session.say(f"error: {exc}")
            failed = True
        if not words:
            continue
        name = _ALIASES.get(words[0], words[0])
        if name == "quit":
            break
        handler: Optional[Callable[[list[str]], None]] = getattr(session, f"do_{name}", None)
        if handler is None:
            close = closest(words[0], [c for c, shorts, _, _ in COMMANDS] + list(_ALIASES))
            hint = f"; did you mean {_ALIASES.get(close, close)!r}?" if close else ""
            session.say(f"error: unknown command {words[0]!r}{hint} (help lists the commands)")
            failed = True
            continue
        try:
            handler(words[1:])
        except KeyboardInterrupt:   # Ctrl-C during a long command: stop it, keep the session
            if not interactive:
                raise
            session.say(f"interrupted at position {stepper.position} of {len(stepper)}")
        except (ValueError, KeyError, IndexError, TypeError, OSError, RuntimeError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            session.say(f"error: {message}")
            failed = True
    return 1 if failed and not interactive else 0
