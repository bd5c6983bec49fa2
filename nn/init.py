"""Weight initialisers, all seedable (seed 002, §9.3.1 and Table 2).

Every initialiser is a function ``f(fan_in, fan_out, shape, rng) -> np.ndarray`` where
``rng`` is a :class:`numpy.random.Generator`. Names accepted wherever ``init=`` is:

==================  ===========================================  =========================
name                distribution                                 variance
==================  ===========================================  =========================
``normal``          N(0, 1)  (Nielsen ch.1 "large" init)         1
``normal_scaled``   N(0, 1)/√n_in  (Nielsen ch.3 default init)   1/n_in
``uniform``         U(−1, 1)  (micrograd)                        1/3
``xavier_uniform``  U(−r, r), r = √(6/(n_in + n_out))            2/(n_in + n_out)
``xavier_normal``   N(0, σ²), σ = √(2/(n_in + n_out))            2/(n_in + n_out)
``he_uniform``      U(−r, r), r = √(6/n_in)                      2/n_in
``he_normal``       N(0, σ²), σ = √(2/n_in)                      2/n_in
``lecun_normal``    N(0, 1/n_in)  (LeCun)                        1/n_in
``lecun_uniform``   U(−r, r), r = √(3/n_in)                      1/n_in
``zeros``           0                                            0
==================  ===========================================  =========================

Whole-network modes (only for :class:`nn.MLP`, they fix the draw order across layers):
``network2`` reproduces Nielsen's ``network2.Network(sizes)`` exactly: after
``np.random.seed(s)`` all biases ``randn(y, 1)`` layer by layer, then all weights
``randn(y, x)/√x``; ``network2_large`` is the same with ``randn(y, x)`` weights
(``large_weight_initializer``). They use numpy's legacy ``RandomState(s)``, which gives
the same numbers as ``np.random.seed(s)`` without touching the global state.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, Optional, Sequence, Union

import numpy as np

from autodiff import validate

__all__ = ["INITIALISERS", "NETWORK_INITS", "get_init", "make_rng", "network2_arrays", "RngLike"]

RngLike = Union[None, int, np.random.Generator]
InitFn = Callable[[int, int, tuple, np.random.Generator], np.ndarray]


def make_rng(rng: RngLike = None, seed: Optional[int] = None, where: str = "rng") -> np.random.Generator:
    """A numpy Generator from ``rng`` (a Generator or an int seed) or ``seed``."""
    if rng is not None and seed is not None:
        raise ValueError(f"{where}: give either rng= or seed=, not both")
    src = rng if rng is not None else seed
    if src is None:
        return np.random.default_rng()
    if isinstance(src, np.random.Generator):
        return src
    if isinstance(src, numbers.Integral) and not isinstance(src, bool):
        return np.random.default_rng(validate.seed(src, where))
    raise TypeError(f"{where}: expected a numpy Generator or an int seed, got {type(src).__name__}: {src!r}")


def _normal(fan_in, fan_out, shape, rng):
    return rng.standard_normal(shape)


def _normal_scaled(fan_in, fan_out, shape, rng):
    return rng.standard_normal(shape) / math.sqrt(fan_in)


def _uniform(fan_in, fan_out, shape, rng):
    return rng.uniform(-1.0, 1.0, shape)


def _xavier_uniform(fan_in, fan_out, shape, rng):
    r = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-r, r, shape)


def _xavier_normal(fan_in, fan_out, shape, rng):
    return rng.standard_normal(shape) * math.sqrt(2.0 / (fan_in + fan_out))


def _he_uniform(fan_in, fan_out, shape, rng):
    r = math.sqrt(6.0 / fan_in)
    return rng.uniform(-r, r, shape)


def _he_normal(fan_in, fan_out, shape, rng):
    return rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)


def _lecun_normal(fan_in, fan_out, shape, rng):
    return rng.standard_normal(shape) / math.sqrt(fan_in)


def _lecun_uniform(fan_in, fan_out, shape, rng):
    r = math.sqrt(3.0 / fan_in)
    return rng.uniform(-r, r, shape)


def _zeros(fan_in, fan_out, shape, rng):
    return np.zeros(shape)


INITIALISERS: dict[str, InitFn] = {
    "normal": _normal,
    "normal_scaled": _normal_scaled,
    "uniform": _uniform,
    "xavier_uniform": _xavier_uniform,
    "xavier_normal": _xavier_normal,
    "he_uniform": _he_uniform,
    "he_normal": _he_normal,
    "lecun_normal": _lecun_normal,
    "lecun_uniform": _lecun_uniform,
    "zeros": _zeros,
}
# aliases
INITIALISERS["glorot_uniform"] = _xavier_uniform
INITIALISERS["glorot_normal"] = _xavier_normal
INITIALISERS["lecun"] = _lecun_normal

NETWORK_INITS = ("network2", "network2_large")


def get_init(spec: Union[str, InitFn, float, int], argument: str = "init") -> InitFn:
    """Resolve an initialiser name, a callable, or a constant number."""
    if callable(spec):
        return spec
    if isinstance(spec, numbers.Real) and not isinstance(spec, bool):
        value = float(spec)
        return lambda fan_in, fan_out, shape, rng: np.full(shape, value)
    if isinstance(spec, str):
        if spec in NETWORK_INITS:
            raise ValueError(
                f"{argument}={spec!r} fixes the draw order of a whole network: use it with nn.MLP, "
                "not with a single Neuron or Layer")
        try:
            return INITIALISERS[spec]
        except KeyError:
            names = ", ".join(sorted(INITIALISERS))
            raise ValueError(f"{argument}: unknown initialiser {spec!r}; choose one of {names}") from None
    raise TypeError(f"{argument}: expected a name, a callable or a number, got {type(spec).__name__}: {spec!r}")


def network2_arrays(sizes: Sequence[int], seed: Union[int, np.random.RandomState], mode: str = "network2"
                    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights and biases drawn exactly as Nielsen's ``network2.Network(sizes)``.

    Returns ``(weights, biases)`` with ``weights[l]`` of shape (sizes[l+1], sizes[l]) and
    ``biases[l]`` of shape (sizes[l+1],). Draw order: all biases, then all weights.
    """
    if mode not in NETWORK_INITS:
        raise ValueError(f"init: unknown network init {mode!r}; choose one of {', '.join(NETWORK_INITS)}")
    if isinstance(seed, np.random.RandomState):
        rs = seed
    elif isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        rs = np.random.RandomState(int(seed))
    else:
        raise TypeError(f"init={mode!r} needs an int seed (it replays np.random.seed(s)), got {seed!r}")
    biases = [rs.randn(y, 1)[:, 0] for y in sizes[1:]]
    scale = mode == "network2"
    weights = [rs.randn(y, x) / (math.sqrt(x) if scale else 1.0) for x, y in zip(sizes[:-1], sizes[1:])]
    return weights, biases
