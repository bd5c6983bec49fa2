"""The terminal stepper (viz.terminal) driven by a script of commands."""

from __future__ import annotations

import io
import shutil
import xml.etree.ElementTree as ET

import pytest

from autodiff import Value
from viz.stepper import Stepper
from viz.terminal import run


def graph():
    x, w, b = Value(0.5, "x"), Value(-1.0, "w", param=True), Value(0.1, "b", param=True)
    return (w * x + b).sigmoid(), x, w, b


def drive(stepper: Stepper, script: str) -> tuple[int, str]:
    out = io.StringIO()
    return run(stepper, io.StringIO(script), out), out.getvalue()


def test_script_steps_breaks_prints_and_explains():
    loss, x, w, b = graph()
    s = Stepper(loss)
    rc, out = drive(s, "# comment\n\nstep\nbreak w\ncontinue\np w\nwhy w\ncheck\nback\np w\nquit\nstep\n")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"backward pass of {s.names[loss]}: {len(s)} chain-rule steps")
    assert "> step" in lines and "> quit" in lines and "> # comment" not in lines
    step_into_w = next(st for st in s.steps if st.input is w)
    assert f"[{step_into_w.index + 1}/{len(s)}] {step_into_w.formula}" in lines
    assert "        breakpoint: name matches 'w'" in lines
    # print after reaching w shows its gradient, after back it is unknown again
    printed = [ln for ln in lines if ln.startswith("w [parameter]")]
    assert printed[0].endswith(f"= {s.fmt(step_into_w.product)}") and printed[1].endswith("= ?")
    assert "1 path(s) from" in out and "-> ok" in out
    # quit stops reading: the last "step" was not executed
    assert s.position == step_into_w.index
    assert lines[-1] == "> quit"


def test_goto_list_small_and_nan_breakpoints_and_delete():
    x = Value(0.0, "x")
    loss = (x ** 2) ** 0.5 * 3.0
    s = Stepper(loss)
    rc, out = drive(s, "break nan\nbreak small 1e-9\nbreak\ndelete 2\ncontinue\nlist\ngoto 0\nstep 2\n")
    assert rc == 0
    assert "  1: a non-finite value (NaN or ±inf)" in out and "  2: |gradient| < 1e-09" in out
    assert "deleted breakpoint 2" in out
    first_bad = s.steps[[i for i, st in enumerate(s.steps) if st.local == float("inf")][0]]
    assert f"[{first_bad.index + 1}/{len(s)}] {first_bad.formula}" in out
    listing = [ln for ln in out.splitlines() if ln[:1] in (" ", ">") and "+=" in ln and ln[1:5].strip().isdigit()]
    assert len(listing) == len(s) and sum(ln.startswith(">") for ln in listing) == 1
    assert f"[0/{len(s)}] at the start" in out
    assert s.position == 2


def test_errors_are_reported_and_fail_a_script():
    loss, *_ = graph()
    s = Stepper(loss)
    rc, out = drive(s, "frobnicate\nprint nosuch\ngoto 99\nbreak small\nbreak re:(\nstep\n")
    assert rc == 1
    assert "error: unknown command 'frobnicate'" in out
    assert "error: no node named 'nosuch'" in out
    assert "error: step 99 is out of range" in out
    assert "usage: break small EPS" in out and "bad regular expression" in out
    assert s.position == 1  # the commands after the errors still ran


def test_step_at_end_and_help():
    loss, *_ = graph()
    s = Stepper(loss)
    rc, out = drive(s, f"step {len(s) + 3}\nstep\ncontinue\nhelp\n")
    assert rc == 0 and s.at_end
    assert out.count("the backward pass is complete") == 2
    assert "end of the backward pass: every gradient is computed" in out
    assert "why NAME" in out


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
def test_svg_command_writes_the_backward_view_with_the_current_step(tmp_path):
    loss, x, w, b = graph()
    s = Stepper(loss)
    path = tmp_path / "now.svg"
    rc, out = drive(s, f"step 3\nsvg {path}\n")
    assert rc == 0 and f"wrote {path}" in out
    root = ET.parse(path).getroot()
    ids = {g.get("id") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    cur = s.current
    assert f"n{cur.input_index}" in ids and cur.edge_id + "_back" in ids
    from viz.style import HIGHLIGHT
    node = next(g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("id") == f"n{cur.input_index}")
    assert any(e.get("stroke") == HIGHLIGHT for e in node.iter("{http://www.w3.org/2000/svg}ellipse"))
    # nodes not reached yet show "?"
    texts = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "?" in texts


def test_at_a_terminal_prompts_instead_of_echoing():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    loss, *_ = graph()
    out = io.StringIO()
    rc = run(Stepper(loss), Tty("step\nbogus\n"), out, prompt="(bp) ")
    assert rc == 0  # errors do not fail an interactive session
    assert out.getvalue().count("(bp) ") == 3 and "> step" not in out.getvalue()


def test_help_lists_every_command_with_its_short_forms():
    from viz.terminal import COMMANDS, HELP, _Session
    for name, shorts, _, _ in COMMANDS:
        assert any(line.lstrip().startswith(", ".join(shorts + (name,))) for line in HELP.splitlines()), name
        assert name == "quit" or hasattr(_Session, f"do_{name}")
    loss, *_ = graph()
    for short in ("s", "n", "b", "c", "br", "p", "w", "g", "l", "h", "?"):
        rc, out = drive(Stepper(loss), f"{short} w\n" if short in ("p", "w", "br") else f"{short}\n")
        assert "unknown command" not in out, short


def test_control_characters_in_labels_are_shown_escaped():
    """Value() and the label setter refuse control characters (issue 18); other invisible
    characters (a right-to-left override) and those typed as commands are shown escaped."""
    x = Value(0.5, "x")
    with pytest.raises(ValueError, match="control character U\\+001B"):
        x.label = "x\x1b]0;pwned\x07\x1b[2J"
    w = Value(2.0, "w\u202e", param=True)
    s = Stepper(w * x, wrt=[w, x])
    rc, out = drive(s, "step 2\nlist\nprint w\u202e\nwhy w\u202e\nbogus\x1b[A\n")
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "w\\u202e" in out
    assert "unknown command 'bogus\\x1b[A'" in out


def test_enter_repeats_the_last_command_at_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    loss, *_ = graph()
    s = Stepper(loss)
    out = io.StringIO()
    run(s, Tty("step\n\n\n"), out, prompt="(bp) ")
    assert s.position == min(3, len(s))
    s2 = Stepper(loss)
    drive(s2, "step\n\n\n")  # in a script a blank line is just blank
    assert s2.position == 1


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs a pseudo-terminal (POSIX)")
def test_real_terminal_has_readline_history_and_enter_repeats():
    """At a real (pseudo-)terminal: ↑ recalls the last command through readline
    instead of being read as the text '\\x1b[A', and an empty line repeats it."""
    import os
    import select
    import subprocess
    import sys
    import time

    master, slave = os.openpty()
    env = dict(os.environ, TERM="xterm", INPUTRC="/dev/null")
    proc = subprocess.Popen([sys.executable, "-m", "viz", "step", "sigmoid(w*x + b)", "--set", "x=0.5,w=-1,b=0.1",
                             "--param", "w,b"], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    output = b""

    def read_until(marker: bytes, timeout: float = 20.0) -> None:
        nonlocal output
        end = time.monotonic() + timeout
        while marker not in output and time.monotonic() < end:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    output += os.read(master, 4096)
                except OSError:
                    break

    try:
        read_until(b"(backprop) ")
        for keys, marker in ((b"s\r", b"[1/4]"), (b"\x1b[A\r", b"[2/4]"), (b"\r", b"[3/4]")):
            os.write(master, keys)
            read_until(marker)
        os.write(master, b"q\r")
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    text = output.decode("utf-8", "replace")
    assert "[1/4]" in text and "[2/4]" in text and "[3/4]" in text, text
    assert "unknown command" not in text


# ------------------------------------------------------------------ a real terminal

def _pty_session(lines: list[list[bytes]], timeout: float = 20.0) -> tuple[int, str]:
    """Run the terminal stepper on a pseudo-terminal (its controlling terminal, so Ctrl-C
    is a SIGINT and Ctrl-D an end of file, as at a shell) and type ``lines``, each once a
    new prompt is shown, its pieces 0.3 s apart. Returns the exit status and everything shown."""
    import os
    import pty
    import select
    import sys
    import time
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    program = ("import sys; from autodiff import Value; from viz.stepper import Stepper; "
               "from viz.terminal import run; "
               "x, w, b = Value(0.5, 'x'), Value(-1.0, 'w', param=True), Value(0.1, 'b', param=True); "
               "sys.exit(run(Stepper((w * x + b).sigmoid())))")
    pid, fd = pty.fork()
    if pid == 0:   # the child: the pty is its terminal
        os.chdir(root)
        os.environ["PYTHONPATH"] = str(root)
        os.environ["TERM"] = "dumb"
        os.execv(sys.executable, [sys.executable, "-c", program])
    shown = b""
    deadline = time.monotonic() + timeout

    def read_until(pred) -> None:
        nonlocal shown
        while not pred(shown) and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    return
                if not chunk:
                    return
                shown += chunk
    try:
        prompts = 0
        for pieces in lines:
            prompts += 1
            read_until(lambda out, n=prompts: out.count(b"(backprop) ") >= n)
            for piece in pieces:
                os.write(fd, piece)
                time.sleep(0.3)
        read_until(lambda out: False)   # to the end (the child exits and closes the pty)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace").replace("\r\n", "\n")


def test_ctrl_c_cancels_the_line_and_ctrl_d_ends_with_a_newline():
    """At a terminal: Ctrl-C while typing cancels that line (the half-typed command does not
    run, the session goes on, no traceback), as in gdb; Ctrl-D leaves the debugger with the
    shell's prompt on a line of its own; each step shows its local rule."""
    code, out = _pty_session([[b"goto 3", b"\x03"], [b"step\r"], [b"\x04"]])
    assert code == 0, out
    assert "Traceback" not in out and "KeyboardInterrupt" not in out
    assert "[1/" in out and "[3/" not in out   # the cancelled goto 3 never ran; step did
    assert "∂u" in out.split("[1/", 1)[1]       # the local rule under the step
    assert out.endswith("(backprop) \n"), repr(out[-40:])   # Ctrl-D: a newline after the prompt
    assert out.count("(backprop) ") == 3


def test_did_you_mean_local_rule_why_on_the_loss_and_safe_patterns():
    loss, *_ = graph()
    s = Stepper(loss)
    rc, out = drive(s, "stpe\nstep\nlocal\nwhy " + s.loss_name + "\nbreak re:(a+)+$\nbreak w*\ncheck\n")
    assert "error: unknown command 'stpe'; did you mean 'step'?" in out
    assert out.count(s.steps[0].local_formula) >= 2   # with the step, and on demand
    assert f"{s.loss_name} is the loss: ∂{s.loss_name}/∂{s.loss_name} = 1" in out
    assert "repeats a group that holds a repeat" in out
    assert "breakpoint 1: name matches 'w*'" in out
    assert "-> ok" in out
