"""backproplab's `nn`: neurons, layers, MLPs, losses, optimizers and training, all built
from `autodiff.Value` (PyTorch-flavoured, small modules with one job each).

Public API
----------
Models (:mod:`nn.module`, :mod:`nn.layers`, :mod:`nn.perceptron`)
    Module            parameters(), named_parameters() ('layers.0.neurons.1.w.3'), zero_grad(),
                      state_dict() / load_state_dict(), parameter_vector() / set_parameter_vector()
    Neuron(nin, activation="sigmoid", init=..., bias=True, weights=None, rng/seed, name=None)
    Layer(nin, nout, activation, init=..., weights=(nout×nin), biases=(nout), rng/seed)
    MLP(nin, [sizes], activation=..., output_activation=..., init=..., weights=, biases=, rng/seed)
                      model(x) -> list of output Values; predict(X); get_weights()/set_weights()
    Perceptron(nin, activation="step"|"sign", lr=η); .fit(X, d, epochs, threshold=γ): w ← w + η(d − y)x
Activations (:mod:`nn.activations`)
    sigmoid tanh relu leaky_relu elu sign step linear maxout(k), softmax (whole layer);
    Activation, get_activation, LeakyReLU(β), ELU(β), Maxout(k)
Initialisers (:mod:`nn.init`)
    normal normal_scaled uniform xavier_uniform xavier_normal he_uniform he_normal
    lecun_normal lecun_uniform zeros; MLP-only "network2" / "network2_large" (Nielsen order)
Losses (:mod:`nn.losses`), per sample: loss(outputs, targets) -> Value
    half_sse (½Σe²), mse, binary_cross_entropy (Nielsen's Σⱼ, stable), softmax_cross_entropy,
    categorical_cross_entropy, hinge, l2_penalty (λ/2n Σw²), logsumexp, softplus
Optimisation (:mod:`nn.optim`)
    SGD(params, lr, momentum=α (0 ≤ α < 1), weight_decay); clip_grad_value, clip_grad_norm, grad_norm
Training (:mod:`nn.training`, :mod:`nn.engines`, :mod:`nn.metrics`)
    fit(model, X, Y, loss=, lr=/optimizer=, mode="sequential"|"batch"|"minibatch", batch_size,
        epochs, shuffle, seed, tol, target_loss, validation, metrics, callbacks, progress,
        engine="auto"|"eager"|"compiled", clip_value, clip_norm, l2) -> History
    evaluate(model, X, Y, loss); Callback, TrainingState, History
    EagerEngine, build_static_graph, register_engine (engine="compiled" = CompiledEngine);
    on the compiled path SGD runs on flat arrays (nn.fastpath.ArrayLoop); accuracy, one_hot
Diagnostics (:mod:`nn.diagnostics`)
    layer_speeds (‖∂C/∂b^l‖, seed 001 §3.1), SpeedOfLearning callback,
    gradient_histograms, GradientHistograms callback
Data (:mod:`nn.data`, :mod:`nn.mnist`)
    xor, two_moons, circles, spirals (seeded numpy); load_mnist / mnist_arrays / read_idx (IDX,
    gzip or raw, SHA-256 checked; directory argument, $BACKPROPLAB_MNIST, or download=True into
    ~/.cache/backproplab/mnist)
"""

from . import activations, data, diagnostics, engines, fastpath, init, losses, metrics, mnist, optim, training
from .activations import ELU, Activation, LeakyReLU, Maxout, get_activation
from .data import circles, spirals, two_moons, xor
from .divergence import DivergenceError
from .diagnostics import GradientHistograms, SpeedOfLearning, gradient_histograms, layer_speeds
from .engines import EagerEngine, build_static_graph, register_engine
from .compiled_engine import CompiledEngine
from .layers import MLP, Layer, Neuron
from .losses import (binary_cross_entropy, categorical_cross_entropy, half_sse, hinge, l2_penalty, mse,
                     softmax_cross_entropy)
from .metrics import accuracy, one_hot
from .mnist import load_mnist, mnist_arrays, read_idx
from .module import Module
from .optim import SGD, clip_grad_norm, clip_grad_value, grad_norm
from .perceptron import Perceptron
from .training import Callback, History, TrainingState, evaluate, fit

register_engine("compiled", CompiledEngine)

__all__ = [
    "Module", "Neuron", "Layer", "MLP", "Perceptron",
    "Activation", "get_activation", "LeakyReLU", "ELU", "Maxout",
    "half_sse", "mse", "binary_cross_entropy", "softmax_cross_entropy", "categorical_cross_entropy",
    "hinge", "l2_penalty",
    "SGD", "clip_grad_value", "clip_grad_norm", "grad_norm",
    "fit", "evaluate", "History", "Callback", "TrainingState", "DivergenceError",
    "EagerEngine", "CompiledEngine", "build_static_graph", "register_engine", "accuracy", "one_hot",
    "layer_speeds", "SpeedOfLearning", "gradient_histograms", "GradientHistograms",
    "xor", "two_moons", "circles", "spirals", "load_mnist", "mnist_arrays", "read_idx",
    "activations", "data", "diagnostics", "engines", "fastpath", "init", "losses", "metrics", "mnist", "optim",
    "training",
]
