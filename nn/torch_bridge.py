"""Move an MLP to PyTorch and back, with the same weights (float64).

``to_torch(model)`` returns a ``torch.nn.Sequential`` computing what ``model`` computes:
per layer ``Linear(n_in, n_out)`` with W and b copied, followed by the layer's
activation (``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU(β)``, ``ELU(β)``, nothing for
``linear``, ``Softmax(dim=-1)`` for a softmax layer). ``from_torch(seq)`` reads such a
``Sequential`` back into an :class:`nn.MLP`. ``sign``, ``step`` and ``maxout`` have no
PyTorch module and raise ``ValueError`` naming the layer.

PyTorch is an optional extra (``pip install "backproplab[torch]"``); without it both
functions raise ``ImportError`` saying so.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .activations import SOFTMAX
from .layers import MLP

__all__ = ["to_torch", "from_torch"]

_ACT = re.compile(r"^(leaky_relu|elu)\((.+)\)$")


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError("nn.to_torch / nn.from_torch need PyTorch, an optional extra: "
                          'pip install "backproplab[torch]" (torch==2.13.0)') from None
    return torch


def _torch_activation(torch: Any, name: str, where: str) -> Any:
    simple = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}
    if name in simple:
        return simple[name]()
    if name == "linear":
        return None
    if name == SOFTMAX:
        return torch.nn.Softmax(dim=-1)
    m = _ACT.match(name)
    if m:
        kind, arg = m.group(1), float(m.group(2))
        return torch.nn.LeakyReLU(arg) if kind == "leaky_relu" else torch.nn.ELU(arg)
    raise ValueError(f"to_torch: {where} uses activation {name!r}, which has no PyTorch module "
                     "(sigmoid, tanh, relu, leaky_relu, elu, linear and softmax do)")


def to_torch(model: MLP) -> Any:
    """An equivalent ``torch.nn.Sequential`` (float64) with ``model``'s current weights."""
    torch = _torch()
    if not isinstance(model, MLP):
        raise TypeError(f"to_torch: expected an nn.MLP, got {type(model).__name__}")
    modules = []
    for i, layer in enumerate(model.layers):
        if len(layer.neurons[0].pieces) != 1:
            raise ValueError(f"to_torch: layers.{i} is a maxout layer, which has no PyTorch module")
        W, b = layer.get_weights()
        lin = torch.nn.Linear(layer.nin, layer.nout, bias=b is not None, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            if b is not None:
                lin.bias.copy_(torch.from_numpy(b))
        modules.append(lin)
        act = _torch_activation(torch, layer.activation_name, f"layers.{i}")
        if act is not None:
            modules.append(act)
    return torch.nn.Sequential(*modules)


def _our_activation(torch: Any, module: Any, where: str) -> str:
    nn_ = torch.nn
    if isinstance(module, nn_.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn_.Tanh):
        return "tanh"
    if isinstance(module, nn_.ReLU):
        return "relu"
    if isinstance(module, nn_.LeakyReLU):
        return f"leaky_relu({module.negative_slope!r})"
    if isinstance(module, nn_.ELU):
        return f"elu({module.alpha!r})"
    if isinstance(module, nn_.Softmax):
        if module.dim not in (-1, 1):
            raise ValueError(f"from_torch: {where} is Softmax(dim={module.dim}); only the feature axis "
                             "(dim=-1 or 1) matches a softmax layer")
        return SOFTMAX
    if isinstance(module, nn_.Identity):
        return "linear"
    raise ValueError(f"from_torch: {where} is {type(module).__name__}; expected Linear layers, each "
                     "followed by at most one of Sigmoid, Tanh, ReLU, LeakyReLU, ELU, Softmax, Identity")


def from_torch(seq: Any) -> MLP:
    """An :class:`nn.MLP` with the weights of ``seq``, a ``torch.nn.Sequential`` of ``Linear``
    layers each followed by at most one activation module (as :func:`to_torch` makes)."""
    torch = _torch()
    if not isinstance(seq, torch.nn.Sequential):
        raise TypeError(f"from_torch: expected a torch.nn.Sequential, got {type(seq).__name__}")
    layers: list[list] = []  # [Linear, activation name]
    for i, module in enumerate(seq):
        if isinstance(module, torch.nn.Linear):
            if layers and layers[-1][0].out_features != module.in_features:
                raise ValueError(f"from_torch: module {i} (Linear) takes {module.in_features} inputs but "
                                 f"the previous layer gives {layers[-1][0].out_features}")
            layers.append([module, "linear"])
        elif not layers:
            raise ValueError(f"from_torch: module {i} ({type(module).__name__}) comes before any Linear layer")
        elif layers[-1][1] != "linear":
            raise ValueError(f"from_torch: module {i} ({type(module).__name__}) is a second activation "
                             "after one Linear layer")
        else:
            layers[-1][1] = _our_activation(torch, module, f"module {i}")
    if not layers:
        raise ValueError("from_torch: the Sequential has no Linear layer")
    with_bias = {lin.bias is not None for lin, _ in layers}
    if len(with_bias) > 1:
        raise ValueError("from_torch: some Linear layers have a bias and some do not; nn.MLP needs all "
                         "or none")
    for lin, act in layers[:-1]:
        if act == SOFTMAX:
            raise ValueError("from_torch: Softmax is only supported after the last Linear layer")
    weights = [lin.weight.detach().to(torch.float64).cpu().numpy().astype(float) for lin, _ in layers]
    biases = None
    if with_bias == {True}:
        biases = [lin.bias.detach().to(torch.float64).cpu().numpy().astype(float) for lin, _ in layers]
    return MLP(layers[0][0].in_features, [lin.out_features for lin, _ in layers],
               activation=[act for _, act in layers], bias=with_bias == {True},
               weights=[np.array(w) for w in weights], biases=biases)
