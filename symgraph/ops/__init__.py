"""The op library: every public operation, by family. Each module holds its ops' math in one place."""
from .elemwise import *  # noqa: F401,F403
from .elemwise import __all__ as _elemwise_all  # noqa: F401
from .shape_of import shape_of  # noqa: F401
