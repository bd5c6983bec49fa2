"""Neuron, Layer and MLP built from `autodiff.Value` (seed 000 §6, seed 002 §9, seed 004).

A neuron computes its weighted input as ONE ``dot`` node, z = Σᵢ wᵢxᵢ + b
(``autodiff.dot(w, x, b)``; DESIGN.md lesson 2), then one activation node y = φ(z).
A maxout neuron has k such pieces and outputs maxᵢ zᵢ. A softmax layer computes the
linear z of every neuron and then softmax(z)ₖ = e^{zₖ}/Σⱼ e^{zⱼ} (one node per output).

Parameters are created with ``param=True`` and labelled with their dotted name
(``layers.0.neurons.1.w.3``, ``layers.0.neurons.1.b``; maxout: ``w.<piece>.<i>``,
``b.<piece>``). Every node a neuron creates (its dot node(s) and its activation node)
gets ``.group = ("layers.<i>", "neurons.<j>")`` inside an MLP; ``("neurons.<j>",)``
inside a standalone Layer (``(name, "neurons.<j>")`` if given ``name=``); ``(name,)``
for a standalone Neuron given ``name=``, ``("neuron",)`` otherwise. Drawings use these
to collapse neurons and layers.

Weights and biases can be given explicitly, as numbers or as existing Values; a Value
passed in is used as is (not copied; relabelled only if it has no label), which is how
one bias is shared by two neurons (the NPTEL 2-2-1 network of seed 004).
"""

from __future__ import annotations

import numbers
import random
from typing import TYPE_CHECKING, Any, Generic, Literal, Optional, Sequence, Union, cast, overload

import numpy as np

import autodiff
from autodiff import Value, validate

from .activations import SOFTMAX, Activation, get_activation
from .init import NETWORK_INITS, RngLike, get_init, make_rng, network2_arrays
from .module import Module

__all__ = ["Neuron", "Layer", "MLP", "as_inputs"]

if TYPE_CHECKING:  # PEP 696 default: an MLP whose width is not known to the checker gives either
    from typing_extensions import TypeVar
    Out = TypeVar("Out", default=Union[Value, list[Value]])
else:
    from typing import TypeVar
    Out = TypeVar("Out")
#: What a module returns for one sample: ``Value`` for one output, ``list[Value]`` for several.
Output = Union[Value, list[Value]]
ActivationLike = Union[str, Activation, None]

DEFAULT_ACTIVATION = "relu"
DEFAULT_INIT = "xavier_uniform"
DEFAULT_BIAS_INIT = "zeros"
Scalar = Union[Value, float, int]


def _activation(activation: Union[str, Activation, None], nonlin: Optional[bool], where: str) -> Union[str, Activation]:
    """micrograd's ``nonlin=True/False`` (ReLU / linear) or an activation name; ReLU when
    neither is given, as in micrograd."""
    if nonlin is None:
        return DEFAULT_ACTIVATION if activation is None else activation
    if activation is not None:
        raise ValueError(f"{where}: give activation= or micrograd's nonlin=, not both "
                         f"(got activation={activation!r}, nonlin={nonlin!r})")
    return DEFAULT_ACTIVATION if nonlin else "linear"


def _draw_weights(init: Any, fan_in: int, fan_out: int, shape: tuple, gen: Optional[np.random.Generator],
                  where: str) -> np.ndarray:
    """Initial weights of one module. ``init=None`` with no ``rng``/``seed`` (``gen is None``)
    draws as micrograd does: ``random.uniform(-1, 1)`` from Python's :mod:`random`, one
    neuron after the other, so ``random.seed(s)`` reproduces micrograd's model exactly.
    Otherwise ``init`` (default ``xavier_uniform``) draws from the numpy Generator."""
    if init is None and gen is None:
        count = int(np.prod(shape))
        return np.array([random.uniform(-1, 1) for _ in range(count)], dtype=float).reshape(shape)
    if gen is None:
        gen = make_rng(None, None)
    return get_init(DEFAULT_INIT if init is None else init, where)(fan_in, fan_out, shape, gen)


def _generator(init: Any, rng: RngLike, seed: Optional[int], where: str) -> Optional[np.random.Generator]:
    """The numpy Generator to draw from, or ``None`` for micrograd's draws (see
    :func:`_draw_weights`)."""
    if init is None and rng is None and seed is None:
        return None
    return make_rng(rng, seed, where)


def as_inputs(x: Any, n: int, where: str) -> list[Value]:
    """Check that ``x`` holds ``n`` inputs and return them as Values.

    Numbers become unlabelled-for-math, input-labelled leaves ``x.0``, ``x.1``, ...;
    Values are passed through (so a graph can be built on placeholder inputs).
    """
    if isinstance(x, Value):
        x = [x]
    elif isinstance(x, np.ndarray):
        if x.ndim != 1:
            raise ValueError(f"{where}: x must be one sample (a 1-D sequence of {n} inputs), "
                             f"got an array of shape {x.shape}")
        x = x.tolist()
    elif isinstance(x, numbers.Real):
        x = [x]
    try:
        count = len(x)
    except TypeError:
        raise TypeError(f"{where}: x must be a sequence of {n} numbers or Values, got "
                        f"{type(x).__name__}") from None
    if count != n:
        raise ValueError(f"{where}: x has {count} inputs but this module expects nin={n}")
    out = []
    for i, v in enumerate(x):
        if isinstance(v, Value):
            out.append(v)
        else:  # a number: the engine's own rule (Value(data)), naming the input
            out.append(Value(validate.real_number(v, f"{where}: input x[{i}] (a number or a Value)"), f"x.{i}"))
    return out


def _check_count(n: Any, argument: str) -> int:
    return validate.int_at_least(n, argument, 1)


def _param(x: Scalar, label: str, argument: str) -> Value:
    """A given Value as is; a number as a new labelled parameter."""
    if isinstance(x, Value):
        if not x.label:
            x.label = label
        return x
    return Value(validate.real_number(x, f"{argument} (a number or a Value)"), label, param=True)


def _group(path: tuple[str, ...], default: str) -> tuple[str, ...]:
    return path if path else (default,)


class Neuron(Module):
    """y = φ(Σᵢ wᵢxᵢ + b).

    ``Neuron(nin, activation="relu", *, nonlin=None, init=None, bias=True,
    weights=None, bias_init="zeros", rng=None, seed=None, name=None, fan_out=1)``

    * ``activation``: a name (``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"linear"``, ...) or an
      :class:`nn.activations.Activation`; ReLU by default, as micrograd's ``Neuron``.
      micrograd's ``nonlin=True`` / ``nonlin=False`` (ReLU / linear) is accepted too.
    * ``init``: an initialiser name (:mod:`nn.init`). Left out with no ``rng``/``seed``, the
      weights are drawn as micrograd draws them (``random.uniform(-1, 1)`` from Python's
      :mod:`random`); with ``rng``/``seed``, ``xavier_uniform`` from numpy.

    * ``weights``: ``nin`` numbers or Values (``k × nin`` for maxout(k)); drawn from
      ``init`` when omitted.
    * ``bias``: ``True`` (drawn from ``bias_init``), ``False`` (no bias), a number, or an
      existing Value to share (maxout: a sequence of k).
    * ``fan_out`` is only used by the Xavier initialisers (n_out of the layer).
    """

    def __init__(self, nin: int, activation: Union[str, Activation, None] = None, *,
                 nonlin: Optional[bool] = None, init: Any = None, bias: Any = True, weights: Any = None,
                 bias_init: Any = DEFAULT_BIAS_INIT, rng: RngLike = None, seed: Optional[int] = None,
                 name: Optional[str] = None, fan_out: int = 1, _path: Optional[tuple[str, ...]] = None) -> None:
        self.nin = _check_count(nin, "Neuron(nin)")
        act = get_activation(_activation(activation, nonlin, "Neuron"), "Neuron(activation)")
        assert isinstance(act, Activation)
        self.activation = act
        k = act.pieces
        if _path is None:
            if name is not None and not isinstance(name, str):
                raise TypeError(f"Neuron(name) must be a str, got {name!r}")
            _path = (name,) if name else ()
        self._path = _path
        self.group = _group(_path, "neuron")
        prefix = ".".join(_path) + "." if _path else ""
        gen: Optional[np.random.Generator] = None

        if weights is None:
            gen = _generator(init, rng, seed, "Neuron(rng)")
            shape = (self.nin,) if k == 1 else (k, self.nin)
            weights = _draw_weights(init, self.nin, fan_out, shape, gen, "Neuron(init)")
        rows = _rows(weights, k, self.nin, "Neuron(weights)")

        if bias is True:
            if gen is None:
                gen = make_rng(rng, seed, "Neuron(rng)")
            drawn = get_init(bias_init, "Neuron(bias_init)")(self.nin, fan_out, (k,), gen)
            biases: list[Optional[Scalar]] = list(drawn.tolist())
        elif bias is False or bias is None:
            biases = [None] * k
        elif k > 1:
            if isinstance(bias, Value) or isinstance(bias, numbers.Real) or len(bias) != k:
                raise ValueError(f"Neuron(bias): a maxout({k}) neuron needs a sequence of {k} biases")
            biases = list(bias)
        else:
            biases = [bias]

        def wname(p: int, i: int) -> str:
            return f"{prefix}w.{i}" if k == 1 else f"{prefix}w.{p}.{i}"

        def bname(p: int) -> str:
            return f"{prefix}b" if k == 1 else f"{prefix}b.{p}"

        # tuples: autodiff.dot takes them without a copy
        self.pieces: list[tuple[Value, ...]] = [
            tuple(_param(w, wname(p, i), "Neuron(weights)") for i, w in enumerate(row))
            for p, row in enumerate(rows)]
        self.biases: list[Optional[Value]] = [
            None if b is None else _param(b, bname(p), "Neuron(bias)") for p, b in enumerate(biases)]

    # the usual names for the one-piece case
    @property
    def w(self) -> list[Value]:
        """The weights (all pieces' for a maxout neuron), as micrograd's ``Neuron.w``."""
        return list(self.pieces[0]) if len(self.pieces) == 1 else [w for row in self.pieces for w in row]

    @property
    def b(self) -> Optional[Value]:
        """The bias (the first piece's for maxout), ``None`` without one."""
        return self.biases[0]

    def _own_parameters(self):
        k = len(self.pieces)
        out = []
        for p, row in enumerate(self.pieces):
            out += [(f"w.{i}" if k == 1 else f"w.{p}.{i}", w) for i, w in enumerate(row)]
        for p, b in enumerate(self.biases):
            if b is not None:
                out.append(("b" if k == 1 else f"b.{p}", b))
        return out

    def _own_weights(self) -> Sequence[Value]:
        return [w for row in self.pieces for w in row]

    def weighted_inputs(self, xs: Sequence[Value]) -> list[Value]:
        """The dot node(s) z = w·x + b, grouped. ``xs`` must already be Values."""
        g = self.group
        zs = []
        for row, b in zip(self.pieces, self.biases):
            z = autodiff.dot(row, xs, b)
            z.group = g
            zs.append(z)
        return zs

    def forward(self, xs: Sequence[Value]) -> Value:
        """y = φ(z) on input Values ``xs`` (no checks: :meth:`__call__` checks)."""
        of_one = self.activation.of_one
        if of_one is not None:  # one piece: z = w·x + b, y = φ(z), without the lists
            z = autodiff.dot(self.pieces[0], xs, self.biases[0])
            z.group = self.group
            out = of_one(z)
        else:
            out = self.activation(self.weighted_inputs(xs))
        out.group = self.group
        return out

    def __call__(self, x: Any) -> Value:
        """The neuron's output y = φ(w·x + b) on one sample ``x`` (``nin`` numbers or Values)."""
        self.prepare_eager()
        return self.forward(as_inputs(x, self.nin, "Neuron"))

    def __repr__(self) -> str:
        return f"Neuron(nin={self.nin}, activation={self.activation.name!r})"


def _rows(weights: Any, k: int, nin: int, argument: str) -> list[list[Any]]:
    """Validate an explicit weight vector (k = 1) or k × nin matrix (maxout)."""
    if isinstance(weights, np.ndarray):
        weights = weights.tolist() if weights.dtype != object else list(weights)
    rows = [list(weights)] if k == 1 else [list(r) for r in weights]
    if len(rows) != k or any(len(r) != nin for r in rows):
        shape = f"{nin}" if k == 1 else f"{k} × {nin}"
        raise ValueError(f"{argument}: expected {shape} weights for nin={nin}, got "
                         f"{[len(r) for r in rows] if k > 1 else len(rows[0])}")
    return rows


def _one_or_list(outs: list[Value]) -> Union[Value, list[Value]]:
    """A module's outputs as users get them: the Value itself for one output (as micrograd
    and the lectures write ``y = model(x)``), else the list."""
    return outs[0] if len(outs) == 1 else outs


class Layer(Module, Generic[Out]):
    """``nout`` neurons reading the same ``nin`` inputs; returns a list of ``nout`` Values
    (the Value itself when ``nout == 1``; :meth:`outputs` always gives the list). For type
    checkers ``Layer(nin, 1)`` is a ``Layer[Value]`` (its call is a :class:`Value`), any other
    a ``Layer[list[Value]]``.

    ``Layer(nin, nout, activation="relu", *, nonlin=None, init=None, bias=True,
    weights=None, biases=None, bias_init="zeros", rng=None, seed=None, name=None)``

    ``activation``, ``nonlin`` and ``init`` as for :class:`Neuron` (ReLU by default; without
    ``init``/``rng``/``seed`` the weights are micrograd's ``random.uniform(-1, 1)`` draws).

    ``weights`` is ``nout × nin`` (maxout: ``nout × k × nin``), ``biases`` has ``nout``
    entries; entries may be numbers or Values (pass the same Value twice to share it).
    ``activation="softmax"`` makes linear neurons followed by one softmax over the layer.
    A standalone layer's neurons are grouped ``("neurons.<j>",)``, or ``(name, "neurons.<j>")``
    with labels ``<name>.neurons.<j>.w.<i>`` when ``name`` is given.
    Random draws, when needed, are made for the whole layer at once: weights (nout, nin)
    then biases (nout,), from ``rng`` (a Generator or an int seed).
    """

    @overload
    def __init__(self: "Layer[Value]", nin: int, nout: Literal[1], activation: ActivationLike = None,
                 **options: Any) -> None: ...

    @overload
    def __init__(self: "Layer[list[Value]]", nin: int, nout: int, activation: ActivationLike = None,
                 **options: Any) -> None: ...

    def __init__(self, nin: int, nout: int, activation: Union[str, Activation, None] = None, *,
                 nonlin: Optional[bool] = None, init: Any = None, bias: bool = True, weights: Any = None,
                 biases: Any = None,
                 bias_init: Any = DEFAULT_BIAS_INIT, rng: RngLike = None, seed: Optional[int] = None,
                 name: Optional[str] = None, _path: Optional[tuple[str, ...]] = None) -> None:
        self.nin = _check_count(nin, "Layer(nin)")
        if _path is None:
            if name is not None and not isinstance(name, str):
                raise TypeError(f"Layer(name) must be a str, got {name!r}")
            _path = (name,) if name else ()
        self.nout = _check_count(nout, "Layer(nout)")
        act = get_activation(_activation(activation, nonlin, "Layer"), "Layer(activation)", allow_softmax=True)
        self.activation = act
        neuron_act = get_activation("linear") if act == SOFTMAX else act
        assert isinstance(neuron_act, Activation)
        k = neuron_act.pieces
        self._path = _path

        gen = None
        if weights is None or (bias and biases is None):
            gen = _generator(init, rng, seed, "Layer(rng)")
        if weights is None:
            shape = (self.nout, self.nin) if k == 1 else (self.nout, k, self.nin)
            weights = _draw_weights(init, self.nin, self.nout, shape, gen, "Layer(init)")
        if isinstance(weights, np.ndarray) and weights.dtype != object:
            weights = weights.tolist()
        if len(weights) != self.nout:
            raise ValueError(f"Layer(weights): expected {self.nout} rows (one per neuron), got {len(weights)}")
        if not bias:
            if biases is not None:
                raise ValueError("Layer: biases= given together with bias=False")
            neuron_biases: list[Any] = [False] * self.nout
        elif biases is None:
            shape_b = (self.nout,) if k == 1 else (self.nout, k)
            neuron_biases = get_init(bias_init, "Layer(bias_init)")(
                self.nin, self.nout, shape_b, gen if gen is not None else make_rng(None, None)).tolist()
        else:
            if isinstance(biases, np.ndarray) and biases.dtype != object:
                biases = biases.tolist()
            if len(biases) != self.nout:
                raise ValueError(f"Layer(biases): expected {self.nout} biases (one per neuron), got {len(biases)}")
            neuron_biases = list(biases)

        self.neurons = [
            Neuron(self.nin, neuron_act, weights=weights[j], bias=neuron_biases[j],
                   _path=_path + (f"neurons.{j}",))
            for j in range(self.nout)]

    def _children(self):
        return [(f"neurons.{j}", n) for j, n in enumerate(self.neurons)]

    def outputs(self, xs: Sequence[Value]) -> list[Value]:
        """The ``nout`` output Values on input Values ``xs``, always as a list."""
        if self.activation != SOFTMAX:
            return [n.forward(xs) for n in self.neurons]
        zs = [n.weighted_inputs(xs)[0] for n in self.neurons]
        outs = autodiff.softmax(zs)
        for n, s in zip(self.neurons, outs):
            s.group = n.group
        return outs

    def forward(self, xs: Sequence[Value]) -> Out:
        """The outputs on input Values: a list, or the Value itself when ``nout == 1``."""
        return cast(Out, _one_or_list(self.outputs(xs)))

    def __call__(self, x: Any) -> Out:
        """The layer on one sample ``x`` (``nin`` numbers or Values): ``nout`` output Values, or
        the Value itself when ``nout == 1``."""
        self.prepare_eager()
        return self.forward(as_inputs(x, self.nin, "Layer"))

    @property
    def activation_name(self) -> str:
        """The activation's name (``"softmax"`` for a softmax layer)."""
        return SOFTMAX if self.activation == SOFTMAX else self.activation.name

    def get_weights(self) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """``(W, b)`` as float arrays: W (nout, nin) (maxout: (nout, k, nin)), b (nout,) or
        (nout, k), or ``None`` without biases."""
        k = len(self.neurons[0].pieces)
        W = np.array([[[w.data for w in row] for row in n.pieces] for n in self.neurons])
        if k == 1:
            W = W[:, 0, :]
        if self.neurons[0].biases[0] is None:
            return W, None
        b = np.array([[b.data for b in n.biases] for n in self.neurons])
        return W, (b[:, 0] if k == 1 else b)

    def set_weights(self, W: Any, b: Any = None) -> None:
        """Set weights (and biases) from arrays shaped as :meth:`get_weights` returns."""
        k = len(self.neurons[0].pieces)
        W = np.asarray(W, dtype=float)
        want = (self.nout, self.nin) if k == 1 else (self.nout, k, self.nin)
        if W.shape != want:
            raise ValueError(f"Layer.set_weights: W must have shape {want}, got {W.shape}")
        W = W.reshape(self.nout, k, self.nin)
        for n, rows in zip(self.neurons, W):
            for piece, row in zip(n.pieces, rows):
                for w, x in zip(piece, row.tolist()):
                    w.data = x
        if b is not None:
            b = np.asarray(b, dtype=float)
            wantb = (self.nout,) if k == 1 else (self.nout, k)
            if b.shape != wantb:
                raise ValueError(f"Layer.set_weights: b must have shape {wantb}, got {b.shape}")
            if self.neurons[0].biases[0] is None:
                raise ValueError("Layer.set_weights: this layer has no biases")
            for n, row in zip(self.neurons, b.reshape(self.nout, k)):
                for bv, x in zip(n.biases, row.tolist()):
                    bv.data = x

    def __repr__(self) -> str:
        return f"Layer(nin={self.nin}, nout={self.nout}, activation={self.activation_name!r})"


class MLP(Module, Generic[Out]):
    """A multilayer perceptron: ``MLP(nin, [n_1, ..., n_L], activation=..., output_activation=...)``.

    With neither ``activation`` nor ``output_activation`` it is micrograd's ``MLP(nin, nouts)``:
    ReLU hidden layers and a linear output layer. Given ``activation`` alone, every layer
    uses it (the output too, as in the lectures' sigmoid networks); ``output_activation``
    sets the last layer's (``"softmax"`` allowed). ``activation`` may instead be a list
    with one activation per layer, the last one the output's (then leave
    ``output_activation`` out). ``model(x)`` returns the list of the ``n_L`` output
    Values, or the Value itself when ``n_L == 1``.

    ``init`` is an initialiser name for every layer (see :mod:`nn.init`) or one of the
    whole-network modes ``"network2"`` / ``"network2_large"`` (Nielsen's draw order, needs
    an int ``seed``, biases then N(0,1)). Left out: with ``rng``/``seed``, ``xavier_uniform``
    drawn from numpy; with neither, micrograd's draws (``random.uniform(-1, 1)`` from Python's
    :mod:`random`, layer by layer, neuron by neuron, biases 0), so after ``random.seed(s)``
    the model equals micrograd's ``MLP`` built after the same call. ``weights`` /
    ``biases``: one array (or nested list, entries may be Values) per layer, as
    :class:`Layer` takes them.

    Typing: ``model(x)`` is ``Value | list[Value]`` to a type checker, which cannot see the
    width of the last layer; declare a one-output model ``model: nn.MLP[Value] = nn.MLP(...)``
    (or a wider one ``nn.MLP[list[Value]]``) and ``model(x).data`` checks.
    """

    def __init__(self, nin: int, sizes: Sequence[int], activation: Union[str, Activation, None] = None,
                 output_activation: Union[str, Activation, None] = None, *, init: Any = None,
                 bias_init: Any = DEFAULT_BIAS_INIT, bias: bool = True, weights: Any = None, biases: Any = None,
                 rng: RngLike = None, seed: Optional[int] = None) -> None:
        self.nin = _check_count(nin, "MLP(nin)")
        if isinstance(sizes, (numbers.Integral, str)) or not len(sizes):
            raise ValueError(f"MLP(sizes) must be a non-empty list of layer widths, got {sizes!r}")
        sizes = [_check_count(s, f"MLP(sizes[{i}])") for i, s in enumerate(sizes)]
        self.sizes = [self.nin] + sizes
        L = len(sizes)
        if isinstance(activation, (list, tuple)):
            if len(activation) != L:
                raise ValueError(f"MLP(activation): a list needs one activation per layer ({L}), "
                                 f"got {len(activation)}")
            if output_activation is not None:
                raise ValueError("MLP: activation is a list with one entry per layer (the last is the "
                                 "output's); do not also pass output_activation")
            acts = [get_activation(a, f"MLP(activation[{i}])", allow_softmax=i == L - 1)
                    for i, a in enumerate(activation)]
        else:
            if activation is None:  # micrograd's MLP: ReLU hidden layers, linear output
                activation = DEFAULT_ACTIVATION
                if output_activation is None:
                    output_activation = "linear"
            hidden = get_activation(activation, "MLP(activation)", allow_softmax=False)
            out_act = hidden if output_activation is None else get_activation(
                output_activation, "MLP(output_activation)", allow_softmax=True)
            acts = [hidden] * (L - 1) + [out_act]
        for argument, given in (("weights", weights), ("biases", biases)):
            if given is not None and len(given) != L:
                raise ValueError(f"MLP({argument}): expected one entry per layer ({L}), got {len(given)}")

        if isinstance(init, str) and init in NETWORK_INITS:
            if weights is not None or biases is not None:
                raise ValueError(f"MLP: init={init!r} draws every weight; do not also pass weights=/biases=")
            if rng is not None and seed is not None:
                raise ValueError("MLP: give either rng= or seed=, not both")
            if any(getattr(a, "pieces", 1) != 1 for a in acts):
                raise ValueError(f"MLP: init={init!r} does not support maxout layers")
            weights, biases = network2_arrays(self.sizes, seed if seed is not None else rng, init)
            if not bias:
                biases = None
            gen = None
        else:
            gen = _generator(init, rng, seed, "MLP(rng)")

        self.layers = [
            Layer(self.sizes[i], self.sizes[i + 1], acts[i], init=init,
                  bias=bias, bias_init=bias_init, rng=gen,
                  weights=None if weights is None else weights[i],
                  biases=None if biases is None else biases[i], _path=(f"layers.{i}",))
            for i in range(L)]

    @property
    def nout(self) -> int:
        """The number of outputs n_L."""
        return self.sizes[-1]

    def _children(self):
        return [(f"layers.{i}", layer) for i, layer in enumerate(self.layers)]

    def outputs(self, xs: Sequence[Value]) -> list[Value]:
        """The ``nout`` output Values on input Values ``xs``, always as a list."""
        for layer in self.layers:
            xs = layer.outputs(xs)
        return list(xs)

    def forward(self, xs: Sequence[Value]) -> Out:
        """The outputs on input Values: a list, or the Value itself when ``nout == 1``."""
        return cast(Out, _one_or_list(self.outputs(xs)))

    def __call__(self, x: Any) -> Out:
        """The network on one sample ``x`` (``nin`` numbers or Values): the ``n_L`` output Values,
        or the Value itself when ``n_L == 1`` (as micrograd's ``MLP``)."""
        self.prepare_eager()
        return self.forward(as_inputs(x, self.nin, "MLP"))

    def predict(self, X: Any) -> np.ndarray:
        """Output data for every row of ``X`` (N, nin) as an (N, nout) float array."""
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[None, :]
        self.prepare_eager()
        return np.array([[v.data for v in self.outputs(as_inputs(row, self.nin, "MLP.predict"))] for row in X])

    def get_weights(self) -> list[tuple[np.ndarray, Optional[np.ndarray]]]:
        """``[(W_l, b_l), ...]`` per layer, W_l of shape (n_{l+1}, n_l)."""
        return [layer.get_weights() for layer in self.layers]

    def set_weights(self, weights: Sequence[tuple[Any, Any]]) -> None:
        """Set every layer's ``(W, b)`` from :meth:`get_weights`-shaped arrays."""
        if len(weights) != len(self.layers):
            raise ValueError(f"MLP.set_weights: expected {len(self.layers)} (W, b) pairs, got {len(weights)}")
        for layer, (W, b) in zip(self.layers, weights):
            layer.set_weights(W, b)

    def __repr__(self) -> str:
        acts = [layer.activation_name for layer in self.layers]
        return f"MLP({self.nin}, {self.sizes[1:]}, activations={acts})"
