"""`theano.tensor.nnet` (`T.nnet`): activations, losses and `conv2d` with Theano's signatures.

`conv2d` flips the filters by default (`filter_flip=True`: true convolution, as Theano does), while
`sg.conv2d` is cross-correlation. `softmax` and `logsoftmax` of a vector return a 1-row matrix, as in Theano.

Example:
    >>> import symgraph.theano.tensor as T
    >>> x = T.dmatrix("x")
    >>> T.nnet.softmax(x).eval({x: [[0.0, 0.0]]})
    array([[0.5, 0.5]])
"""
from ...nnet import binary_crossentropy, categorical_crossentropy, sigmoid, softplus  # noqa: F401
from ...nnet import conv2d as _sg_conv2d
from ...nnet import log_softmax as _sg_log_softmax
from ...nnet import relu as _sg_relu
from ...nnet import softmax as _sg_softmax
from ...graph.basic import as_variable
from ...ops import add, clip, multiply, where

__all__ = ["sigmoid", "hard_sigmoid", "softmax", "softplus", "relu", "logsoftmax", "binary_crossentropy",
           "categorical_crossentropy", "conv2d"]


def _rows(x, op_name):
    """`x` as Theano's softmax sees it: a matrix, a vector becoming one row."""
    x = as_variable(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"T.nnet.{op_name}: expected a vector or a matrix, got {x.type}")
    return x.dimshuffle("x", 0) if x.ndim == 1 else x


def softmax(c):
    """Softmax of each row of the matrix `c`; a vector gives a 1-row matrix, as in Theano.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> v = T.dvector("v")
        >>> T.nnet.softmax(v).eval({v: [0.0, 0.0]})
        array([[0.5, 0.5]])
    """
    return _sg_softmax(_rows(c, "softmax"), axis=-1)


def logsoftmax(c):
    """Log-softmax of each row of the matrix `c`; a vector gives a 1-row matrix, as in Theano.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> m = T.dmatrix("m")
        >>> T.nnet.logsoftmax(m).eval({m: [[0.0, 0.0]]}).round(4)
        array([[-0.6931, -0.6931]])
    """
    return _sg_log_softmax(_rows(c, "logsoftmax"), axis=-1)


def relu(x, alpha=0):
    """max(x, 0); with `alpha`, the leaky form `x` where positive and `alpha * x` elsewhere.

    Example:
        >>> import symgraph.theano.tensor as T
        >>> x = T.dvector("x")
        >>> T.nnet.relu(x, alpha=0.1).eval({x: [-1.0, 2.0]})
        array([-0.1,  2. ])
    """
    if alpha == 0:
        return _sg_relu(x)
    return where(x > 0, x, multiply(alpha, x))


def hard_sigmoid(x):
    """Theano's piecewise-linear sigmoid: `clip(0.2 * x + 0.5, 0, 1)` (gradient 0.2 inside, 0 outside).

    Example:
        >>> import symgraph.theano.tensor as T
        >>> x = T.dvector("x")
        >>> T.nnet.hard_sigmoid(x).eval({x: [-3.0, 0.0, 1.0, 3.0]})
        array([0. , 0.5, 0.7, 1. ])
    """
    x = as_variable(x)
    # Python floats stay weak, so a float32 x gives a float32 result, as in Theano.
    return clip(add(multiply(x, 0.2), 0.5), 0.0, 1.0)


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid", subsample=(1, 1),
           filter_flip=True, image_shape=None, filter_dilation=(1, 1), num_groups=1):
    """Theano's 2-d convolution of `input` (N, C, H, W) with `filters` (O, C, kh, kw).

    `border_mode` is "valid", "full", "half", an int or a pair; the shape hints `input_shape`,
    `filter_shape` and `image_shape` are accepted. With `filter_flip=True` (Theano's default) the filters
    are flipped: a true convolution.

    Example:
        >>> import numpy as np
        >>> import symgraph.theano.tensor as T
        >>> x, w = T.tensor4("x"), T.tensor4("w")
        >>> y = T.nnet.conv2d(x, w)
        >>> y.eval({x: np.arange(3.0).reshape(1, 1, 1, 3), w: np.array([[[[1.0, 0.0]]]])})
        array([[[[1., 2.]]]])
    """
    if filter_flip:
        filters = filters[:, :, ::-1, ::-1]
    return _sg_conv2d(input, filters, border_mode=border_mode, subsample=subsample,
                      filter_dilation=filter_dilation, num_groups=num_groups)
