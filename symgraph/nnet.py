"""`sg.nnet`: the neural-network operations in one namespace (re-exports; the ops live in symgraph.ops).

Convolution and pooling (`conv`, `conv2d`, `max_pool`, `avg_pool`), losses (`binary_crossentropy`,
`categorical_crossentropy`), `one_hot`, and the activations and normalizers a network uses (`relu`,
`sigmoid`, `softplus`, `tanh`, `softmax`, `log_softmax`). Each is also a top-level `sg.` name.

Example:
    >>> import symgraph as sg
    >>> sg.nnet.conv2d is sg.conv2d
    True
"""
from .ops.convolution import avg_pool, conv, conv2d, max_pool
from .ops.elemwise import relu, sigmoid, softplus, tanh
from .ops.nnet import binary_crossentropy, categorical_crossentropy, log_softmax, one_hot, softmax

__all__ = [
    "conv", "conv2d", "max_pool", "avg_pool", "one_hot", "binary_crossentropy", "categorical_crossentropy",
    "relu", "sigmoid", "softplus", "tanh", "softmax", "log_softmax",
]
