"""W1 eager steps for instruction counting: ``valgrind --tool=callgrind python3 bench/callgrind_w1.py N``.

Runs N steps of micrograd's demo (workload W1 of bench/bench_engine.py) on the eager engine;
the difference of the counts for N = 5 and N = 1, divided by 4, is the cost of one step,
free of start-up. ``--loop manual`` is bench_engine.py's step (Values updated in Python, parameters in
no store); ``--loop sgd`` the public loop with ``nn.SGD`` (parameters in a ParameterStore,
opt.zero_grad / loss.backward / opt.step). Driven by bench/run_callgrind_w1.sh.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autodiff  # noqa: E402
from autodiff import Value  # noqa: E402

from bench_engine import our_model, our_step, two_moons  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("steps", type=int)
    p.add_argument("--loop", choices=("manual", "sgd"), default="manual")
    args = p.parse_args()
    X, y = two_moons(100)
    X, y = X.tolist(), y.tolist()
    model = our_model()
    if args.loop == "manual":
        for _ in range(args.steps):
            our_step(model, X, y)
        return
    import nn
    opt = nn.SGD(model.parameters(), lr=0.01)
    params = model.parameters()
    for _ in range(args.steps):
        scores = [model([Value(a), Value(b)]) for a, b in X]
        scores = [s[0] if isinstance(s, list) else s for s in scores]  # older trees: a 1-element list
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        loss = autodiff.sum(losses) * (1.0 / len(losses)) + 1e-4 * autodiff.sum([q * q for q in params])
        opt.zero_grad()
        loss.backward()
        opt.step()


if __name__ == "__main__":
    main()
