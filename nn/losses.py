"""Per-sample loss functions: ``loss(outputs, targets) -> Value``.

``outputs`` is the list of a model's output Values for ONE sample (a single Value is
accepted), ``targets`` the matching numbers (or Values, so a graph can be built on
placeholders). Training averages the per-sample losses over a batch:
E_avg = (1/N) Σₙ E(n) (seed 000 eq. 7.4).

=========================  ==================================================================
name                       E(n)
=========================  ==================================================================
``half_sse`` (``sse``)     ½ Σⱼ eⱼ², eⱼ = dⱼ − yⱼ  (the lectures' E(n); seed 000 eq. 7.2)
``mse``                    (1/K) Σⱼ eⱼ²  (mean over the K outputs; averaged over samples = MSE)
``binary_cross_entropy``   Σⱼ [−yⱼ ln aⱼ − (1 − yⱼ) ln(1 − aⱼ)]  (Nielsen ch.3, summed over outputs)
``binary_cross_entropy_with_logits``  the same with aⱼ = σ(zⱼ), from raw scores (logits) zⱼ
``softmax_cross_entropy``  −Σⱼ yⱼ ln softmax(z)ⱼ  from logits z; y one-hot, or a class index c
                           (then −ln softmax(z)_c, as ``torch.nn.functional.cross_entropy``)
``categorical_cross_entropy``  −Σⱼ yⱼ ln pⱼ  from probabilities p (a softmax layer's outputs)
``hinge``                  Σⱼ relu(1 − yⱼ sⱼ), yⱼ ∈ {−1, +1}  (micrograd's demo)
=========================  ==================================================================

Numerical stability (never log 0):

* binary cross-entropy of a sigmoid output a = σ(z) is computed from the logit z read off
  the graph: ln a = −softplus(−z), ln(1 − a) = −softplus(z), so the loss is
  softplus(z) − y·z with softplus(z) = ½(z + |z|) + ln(1 + e^{−|z|}). Its gradient is exactly
  σ(z) − y, also at z = 0 (the ½(z + |z|) form gives ½ there, as it should), and it is
  finite for any z. For any other output the probability a ∈ [0, 1] is squeezed into
  [ε, 1 − ε] by a' = ε + (1 − 2ε)·a with ε = :data:`EPS` = 1e-12 before the logarithms; an
  output outside [0, 1] is not a probability and raises, pointing to
  :func:`binary_cross_entropy_with_logits` (which takes raw scores).
* softmax cross-entropy uses logsumexp with the max subtracted, through a ``max`` node
  (its gradient contribution cancels exactly), so the graph does not depend on the data.
"""

from __future__ import annotations

import numbers
from typing import Callable, Sequence, Union

import numpy as np

import autodiff
from autodiff import Value

__all__ = ["half_sse", "sse", "mse", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "softmax_cross_entropy",
           "categorical_cross_entropy", "cross_entropy", "hinge", "l2_penalty", "logsumexp", "softplus",
           "LOSSES", "get_loss", "EPS"]

EPS = 1e-12
Target = Union[float, int, Value]
LossFn = Callable[[Sequence[Value], Sequence[Target]], Value]


def _class_index(outputs, targets, name: str):
    """A single integer target for K > 1 outputs is a class index c: the one-hot row e_c."""
    outs = [outputs] if isinstance(outputs, Value) else list(outputs)
    is_int = ((isinstance(targets, numbers.Integral) and not isinstance(targets, bool))
              or (isinstance(targets, np.ndarray) and targets.ndim == 0 and targets.dtype.kind in "iu"))
    if len(outs) > 1 and is_int:
        c = int(targets)
        if not 0 <= c < len(outs):
            raise ValueError(f"{name}: class index {c} is out of range for {len(outs)} outputs (0..{len(outs) - 1})")
        return outs, [1.0 if j == c else 0.0 for j in range(len(outs))]
    return outs, targets


def _pair(outputs, targets, name: str, classes: bool = False) -> tuple[list, list]:
    if classes:
        outputs, targets = _class_index(outputs, targets, name)
    if isinstance(outputs, Value):
        outputs = [outputs]
    if isinstance(targets, (Value, numbers.Real)) or (isinstance(targets, np.ndarray) and targets.ndim == 0):
        targets = [targets]  # one target for one output: a number (numpy's too) or a Value
    outputs = list(outputs)
    try:
        targets = list(targets)
    except TypeError:
        raise TypeError(f"{name}: targets must be a number, a Value or a sequence of them, got "
                        f"{type(targets).__name__}: {targets!r}") from None
    if len(outputs) != len(targets):
        hint = (f"; give one target per output (one-hot) or one integer class index 0..{len(outputs) - 1}"
                if classes else "")
        raise ValueError(f"{name}: {len(outputs)} outputs but {len(targets)} targets; they must match{hint}")
    if not outputs:
        raise ValueError(f"{name}: no outputs given")
    return outputs, targets


def _total(terms: list[Value]) -> Value:
    """Σ terms as one ``sum`` node (or the term itself when there is one)."""
    return terms[0] if len(terms) == 1 else autodiff.sum(terms)


def composite(label: str, loss: Value, operands: Sequence[object]) -> Value:
    """Mark the nodes between ``operands`` and ``loss`` as one composite operation.

    Sets ``group = ("op:<label>",)`` on every op node reachable from ``loss`` without
    crossing an operand, so :mod:`viz` draws the whole loss as one square (``cross_ent``,
    as in the slides) at its neuron and layer levels of detail. Returns ``loss``.
    """
    stop = {id(v) for v in operands}
    stack, group = [loss], ("op:" + label,)
    while stack:
        v = stack.pop()
        if id(v) in stop or v.is_leaf or v.group == group:
            continue
        v.group = group
        stack.extend(v.inputs)
    return loss


def half_sse(outputs, targets) -> Value:
    """E = ½ Σⱼ (dⱼ − yⱼ)², the error energy of the lectures."""
    ys, ds = _pair(outputs, targets, "half_sse")
    return composite("sse", 0.5 * _total([(d - y) ** 2 for y, d in zip(ys, ds)]), ys + ds)


sse = half_sse


def mse(outputs, targets) -> Value:
    """(1/K) Σⱼ (dⱼ − yⱼ)² for K outputs."""
    ys, ds = _pair(outputs, targets, "mse")
    return composite("mse", _total([(d - y) ** 2 for y, d in zip(ys, ds)]) * (1.0 / len(ys)), ys + ds)


def softplus(z: Value) -> Value:
    """ln(1 + eᶻ) = ½(z + |z|) + ln(1 + e^{−|z|}); finite for every z, exact gradient σ(z)."""
    a = z.abs()
    return 0.5 * (z + a) + (1.0 + (-a).exp()).log()


def binary_cross_entropy(outputs, targets) -> Value:
    """Σⱼ [−yⱼ ln aⱼ − (1 − yⱼ) ln(1 − aⱼ)] (Nielsen's cross-entropy, summed over outputs).

    ``outputs`` are probabilities aⱼ ∈ [0, 1]. For a sigmoid output node the logit is used
    (ln a = −softplus(−z), so the loss is softplus(z) − yz); otherwise the probability is clamped smoothly to
    [ε, 1 − ε]. An output outside [0, 1] raises ``ValueError``: raw scores belong to
    :func:`binary_cross_entropy_with_logits`.
    """
    as_, ys = _pair(outputs, targets, "binary_cross_entropy")
    terms, operands = [], list(ys)
    for j, (a, y) in enumerate(zip(as_, ys)):
        if a.op != "sigmoid" and not 0.0 <= a.data <= 1.0:
            raise ValueError(
                f"binary_cross_entropy: output {j} is {a.data!r}, but it expects a probability in [0, 1] "
                f"(a sigmoid output), from {autodiff.describe(a)}; for raw scores (logits) use "
                "nn.binary_cross_entropy_with_logits (loss='bce_with_logits'), which applies the sigmoid "
                "itself, stably")
        if a.op == "sigmoid":
            z = a.inputs[0]
            terms.append(softplus(z) - y * z)
            operands.append(z)
        else:
            p = EPS + (1.0 - 2.0 * EPS) * a
            terms.append(-(y * p.log()) - (1.0 - y) * (1.0 - p).log())
            operands.append(a)
    return composite("cross_ent", _total(terms), operands)


cross_entropy = binary_cross_entropy


def binary_cross_entropy_with_logits(logits, targets) -> Value:
    """Σⱼ [softplus(zⱼ) − yⱼ zⱼ] = Σⱼ [−yⱼ ln σ(zⱼ) − (1 − yⱼ) ln(1 − σ(zⱼ))] from raw scores zⱼ,
    as ``torch.nn.BCEWithLogitsLoss`` (summed over outputs); finite for every z, gradient
    σ(zⱼ) − yⱼ. Use it on a linear output layer."""
    zs, ys = _pair(logits, targets, "binary_cross_entropy_with_logits")
    return composite("cross_ent", _total([softplus(z) - y * z for z, y in zip(zs, ys)]), zs + ys)


def logsumexp(zs: Sequence[Value]) -> Value:
    """ln Σⱼ e^{zⱼ} = m + ln Σⱼ e^{zⱼ − m}, m = maxⱼ zⱼ as a graph node."""
    zs = list(zs)
    m = autodiff.maximum(zs)
    return m + autodiff.sum([(z - m).exp() for z in zs]).log()


def softmax_cross_entropy(logits, targets) -> Value:
    """−Σⱼ yⱼ ln softmax(z)ⱼ = logsumexp(z) − Σⱼ yⱼzⱼ for targets y summing to 1 (one-hot).

    ``targets`` may also be one integer class index c (as PyTorch's cross-entropy takes
    it): the loss is then logsumexp(z) − z_c."""
    zs, ys = _pair(logits, targets, "softmax_cross_entropy", classes=True)
    return composite("cross_ent", logsumexp(zs) - autodiff.sum([y * z for z, y in zip(zs, ys)]), zs + ys)


def categorical_cross_entropy(probs, targets) -> Value:
    """−Σⱼ yⱼ ln pⱼ. If ``probs`` are the nodes of one softmax, the logits are used.
    ``targets``: one-hot, or one integer class index c (then −ln p_c)."""
    ps, ys = _pair(probs, targets, "categorical_cross_entropy", classes=True)
    first = ps[0]
    if (all(p.op == "softmax" and p.inputs == first.inputs for p in ps)
            and sorted(p.attr for p in ps) == list(range(len(first.inputs)))):
        ys_by_k: list = [0.0] * len(ps)
        for p, y in zip(ps, ys):
            ys_by_k[p.attr] = y
        return softmax_cross_entropy(list(first.inputs), ys_by_k)
    return composite("cross_ent", -autodiff.sum([y * (EPS + (1.0 - 2.0 * EPS) * p).log() for p, y in zip(ps, ys)]),
                     ps + ys)


def hinge(scores, targets) -> Value:
    """Σⱼ max(0, 1 − yⱼ sⱼ) with yⱼ ∈ {−1, +1} (micrograd's demo loss)."""
    ss, ys = _pair(scores, targets, "hinge")
    return composite("hinge", _total([(1.0 - y * s).relu() for s, y in zip(ss, ys)]), ss + ys)


def l2_penalty(weights: Sequence[Value], lam: float, n: int = 1) -> Value:
    """(λ / 2n) Σ w² — Nielsen's L2 convention (ch.3, eq. 85): n is the number of training
    samples, only weights (not biases) are penalised. Its gradient λw/n is the weight
    decay term of w ← (1 − ηλ/n) w − η ∂C₀/∂w."""
    if lam < 0:
        raise ValueError(f"l2_penalty: lam must be ≥ 0, got {lam!r}")
    if n < 1:
        raise ValueError(f"l2_penalty: n must be ≥ 1, got {n!r}")
    ws = list(weights)
    if not ws:
        raise ValueError("l2_penalty: no weights given")
    return (lam / (2.0 * n)) * autodiff.sum([w * w for w in ws])


LOSSES: dict[str, LossFn] = {
    "half_sse": half_sse,
    "sse": half_sse,
    "mse": mse,
    "binary_cross_entropy": binary_cross_entropy,
    "bce": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "bce_with_logits": binary_cross_entropy_with_logits,
    "cross_entropy": binary_cross_entropy,
    "softmax_cross_entropy": softmax_cross_entropy,
    "categorical_cross_entropy": categorical_cross_entropy,
    "hinge": hinge,
}


def get_loss(spec: Union[str, LossFn], argument: str = "loss") -> LossFn:
    """The loss function named ``spec`` (a key of :data:`LOSSES`), or ``spec`` itself if it is
    callable."""
    if callable(spec):
        return spec
    if isinstance(spec, str) and spec in LOSSES:
        return LOSSES[spec]
    raise ValueError(f"{argument}: unknown loss {spec!r}; choose one of {', '.join(LOSSES)} or pass a "
                     "function loss(outputs, targets) -> Value")
