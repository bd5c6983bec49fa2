"""1-D gradient descent on J(x) = (a − bx)²: converge with a good learning rate, diverge with a bad one.

Seed 000 §6.2: dJ/dx = −2b(a − bx), minimum at x₀ = a/b. Seeds 003/004: the update
x ← x − η·dJ/dx converges for a suitable η and diverges for a too large one.

Why, exactly: with e_n = x_n − x₀ the update is e_{n+1} = (1 − 2ηb²)·e_n, so the error shrinks
iff |1 − 2ηb²| < 1, i.e. 0 < η < 1/b². At η = 1/(2b²) one step lands on x₀; between 1/(2b²) and
1/b² the iterates oscillate around x₀ while converging; at η = 1/b² they oscillate forever; above,
they diverge. The derivative used by every step comes from ``Value.backward()`` and is checked
against the formula −2b(a − bx).

Run: ``python3 examples/gradient_descent_1d.py [--a 2 --b 1.5 --start 0 --steps 25]``.
Writes ``gd_1d.png`` (iterates x_n, J(x_n) on a log axis, and the iterates on the parabola).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

try:
    from . import _util
except ImportError:  # run as a script
    import _util

from autodiff import Value


def dJ_dx(x: float, a: float, b: float) -> tuple[float, float]:
    """J(x) and dJ/dx at x, computed by building J on Value nodes and calling backward()."""
    xv = Value(x, "x", param=True)
    J = (a - b * xv) ** 2
    J.backward()
    return J.data, xv.grad


def descend(a: float, b: float, eta: float, start: float, steps: int) -> dict:
    """Run ``steps`` updates x ← x − η dJ/dx from ``start``; return the trajectory and its verdict."""
    xs, Js, max_grad_err = [start], [], 0.0
    x = start
    for _ in range(steps):
        J, g = dJ_dx(x, a, b)
        max_grad_err = max(max_grad_err, abs(g - (-2 * b * (a - b * x))) / max(1.0, abs(g)))
        Js.append(J)
        x = x - eta * g
        xs.append(x)
        if not math.isfinite(x) or abs(x) > 1e150:
            break
    Js.append((a - b * x) ** 2 if math.isfinite(x) and abs(x) < 1e150 else math.inf)
    x_opt = a / b
    errs = [abs(v - x_opt) for v in xs]
    ratios = [e1 / e0 for e0, e1 in zip(errs, errs[1:]) if e0 > 1e-300]
    factor = 1 - 2 * eta * b * b
    return {"eta": eta, "xs": xs, "Js": Js, "x_final": xs[-1], "J_final": Js[-1],
            "error_ratio_observed": ratios[-1] if ratios else 0.0,
            "error_ratio_predicted": abs(factor),
            "oscillates": factor < 0, "converged": errs[-1] < 1e-6 * max(1.0, abs(x_opt)),
            "diverged": errs[-1] > 1e3 * max(1.0, errs[0]),
            "max_rel_grad_error": max_grad_err}


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = _util.parse_args("gradient_descent_1d", __doc__, argv, lambda p: (
        p.add_argument("--a", type=float, default=2.0),
        p.add_argument("--b", type=float, default=1.5),
        p.add_argument("--start", type=float, default=0.0),
        p.add_argument("--steps", type=int, default=None, help="default 40 (12 with --quick)"),
        p.add_argument("--etas", type=float, nargs="*", default=None,
                       help="learning rates (default: 0.25, 0.8, 1.0, 1.1 times 1/b²)")))
    a, b = args.a, args.b
    if b == 0:
        raise SystemExit("gradient_descent_1d: b must be non-zero (J has no unique minimum for b = 0)")
    steps = args.steps if args.steps is not None else (12 if args.quick else 40)
    thr = 1.0 / (b * b)
    etas = args.etas or [0.25 * thr, 0.8 * thr, 1.0 * thr, 1.1 * thr]
    runs = [descend(a, b, eta, args.start, steps) for eta in etas]

    print(f"J(x) = ({a:g} - {b if b >= 0 else f'({b:g})'}*x)^2,  minimum x0 = a/b = {a / b:.6f}")
    print(f"error factor per step: x_n+1 - x0 = (1 - 2 eta b^2)(x_n - x0)  ->  converges iff "
          f"0 < eta < 1/b^2 = {thr:.6f}")
    rows = []
    for r in runs:
        # the error factor |1 − 2ηb²| decides, also when a short run has not gone far yet
        factor = r["error_ratio_predicted"]
        verdict = ("converges" if r["converged"]
                   else "oscillates, no progress" if abs(factor - 1) < 1e-12
                   else f"diverges (error ×{factor:.3g} per step)" if r["diverged"] or factor > 1
                   else f"converging (error ×{factor:.3g} per step), not there yet")
        if r["oscillates"] and r["converged"]:
            verdict += " (oscillating)"
        rows.append([r["eta"], r["eta"] / thr, r["error_ratio_predicted"], r["error_ratio_observed"],
                     r["x_final"], verdict])
    print(_util.table(rows, ["eta", "eta*b^2", "|1-2eta b^2|", "observed", f"x_{steps}", "verdict"],
                      ".4g"))
    worst = max(r["max_rel_grad_error"] for r in runs)
    print(f"backward() vs -2b(a-bx): max relative difference {worst:.1e}")

    figures = []
    if args.out is not None:
        x_opt = a / b
        shown = min(steps, 20)
        span = max(4 * abs(args.start - x_opt), 1.0)
        lo, hi = x_opt - span, x_opt + span
        fig, (ax1, ax2, ax3) = _util.new_figure(
            3, title=rf"Gradient descent on $J(x) = ({a:g} - {b:g}x)^2$, threshold $1/b^2 = {thr:.4g}$")
        for i, r in enumerate(runs):
            label = rf"$\eta = {r['eta'] / thr:g}/b^2$"
            ax1.plot(range(shown + 1), r["xs"][:shown + 1], marker="o", markersize=3, color=f"C{i}", label=label)
            ax2.plot(range(len(r["Js"])), [max(J, 1e-30) for J in r["Js"]], color=f"C{i}", label=label)
        ax1.axhline(x_opt, color="0.4", linestyle="--", linewidth=1, label=r"$x_0 = a/b$")
        ax1.set(title=r"iterates $x_n$", xlabel=r"step $n$", ylabel=r"$x_n$", ylim=(lo, hi))
        ax2.set(title=r"cost $J(x_n)$", xlabel=r"step $n$", ylabel=r"$J(x_n)$", yscale="log", ylim=(1e-16, 1e6))
        grid = [lo + (hi - lo) * k / 200 for k in range(201)]
        ax3.plot(grid, [(a - b * x) ** 2 for x in grid], color="0.6", label=r"$J(x)$")
        for i, r in list(enumerate(runs))[1::2]:
            pts = [(x, (a - b * x) ** 2) for x in r["xs"][:10] if lo <= x <= hi]
            ax3.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=4, linewidth=1,
                     color=f"C{i}", label=rf"$\eta = {r['eta'] / thr:g}/b^2$")
        ax3.axvline(x_opt, color="0.4", linestyle="--", linewidth=1)
        ax3.set(title=r"first iterates on $J(x)$", xlabel=r"$x$", ylabel=r"$J(x)$", xlim=(lo, hi),
                ylim=(0, (a - b * lo) ** 2))
        from matplotlib.ticker import MaxNLocator
        for ax in (ax1, ax2):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        fig.legend(*ax1.get_legend_handles_labels(), loc="outside lower center", ncol=len(runs) + 1, frameon=False)
        # the figure legend names the rates (same colours); a legend here would sit on the curve
        figures.append(_util.save_figure(fig, args, "gd_1d"))
    return {"a": a, "b": b, "x_opt": a / b, "eta_threshold": thr, "steps": steps,
            "runs": [{k: v for k, v in r.items() if k not in ("xs", "Js")} for r in runs],
            "trajectories": {r["eta"]: r["xs"] for r in runs},
            "max_rel_grad_error": worst, "figures": figures}


if __name__ == "__main__":
    main()
