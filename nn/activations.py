"""Activation functions φ applied to a neuron's weighted input(s) (seed 002, Table 1).

An :class:`Activation` maps the ``pieces`` weighted inputs z₁..z_k of one neuron to its
output node. Every activation except maxout has one piece. Names accepted wherever
``activation=`` is: ``sigmoid tanh relu leaky_relu elu sign step linear maxout`` and the
parametrised forms ``leaky_relu(0.1)``, ``elu(0.5)``, ``maxout(3)``; ``softmax`` is a
whole-layer output (see :class:`nn.Layer`), not a per-neuron activation.

=============  ===============================  ==========================================
name           φ                                φ′ (the engine's op table)
=============  ===============================  ==========================================
sigmoid        1/(1 + e^(−z))                   σ(1 − σ)
tanh           tanh z                           1 − tanh² z
relu           max(0, z)                        1 if z > 0 else 0
leaky_relu(β)  z if z > 0 else βz               1 if z > 0 else β   (β = 0.01 by default)
elu(β)         z if z > 0 else β(e^z − 1)       1 if z > 0 else φ + β   (β = 1)
sign           +1 if z ≥ 0 else −1              0
step           1 if z > 0 else 0                0
linear         z                                1
maxout(k)      maxᵢ zᵢ over k linear pieces     1 for the largest piece, else 0   (k = 2)
=============  ===============================  ==========================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from operator import methodcaller
from typing import Callable, Optional, Sequence, Union

import autodiff
from autodiff import Value

__all__ = ["Activation", "get_activation", "ACTIVATIONS", "SOFTMAX", "LeakyReLU", "ELU", "Maxout"]

SOFTMAX = "softmax"


@dataclass(frozen=True)
class Activation:
    """``name`` as shown to users, ``pieces`` linear pieces per neuron, ``fn`` building the
    output node from the list of weighted-input nodes; ``of_one``, when given, is the same
    function of a one-piece neuron's single z (what :class:`nn.Neuron` calls, skipping the list)."""

    name: str
    fn: Callable[[Sequence[Value]], Value]
    pieces: int = 1
    of_one: Optional[Callable[[Value], Value]] = None

    def __call__(self, zs: Sequence[Value]) -> Value:
        """φ applied to a neuron's weighted input(s) ``zs`` (one, or k for maxout)."""
        return self.fn(zs)

    def __reduce__(self) -> tuple:
        """Built-in activations pickle (and copy) by name; their functions are lambdas."""
        builtin = ACTIVATIONS.get(self.name)
        m = _PARAM.match(self.name)
        factory = _FACTORIES.get(m.group(1), (None,))[0] if m else None
        made_here = self.fn.__qualname__.startswith(("_method.", f"{getattr(factory, '__name__', '')}."))
        if (builtin is not None and builtin.fn is self.fn) or (factory is not None and made_here):
            return (get_activation, (self.name,))
        return (Activation, (self.name, self.fn, self.pieces, self.of_one))


def _method(name: str, method: str, *args: float) -> Activation:
    """φ(z) = z.method(*args): one Value method (one node)."""
    of_one = methodcaller(method, *args)
    return Activation(name, lambda zs: of_one(zs[0]), of_one=of_one)


def LeakyReLU(slope: float = 0.01) -> Activation:
    """φ(z) = z for z > 0, βz otherwise (β = ``slope``, 0 ≤ β < 1); ``"leaky_relu(β)"`` by name."""
    if not 0.0 <= slope < 1.0:
        raise ValueError(f"leaky_relu: the slope β must satisfy 0 ≤ β < 1, got {slope!r}")
    return _method(f"leaky_relu({slope:g})", "leaky_relu", slope)


def ELU(alpha: float = 1.0) -> Activation:
    """φ(z) = z for z > 0, α(eᶻ − 1) otherwise (α = ``alpha`` > 0); ``"elu(α)"`` by name."""
    if not alpha > 0.0:
        raise ValueError(f"elu: alpha must be > 0, got {alpha!r}")
    return _method(f"elu({alpha:g})", "elu", alpha)


def Maxout(k: int = 2) -> Activation:
    """A neuron with k linear pieces zᵢ = wᵢ·x + bᵢ outputting maxᵢ zᵢ; ``"maxout(k)"`` by name."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"maxout: the number of pieces k must be an int ≥ 1, got {k!r}")
    return Activation(f"maxout({k})", lambda zs: autodiff.maximum(zs), pieces=k)


def _from_table(name: str) -> Optional[Activation]:
    """The activation made by the op whose ``function`` is ``name``, where the op table marks
    it as one (``Op.activation``) and it takes no constant (those have factories below)."""
    op = next((o for o in autodiff.OPS.values() if o.function == name), None)
    if op is None or not op.activation or op.attr_name is not None:
        return None
    return _method(name, name)


ACTIVATIONS: dict[str, Activation] = {
    **{op.function: _method(op.function, op.function) for op in autodiff.OPS.values()
       if op.activation and op.attr_name is None and op.function},
    "leaky_relu": LeakyReLU(),
    "elu": ELU(),
    "linear": Activation("linear", lambda zs: zs[0]),
    "maxout": Maxout(2),
}
_FACTORIES = {"leaky_relu": (LeakyReLU, float), "elu": (ELU, float), "maxout": (Maxout, int)}
_PARAM = re.compile(r"^\s*([a-z_]+)\s*\(\s*([-+0-9.eE]+)\s*\)\s*$")


def get_activation(spec: Union[str, Activation, None], argument: str = "activation",
                   allow_softmax: bool = False) -> Union[Activation, str]:
    """Resolve ``spec``; returns :data:`SOFTMAX` (a string) for ``"softmax"`` when allowed."""
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"{argument}: expected an activation name or nn.Activation, got "
                        f"{type(spec).__name__}: {spec!r}")
    if spec == SOFTMAX:
        if allow_softmax:
            return SOFTMAX
        raise ValueError(f"{argument}='softmax' is a whole-layer output: use it on a Layer or as "
                         "MLP(output_activation='softmax'), not on a single Neuron")
    if spec in ACTIVATIONS:
        return ACTIVATIONS[spec]
    registered = _from_table(spec)  # an op registered after this module was imported
    if registered is not None:
        return registered
    m = _PARAM.match(spec)
    if m and m.group(1) in _FACTORIES:
        factory, cast = _FACTORIES[m.group(1)]
        try:
            value = cast(m.group(2))
        except ValueError:
            raise ValueError(f"{argument}: cannot read the parameter of {spec!r}") from None
        return factory(value)
    names = ", ".join(list(ACTIVATIONS) + ["leaky_relu(β)", "elu(β)", "maxout(k)"]
                      + (["softmax"] if allow_softmax else []))
    raise ValueError(f"{argument}: unknown activation {spec!r}; choose one of {names}")
