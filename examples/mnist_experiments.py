"""MNIST on the compiled path: speed of learning per layer, depth vs accuracy, and the fixes.

The lectures' MNIST experiments (seeds 000/001; Nielsen, NNDL ch. 5), run on a scalar Value
graph compiled once by ``autodiff.compile`` and replayed over mini-batches:

(a) speed of learning at initialisation: ‖∂C/∂b^l‖ for every hidden layer l, with
    C = (1/1000) Σ_x C_x over the first 1000 training images, C_x Nielsen's cross-entropy
    Σ_j [−y_j ln a_j − (1 − y_j) ln(1 − a_j)], sigmoid units, network2 init
    (np.random.seed(s); all biases N(0,1) first, then weights N(0,1)/√n_in). Compared per
    seed with golden ``task5`` (same draws, so equal to ~1e-12), and with its seed spread.
(b) depth vs accuracy: network2 SGD, 30 epochs, mini-batch m = 10, η = 0.1, L2 λ = 5.0:
    w ← (1 − ηλ/n) w − (η/m) Σ_x ∂C_x/∂w,  b ← b − (η/m) Σ_x ∂C_x/∂b  (n = 50,000),
    training on the first 50,000 training images, validating on the last 10,000;
    final validation accuracy vs golden ``task6`` means (goal: within 0.5 points), and the
    wall time of an epoch next to the same SGD written in PyTorch (batched tensors, float64,
    one thread).
(c) the fixes for vanishing gradients, at initialisation on the deepest network: ReLU /
    leaky ReLU / ELU with He init, tanh and sigmoid with Xavier init, and gradient clipping
    by value and by norm (which only caps large gradients: it cannot revive small ones).

Data: ``--data-dir`` or ``$BACKPROPLAB_MNIST`` (the four official IDX files, gzip or raw), or
``--download`` into the cache (see ``nn.mnist``). Pixels are k/256, as in Nielsen's pickle.
Run ``python3 examples/mnist_experiments.py --parts a,b,c --epochs 30 --seeds 0,1``; the
defaults run everything for seeds 0 and 1 (about a minute per network per seed).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

try:
    from . import _util
except ImportError:  # run as a script, or loaded from its file
    import _util
ROOT, parse_args, table = _util.ROOT, _util.parse_args, _util.table

import autodiff
import nn
from nn.model_graph import build_static_graph

ARCHS = ("784-30-10", "784-30-30-10", "784-30-30-30-10", "784-30-30-30-30-10")
GOLDEN = ROOT / "tests" / "data" / "golden.json"


# ------------------------------------------------------------------------ the network
class Net:
    """An nn.MLP (sigmoid output, cross-entropy) compiled once; parameters live in the tape."""

    def __init__(self, sizes: Sequence[int], activation: str = "sigmoid") -> None:
        self.sizes = list(sizes)
        self.model = nn.MLP(sizes[0], list(sizes[1:]), activation=activation, output_activation="sigmoid",
                            init="zeros", bias_init="zeros")
        g = build_static_graph(self.model, nn.losses.binary_cross_entropy)
        self.outputs = g.outputs
        self.tape = autodiff.compile(g.loss, g.leaves, outputs=g.outputs)
        layers = self.model.layers
        self.w_idx = [self.tape.param_index([w for n in layer.neurons for w in n.w]) for layer in layers]
        self.b_idx = [self.tape.param_index([n.b for n in layer.neurons]) for layer in layers]

    def set_weights(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> None:
        theta = self.tape.param_data
        for wi, bi, W, b in zip(self.w_idx, self.b_idx, weights, biases):
            theta[wi] = np.asarray(W).ravel()
            theta[bi] = np.asarray(b).ravel()

    def init(self, seed: int, scheme: str = "network2") -> None:
        """network2 draws (Nielsen's order), or an nn.init scheme for weights with zero biases."""
        if scheme == "network2":
            self.set_weights(*nn.init.network2_arrays(self.sizes, seed))
            return
        rng = np.random.default_rng(seed)
        fn = nn.init.get_init(scheme)
        ws = [fn(a, b, (b, a), rng) for a, b in zip(self.sizes[:-1], self.sizes[1:])]
        self.set_weights(ws, [np.zeros(b) for b in self.sizes[1:]])

    def gradient(self, batch: np.ndarray) -> np.ndarray:
        """∂C/∂θ for C the mean loss over ``batch`` (rows [x, one-hot y])."""
        self.tape.forward(batch, sync=False)
        return self.tape.backward("mean", accumulate=False)

    def bias_speeds(self, grad: np.ndarray, hidden_only: bool = True) -> list[float]:
        idx = self.b_idx[:-1] if hidden_only else self.b_idx
        return [float(np.linalg.norm(grad[i])) for i in idx]

    def accuracy(self, batch: np.ndarray, labels: np.ndarray, chunk: int = 2000) -> float:
        hits = 0
        for s in range(0, len(batch), chunk):
            self.tape.forward(batch[s:s + chunk], sync=False)
            hits += int((self.tape.values_of(self.outputs).argmax(axis=1) == labels[s:s + chunk]).sum())
        return 100.0 * hits / len(batch)


def one_hot_batch(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.hstack([X, np.eye(10)[labels]])


def parse_arch(text: str) -> list[int]:
    sizes = [int(t) for t in text.replace("[", "").replace("]", "").replace(",", "-").split("-") if t]
    if len(sizes) < 2 or sizes[0] != 784 or sizes[-1] != 10:
        raise SystemExit(f"--archs: {text!r} must look like 784-30-10 (784 inputs, 10 outputs)")
    return sizes


def golden_key(sizes: Sequence[int]) -> str:
    return "[" + ",".join(map(str, sizes)) + "]"


# ------------------------------------------------------------------------- experiments
def speed_of_learning(archs, seeds, batch, golden) -> dict:
    ref5 = golden.get("task5_mnist_init_bias_grad_norms", {})
    per5, stat100 = ref5.get("default_init_pixels_div256_5seeds", {}), ref5.get("default_init_pixels_div256_100seeds", {})
    out = {}
    print("\n(a) speed of learning ‖∂C/∂b^l‖ per hidden layer at initialisation (first 1000 images)")
    rows = []
    for sizes in archs:
        if len(sizes) < 3:
            continue
        net, key = Net(sizes), golden_key(sizes)
        speeds = []
        for s in seeds:
            net.init(s)
            sp = net.bias_speeds(net.gradient(batch))
            speeds.append(sp)
            ref = (per5.get(key, {}).get("per_seed") or [])
            exact = None
            if s < len(ref or []):
                exact = float(np.max(np.abs(np.array(sp) - ref[s]) / np.array(ref[s])))
            rows.append([key, s, " ".join(f"{v:.4f}" for v in sp),
                         "-" if exact is None else f"{exact:.1e}"])
        mean = np.mean(speeds, axis=0)
        spread = stat100.get(key, {})
        # "within the seed spread": our mean over seeds is within one std of golden's 100-seed mean
        within = bool(np.all(np.abs(mean - spread["mean"]) <= np.array(spread["std"]))) if spread else None
        out[key] = {"seeds": list(seeds), "speeds": speeds, "mean": mean.tolist(),
                    "golden_100seed_mean": spread.get("mean"), "golden_100seed_std": spread.get("std"),
                    "within_seed_spread": within, "book": per5.get(key, {}).get("book")}
        rows.append([key, "mean", " ".join(f"{v:.4f}" for v in mean),
                     "golden " + " ".join(f"{v:.4f}±{d:.4f}" for v, d in zip(spread.get("mean", []),
                                                                              spread.get("std", [])))
                     + {True: "  (within)", False: "  (OUTSIDE)", None: ""}[within]])
    print(table(rows, ["network", "seed", "‖∂C/∂b^l‖, l = 1..L-1", "rel. dev. from golden seed / spread"]))
    return out


def fixes(sizes, seeds, batch) -> dict:
    print(f"\n(c) fixes on {golden_key(sizes)}: ‖∂C/∂b^l‖ at initialisation (mean over seeds {list(seeds)})")
    configs = [("sigmoid", "network2", None), ("sigmoid", "xavier_normal", None), ("tanh", "xavier_normal", None),
               ("relu", "he_normal", None), ("leaky_relu", "he_normal", None), ("elu", "he_normal", None),
               ("sigmoid", "network2", ("value", 0.01)), ("sigmoid", "network2", ("norm", 1.0))]
    nets: dict[str, Net] = {}
    out, rows = {}, []
    for act, init, clip in configs:
        if act not in nets:
            nets[act] = Net(sizes, act)
        net = nets[act]
        speeds = []
        for s in seeds:
            net.init(s, init)
            g = net.gradient(batch)
            if clip and clip[0] == "value":
                g = np.clip(g, -clip[1], clip[1])
            elif clip:
                g = g * min(1.0, clip[1] / np.linalg.norm(g))
            speeds.append(net.bias_speeds(g))
        mean = np.mean(speeds, axis=0)
        name = f"{act} + {init}" + (f" + clip {clip[0]} {clip[1]}" if clip else "")
        out[name] = {"mean": mean.tolist(), "ratio_last_to_first": float(mean[-1] / mean[0])}
        rows.append([name, " ".join(f"{v:.4f}" for v in mean), float(mean[-1] / mean[0])])
    print(table(rows, ["hidden units + init", "‖∂C/∂b^l‖, l = 1..L-1", "last/first"], floatfmt=".1f"))
    return out


def train_compiled(net: Net, seed, data, epochs, eta=0.1, lam=5.0, m=10, speed_batch=None, log=True) -> dict:
    """network2 SGD on the tape's parameter array: θ ← decay ⊙ θ − η·(1/m) Σ ∇C_x per mini-batch,
    decay = 1 − ηλ/n on weights and 1 on biases; data shuffled each epoch (RandomState(seed))."""
    (Xtr, ytr), (Xva, yva) = data
    sizes = net.sizes
    net.init(seed)
    train, val = one_hot_batch(Xtr, ytr), one_hot_batch(Xva, yva)
    n = len(train)
    theta = net.tape.param_data
    decay = np.ones_like(theta)
    for wi in net.w_idx:
        decay[wi] = 1.0 - eta * lam / n
    rng = np.random.RandomState(seed)
    tape = net.tape
    accs, times, speeds = [], [], []
    for epoch in range(epochs):
        shuffled = train[rng.permutation(n)]
        t0 = time.perf_counter()
        for k in range(0, n, m):
            tape.forward(shuffled[k:k + m], sync=False)
            g = tape.backward("mean", accumulate=False)
            theta *= decay
            theta -= eta * g
        times.append(time.perf_counter() - t0)
        accs.append(net.accuracy(val, yva))
        if speed_batch is not None:
            speeds.append(net.bias_speeds(net.gradient(speed_batch)))
        if log:
            print(f"    {golden_key(sizes)} seed {seed} epoch {epoch + 1:>2}: validation {accs[-1]:.2f} %  "
                  f"({times[-1]:.2f} s)", flush=True)
    tape.write_params()  # the nn model now holds the trained weights
    return {"val_acc": accs, "epoch_seconds": times, "speeds_per_epoch": speeds}


def torch_epoch_seconds(sizes, seed, data, eta=0.1, lam=5.0, m=10, max_batches: Optional[int] = None) -> Optional[float]:
    """One epoch of the same network2 SGD in PyTorch (batched tensors, float64, 1 thread)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    (Xtr, ytr), _ = data
    weights, biases = nn.init.network2_arrays(sizes, seed)
    Ws = [torch.tensor(w, requires_grad=True) for w in weights]
    bs = [torch.tensor(b, requires_grad=True) for b in biases]
    X, Y = torch.tensor(Xtr), torch.tensor(np.eye(10)[ytr])
    n = len(Xtr)
    decay = 1.0 - eta * lam / n
    perm = torch.from_numpy(np.random.RandomState(seed).permutation(n))
    Xs, Ys = X[perm], Y[perm]
    stop = n if max_batches is None else min(n, max_batches * m)
    t0 = time.perf_counter()
    for k in range(0, stop, m):
        a = Xs[k:k + m]
        for W, b in zip(Ws, bs):
            z = a @ W.T + b
            a = torch.sigmoid(z)
        y = Ys[k:k + m]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="sum") / len(y)
        loss.backward()
        with torch.no_grad():
            for W, b in zip(Ws, bs):
                W.mul_(decay).sub_(eta * W.grad)
                b.sub_(eta * b.grad)
                W.grad = None
                b.grad = None
    return (time.perf_counter() - t0) * n / stop


def depth_vs_accuracy(archs, seeds, data, epochs, golden, torch_timing: bool, speed_batch) -> dict:
    ref6 = golden.get("task6_nielsen_ch5_accuracy", {}).get("runs", {})
    print(f"\n(b) depth vs accuracy: {epochs} epochs, m = 10, η = 0.1, λ = 5.0, "
          f"{len(data[0][0])} training / {len(data[1][0])} validation images")
    out, rows = {}, []
    for sizes in archs:
        key = golden_key(sizes)
        net = Net(sizes)
        runs = [train_compiled(net, s, data, epochs, speed_batch=speed_batch) for s in seeds]
        finals = [r["val_acc"][-1] for r in runs]
        epoch_s = float(np.median([t for r in runs for t in r["epoch_seconds"]]))
        torch_s = torch_epoch_seconds(sizes, seeds[0], data) if torch_timing else None
        ref = ref6.get(key, {})
        gmean = ref.get("mean_final_validation_acc")
        within = None if gmean is None or epochs != 30 else bool(abs(np.mean(finals) - gmean) <= 0.5)
        out[key] = {"seeds": list(seeds), "runs": runs, "final_val_acc": finals, "mean": float(np.mean(finals)),
                    "golden_mean": gmean, "golden_range": [min(ref["final_validation_acc"]),
                                                           max(ref["final_validation_acc"])] if ref else None,
                    "book": ref.get("book"), "within_0.5": within,
                    "epoch_seconds_compiled": epoch_s, "epoch_seconds_torch": torch_s}
        rows.append([key, " ".join(f"{a:.2f}" for a in finals), float(np.mean(finals)),
                     "-" if gmean is None else f"{gmean:.2f}", "-" if within is None else ("yes" if within else "NO"),
                     f"{epoch_s:.2f}", "-" if torch_s is None else f"{torch_s:.2f}"])
    print(table(rows, ["network", "final val. acc. per seed (%)", "mean", "golden mean", "within 0.5",
                       "s/epoch compiled", "s/epoch PyTorch"], floatfmt=".2f"))
    return out


# ----------------------------------------------------------------------------- figures
def draw_figures(results: dict, args) -> list[str]:
    """The figure of whatever parts ``results`` holds (matplotlib); returns the paths written."""
    sol = results.get("speed_of_learning", {})
    fixes_ = results.get("fixes", {})
    dva = results.get("depth_vs_accuracy", {})
    during = None
    if dva:
        key, d = list(dva.items())[-1]
        sp = np.array(d["runs"][0].get("speeds_per_epoch") or [])
        init = (sol.get(key, {}).get("speeds") or [None])[0]
        if sp.size and init is not None:
            during = (key, np.vstack([init, sp]))
    panels = [p for p, present in (("sol", sol), ("fixes", fixes_), ("dva", dva), ("during", during)) if present]
    if not panels:
        return []
    cols = min(2, len(panels))
    fig, axes = _util.new_figure(cols, (len(panels) + 1) // 2, width=5.2, height=3.7,
                                 title="MNIST on the compiled path: vanishing gradients and depth")
    speed = r"$\|\partial C/\partial b^l\|$"
    from matplotlib.ticker import MaxNLocator
    for ax, panel in zip(axes, panels):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if panel == "sol":
            for key, d in sol.items():
                ax.plot(range(1, len(d["mean"]) + 1), d["mean"], marker="o", label=key)
            ax.set(title="speed of learning at initialisation (mean over seeds)", xlabel=r"hidden layer $l$",
                   ylabel=speed, yscale="log")
        elif panel == "fixes":
            markers = "o^sDv<>ph"
            for j, (name, d) in enumerate(fixes_.items()):  # own marker each: relu and leaky_relu nearly coincide
                ax.plot(range(1, len(d["mean"]) + 1), d["mean"], marker=markers[j % len(markers)], label=name,
                        markersize=8 - 0.5 * j, markerfacecolor="none",
                        linestyle="--" if "clip" in name else ":" if "leaky" in name else "-",
                        linewidth=2.4 if "leaky" in name else 1.5)
            ax.set(title=f"fixes: {speed} at initialisation, deepest network", xlabel=r"hidden layer $l$",
                   ylabel=speed, yscale="log")
        elif panel == "dva":
            for key, d in dva.items():
                acc = d["runs"][0]["val_acc"]
                ax.plot(range(1, len(acc) + 1), acc, marker="o" if len(acc) < 3 else None, label=key)
                if len(acc) < 10:
                    ax.set_xticks(range(1, len(acc) + 1))
            ax.set(title=f"validation accuracy (seed {results['seeds'][0]})", xlabel="epoch", ylabel="accuracy (%)")
        else:
            key, sp = during
            for layer in range(sp.shape[1]):
                ax.plot(range(len(sp)), sp[:, layer], label=f"layer {layer + 1}")
            ax.set(title=f"speed of learning during training, {key}", xlabel="epoch", ylabel=speed, yscale="log")
        ax.title.set_fontsize(10)
        if ax.get_yscale() == "log":
            _util.plain_log_ticks(ax.yaxis)
        if panel == "fixes":
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        else:
            ax.legend(fontsize=7, loc="best")
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    return [_util.save_figure(fig, args, "mnist_experiments")]


# -------------------------------------------------------------------------------- main
def main(argv: Optional[Sequence[str]] = None) -> dict:
    def extra(p):
        p.add_argument("--data-dir", default=None, help="directory with the MNIST IDX files "
                       "(default: $BACKPROPLAB_MNIST, then the cache)")
        p.add_argument("--download", action="store_true", help="download MNIST into the cache if missing")
        p.add_argument("--parts", default="a,b,c", help="which experiments: a (speed), b (accuracy), c (fixes)")
        p.add_argument("--epochs", type=int, default=30)
        p.add_argument("--seeds", default="0,1", help="comma-separated seeds (default 0,1)")
        p.add_argument("--archs", default=",".join(ARCHS), help=f"comma-separated, default {','.join(ARCHS)}")
        p.add_argument("--train-n", type=int, default=50000, help="training images (default 50000)")
        p.add_argument("--no-torch", action="store_true", help="skip the PyTorch epoch timing")
        p.add_argument("--replot", type=Path, default=None, help="only redraw the figures from a results.json")
    args = parse_args("mnist_experiments", __doc__, argv, extra)
    if args.replot is not None:
        results = json.loads(args.replot.read_text())
        if args.out is None:
            args.out = Path(".")
        results["figures"] = draw_figures(results, args)
        return results
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    archs = [parse_arch(a) for a in args.archs.split(",") if a.strip()]
    epochs, train_n = args.epochs, args.train_n
    if args.quick:
        seeds, archs, epochs, train_n = seeds[:1], archs[:2], min(epochs, 1), min(train_n, 2000)
    parts = set(args.parts.replace(" ", "").split(","))
    golden = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}

    from nn.mnist import mnist_arrays
    try:
        X, labels = mnist_arrays(args.data_dir, "train", download=args.download)
    except FileNotFoundError as exc:
        raise SystemExit(f"examples/mnist_experiments.py: {exc}") from None
    speed_batch = one_hot_batch(X[:1000], labels[:1000])
    data = ((X[:train_n], labels[:train_n]), (X[50000:], labels[50000:]))
    print(f"MNIST: {len(X)} training images; compiled path ({'quick run' if args.quick else 'full'})")

    results: dict = {"seeds": seeds, "epochs": epochs, "train_n": train_n}
    t0 = time.perf_counter()
    if "a" in parts:
        results["speed_of_learning"] = speed_of_learning(archs, seeds if not args.quick else [0, 1], speed_batch, golden)
    if "c" in parts:
        results["fixes"] = fixes(archs[-1] if len(archs[-1]) > 3 else parse_arch(ARCHS[-1]), seeds, speed_batch)
    if "b" in parts:
        results["depth_vs_accuracy"] = depth_vs_accuracy(archs, seeds, data, epochs, golden,
                                                         not args.no_torch, speed_batch)
    results["wall_seconds"] = time.perf_counter() - t0
    print(f"\ntotal wall time {results['wall_seconds']:.1f} s")
    if args.out is not None:
        results["figures"] = draw_figures(results, args)
        path = Path(args.out) / "results.json"
        path.write_text(json.dumps(results, indent=1))
        print(f"wrote {path}")
    return results


if __name__ == "__main__":
    main()
