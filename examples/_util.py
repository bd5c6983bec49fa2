"""Shared plumbing for the example scripts: import path, command line, output directory.

Every example is a script with ``main(argv=None) -> dict``. Run from a checkout without installing
(``python3 examples/xor.py``): importing this module puts the repository root on ``sys.path`` so
``autodiff`` and ``nn`` import. Common options: ``--out DIR`` (default ``./out/<example>``),
``--quick`` (small sizes, for the smoke tests), ``--no-figures``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    try:
        import autodiff  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(ROOT))


def parse_args(name: str, doc: str, argv: Optional[Sequence[str]],
               extra: Optional[Callable[[argparse.ArgumentParser], None]] = None,
               figures: bool = True) -> argparse.Namespace:
    """Parse the common options plus any an example adds through ``extra(parser)``.

    Sets ``args.out`` to a created directory unless ``--no-figures`` was given or the example
    writes no figures by default (``figures=False``); then ``args.out`` is ``None`` (and
    ``args.out_dir`` keeps the requested path).
    """
    parser = argparse.ArgumentParser(prog=f"examples/{name}.py", description=doc.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out") / name,
                        help=f"directory for figures (default: ./out/{name})")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke tests)")
    parser.add_argument("--no-figures", action="store_true", help="write no files")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(list(argv) if argv is not None else None)
    args.out_dir = args.out
    if args.no_figures or not figures:
        args.out = None
    else:
        args.out.mkdir(parents=True, exist_ok=True)
    return args


def table(rows: Sequence[Sequence[object]], header: Sequence[str], floatfmt: str = ".6f") -> str:
    """A plain aligned text table: numbers right-aligned, text left-aligned."""
    def cell(v: object) -> str:
        if isinstance(v, float):
            return format(v, floatfmt)
        return str(v)

    cells = [[cell(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    numeric = [all(isinstance(r[i], (int, float)) and not isinstance(r[i], bool) for r in rows)
               for i in range(len(header))]

    def line(vals: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(vals, widths, numeric)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in cells])
