"""backproplab's `nn`: neurons, layers, MLPs, losses, optimizers and training, all built
from `autodiff.Value` (PyTorch-flavoured, small modules with one job each).

Public API
----------
Models (:mod:`nn.module`, :mod:`nn.layers`, :mod:`nn.perceptron`)
    Module            parameters(), named_parameters() ('layers.0.neurons.1.w.3'), zero_grad(),
                      state_dict() / load_state_dict(), parameter_vector() / set_parameter_vector(),
                      prepare_eager() (the parameters' autodiff.ParameterStore hands its numbers to
                      the Values before an eager graph; model(x) calls it)
    Neuron(nin, activation="relu" (or micrograd's nonlin=True/False), init=..., bias=True,
        weights=None, rng/seed, name=None)
    Layer(nin, nout, activation="relu", init=..., weights=(nout×nin), biases=(nout), rng/seed)
    MLP(nin, [sizes], activation=... or [one per layer], output_activation=..., init=..., weights=,
        biases=, rng/seed); as micrograd's MLP(nin, nouts) by default (ReLU hidden, linear output,
        without rng/seed weights drawn as micrograd draws them)
                      model(x) -> list of output Values (the Value itself for one output);
                      outputs(xs) (always a list); predict(X); get_weights()/set_weights()
    Perceptron(nin, activation="step"|"sign", lr=η); .fit(X, d, epochs, threshold=γ): w ← w + η(d − y)x
Activations (:mod:`nn.activations`)
    sigmoid tanh relu leaky_relu elu sign step linear maxout(k), softmax (whole layer);
    Activation, get_activation, LeakyReLU(β), ELU(β), Maxout(k)
Initialisers (:mod:`nn.init`)
    normal normal_scaled uniform xavier_uniform xavier_normal he_uniform he_normal
    lecun_normal lecun_uniform zeros; MLP-only "network2" / "network2_large" (Nielsen order)
Losses (:mod:`nn.losses`), per sample: loss(outputs, targets) -> Value
    half_sse (½Σe²), mse, binary_cross_entropy (Nielsen's Σⱼ, stable; probabilities in [0, 1]),
    binary_cross_entropy_with_logits (raw scores), softmax_cross_entropy (one-hot or a class index),
    categorical_cross_entropy, hinge, l2_penalty (λ/2n Σw²), logsumexp, softplus
Optimisation (:mod:`nn.optim`), on the parameters' flat vector (autodiff.ParameterStore)
    SGD(params, lr, momentum=α (0 ≤ α < 1), weight_decay, clip_value=, clip_norm=),
    Adam(params, lr, betas, eps, weight_decay), AdamW(...) (as torch.optim); every optimizer has
    state_dict() / load_state_dict() (resumes bit for bit);
    clip_grad_value, clip_grad_norm, grad_norm
Training (:mod:`nn.training`, :mod:`nn.eager_engine`, :mod:`nn.compiled_engine`, :mod:`nn.metrics`)
    fit(model, X, Y, loss=, lr=/optimizer=, mode="sequential"|"batch"|"minibatch", batch_size,
        epochs, shuffle, seed, tol, target_loss, validation, metrics, callbacks, progress,
        engine="auto"|"eager"|"compiled", clip_value, clip_norm, l2) -> History
    evaluate(model, X, Y, loss); Callback, TrainingState
    History (:mod:`nn.history`, Keras-like): history.history["loss"] (one entry per epoch),
        history["accuracy"], history.initial (before training), history.plot() (matplotlib)
    progress: tqdm.auto bar in Jupyter / on a terminal, one in-place line without tqdm (:mod:`nn.progress`)
    EagerEngine, CompiledEngine, build_static_graph; accuracy, one_hot
Checkpoints (:mod:`nn.serialization`)
    save(obj, path) / load(path): state dicts (model and optimizer) as JSON, as torch.save/load
PyTorch (:mod:`nn.torch_bridge`, needs the optional torch extra)
    to_torch(model) -> torch.nn.Sequential (float64, same weights); from_torch(seq) -> MLP
Diagnostics (:mod:`nn.diagnostics`)
    layer_speeds (‖∂C/∂b^l‖, seed 001 §3.1), SpeedOfLearning callback,
    gradient_histograms, GradientHistograms callback
Data (:mod:`nn.data`, :mod:`nn.mnist`)
    xor, two_moons, circles, spirals (seeded numpy); load_mnist / mnist_arrays / read_idx (IDX,
    gzip or raw, SHA-256 checked; directory argument, $BACKPROPLAB_MNIST, or download=True into
    ~/.cache/backproplab/mnist)
"""

from . import (activations, data, diagnostics, history, init, losses, metrics, mnist, optim, progress,
               serialization, training)
from .activations import ELU, Activation, LeakyReLU, Maxout, get_activation
from .data import circles, spirals, two_moons, xor
from .divergence import DivergenceError
from .diagnostics import GradientHistograms, SpeedOfLearning, gradient_histograms, layer_speeds
from .eager_engine import EagerEngine
from .compiled_engine import CompiledEngine
from .model_graph import build_static_graph
from .layers import MLP, Layer, Neuron
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits, categorical_cross_entropy,
                     half_sse, hinge, l2_penalty, mse, softmax_cross_entropy)
from .metrics import accuracy, one_hot
from .mnist import load_mnist, mnist_arrays, read_idx
from .module import Module
from .optim import SGD, Adam, AdamW, clip_grad_norm, clip_grad_value, grad_norm
from .perceptron import Perceptron
from .serialization import load, save
from .history import History
from .torch_bridge import from_torch, to_torch
from .training import Callback, TrainingState, evaluate, fit

__all__ = [
    "Module", "Neuron", "Layer", "MLP", "Perceptron",
    "Activation", "get_activation", "LeakyReLU", "ELU", "Maxout",
    "half_sse", "mse", "binary_cross_entropy", "binary_cross_entropy_with_logits", "softmax_cross_entropy", "categorical_cross_entropy",
    "hinge", "l2_penalty",
    "SGD", "Adam", "AdamW", "clip_grad_value", "clip_grad_norm", "grad_norm",
    "fit", "evaluate", "History", "Callback", "TrainingState", "DivergenceError",
    "EagerEngine", "CompiledEngine", "build_static_graph", "accuracy", "one_hot",
    "layer_speeds", "SpeedOfLearning", "gradient_histograms", "GradientHistograms",
    "to_torch", "from_torch", "save", "load",
    "xor", "two_moons", "circles", "spirals", "load_mnist", "mnist_arrays", "read_idx",
    "activations", "data", "diagnostics", "history", "init", "losses", "metrics", "mnist", "optim",
    "progress", "serialization", "training",
]
