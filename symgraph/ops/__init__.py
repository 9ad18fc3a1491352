"""The op library: every public operation, by family. Each module holds its ops' math in one place."""
from . import control, convolution, creation, custom, elemwise, gradient_ops, indexing, linalg, loops, matrix, nnet, random, reduce, shape, sorting

# `sg.reduce` (the fold of loops.py) takes the name of the reductions module here, so the families are
# listed before the star imports rebind it.
_FAMILIES = (control, convolution, creation, custom, elemwise, gradient_ops, indexing, linalg, loops, matrix, nnet, random, reduce, shape, sorting)
from .control import *  # noqa: F401,F403
from .convolution import *  # noqa: F401,F403
from .creation import *  # noqa: F401,F403
from .custom import *  # noqa: F401,F403
from .elemwise import *  # noqa: F401,F403
from .gradient_ops import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .loops import *  # noqa: F401,F403
from .matrix import *  # noqa: F401,F403
from .nnet import *  # noqa: F401,F403
from .random import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .sorting import *  # noqa: F401,F403
from .shape_of import shape_of

# The public operations only: `from symgraph.ops import *` must not export the family modules
# (`sg.shape` would be a module, not NumPy's `shape`).
__all__ = ["shape_of"] + [
    name
    for module in _FAMILIES
    for name in module.__all__
]
