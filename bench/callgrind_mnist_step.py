"""Run N training steps of MLP(784, [30, 10]) for bench/run_callgrind_mnist_step.sh to count.

``python3 bench/callgrind_mnist_step.py {ours,numpy} B N``: one warm-up step, then N steps of
either the public compiled loop (``tape.forward; opt.zero_grad(); tape.backward("mean");
opt.step()`` with nn.SGD) or the same step written by hand in numpy
(bench_mnist_step.NumpyStep), cycling through distinct mini-batches of B random images.
"""

from __future__ import annotations

import sys

from _common import ROOT  # noqa: F401  (puts the repository first on sys.path, one BLAS thread)

import numpy as np  # noqa: E402

import bench_mnist_step as bench  # noqa: E402
import nn  # noqa: E402


def main() -> None:
    which, B, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(0)
    pool = bench.random_batch(max(1000, 4 * B), rng)
    batches = [pool[k:k + B] for k in range(0, len(pool) - B + 1, B)]
    if which == "ours":
        model, tape = bench.compiled_model()
        step = bench.make_public_step(tape, nn.SGD(model.parameters(), lr=bench.ETA), batches)
    elif which == "numpy":
        step = bench.make_numpy_step(batches)
    else:
        raise SystemExit(f"callgrind_mnist_step.py: 'ours' or 'numpy', got {which!r}")
    step()
    for _ in range(n):
        step()


if __name__ == "__main__":
    main()
