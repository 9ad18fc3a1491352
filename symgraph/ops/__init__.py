"""The op library: every public operation, by family. Each module holds its ops' math in one place."""
from .elemwise import *  # noqa: F401,F403
from .elemwise import __all__ as _elemwise_all  # noqa: F401
from .shape_of import shape_of  # noqa: F401
from .shape import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .creation import *  # noqa: F401,F403
from .nnet import *  # noqa: F401,F403
from .gradient_ops import *  # noqa: F401,F403
