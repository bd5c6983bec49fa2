"""`Module`: the base class of every model — a tree of submodules holding parameter `Value`s.

A module lists its own parameters and its child modules in a fixed order; from that,
:meth:`Module.named_parameters` gives stable dotted names such as
``layers.0.neurons.1.w.3``. A parameter shared by several places (the lecture's bias
b1 used by both hidden neurons) is listed once, under the first name that reaches it,
as in PyTorch.
"""

from __future__ import annotations

from typing import Iterator, Mapping, Sequence, Union

import numpy as np

from autodiff import validate

from autodiff import Value
from autodiff.params import parameter_store

__all__ = ["Module"]


class Module:
    """Base class. Subclasses implement :meth:`_own_parameters` and :meth:`_children`."""

    # --------------------------------------------------------------- structure
    def _own_parameters(self) -> Sequence[tuple[str, Value]]:
        return ()

    def _children(self) -> Sequence[tuple[str, "Module"]]:
        return ()

    def _own_weights(self) -> Sequence[Value]:
        """Which of :meth:`_own_parameters` are weights (multiply an input); all by default."""
        return [v for _, v in self._own_parameters()]

    def _modules(self) -> Iterator["Module"]:
        yield self
        for _, child in self._children():
            yield from child._modules()

    def _walk(self, prefix: str = "") -> Iterator[tuple[str, Value]]:
        for name, v in self._own_parameters():
            yield prefix + name, v
        for name, child in self._children():
            yield from child._walk(prefix + name + ".")

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``[(dotted name, Value), ...]`` in a fixed order; each Value appears once."""
        seen: set[int] = set()
        out = []
        for name, v in self._walk():
            if id(v) not in seen:
                seen.add(id(v))
                out.append((name, v))
        return out

    def parameters(self) -> list[Value]:
        """All parameter Values, each once, in :meth:`named_parameters` order."""
        return [v for _, v in self.named_parameters()]

    def weights(self) -> list[Value]:
        """The weights, without the biases, in :meth:`parameters` order: what L2
        regularisation penalises (λ/2n Σ w², Nielsen ch. 3 eq. 85: biases are left out)."""
        ids = {id(v) for m in self._modules() for v in m._own_weights()}
        return [v for v in self.parameters() if id(v) in ids]

    def zero_grad(self) -> None:
        """Set ``grad = 0`` on every parameter (gradients accumulate across backward calls)."""
        for v in self.parameters():
            v.grad = 0.0

    def prepare_eager(self) -> None:
        """Before building an eager graph: if the parameters live in a
        :class:`autodiff.ParameterStore`, have it hand the current numbers to the Values'
        own fields, where the eager engine reads them fastest (autodiff/params.py). Costs a
        pass over the parameters only after an array update; otherwise one check."""
        probe = self.__dict__.get("_probe")
        if probe is None:
            params = self.parameters()
            probe = self._probe = params[0] if params else False
        store = parameter_store(probe) if probe else None
        if store is not None:
            store.values_current()

    # ------------------------------------------------------------ state export
    def state_dict(self) -> dict[str, float]:
        """``{dotted name: float}`` — plain numbers, JSON-serialisable."""
        return {name: v.data for name, v in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Union[float, int]], strict: bool = True) -> None:
        """Set parameter values from :meth:`state_dict` output.

        With ``strict`` the keys must be exactly this module's parameter names.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict(state): expected a mapping {{name: number}} (from state_dict()), "
                            f"got {type(state).__name__}")
        params = dict(self.named_parameters())
        values = {k: validate.real_number(v, f"load_state_dict: key {k!r}") for k, v in state.items()
                  if k in params}
        if strict:
            missing = [k for k in params if k not in state]
            unexpected = [k for k in state if k not in params]
            if missing or unexpected:
                raise KeyError(f"load_state_dict: missing keys {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                               f"unexpected keys {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}")
        for k, value in values.items():
            params[k].data = value

    def parameter_vector(self) -> np.ndarray:
        """All parameter values as one float64 array, in :meth:`named_parameters` order."""
        return np.array([v.data for v in self.parameters()], dtype=float)

    def set_parameter_vector(self, flat: Sequence[float]) -> None:
        """Set every parameter from one flat array, in :meth:`named_parameters` order."""
        params = self.parameters()
        flat = validate.vector(flat, "set_parameter_vector(flat)", len(params), finite=False)
        for v, x in zip(params, flat.tolist()):
            v.data = x

    def num_parameters(self) -> int:
        """How many parameters the module has (each shared one counted once)."""
        return len(self.parameters())
