"""The Numba backend: fused element-wise kernels (and their sums, means, maxima and minima) run as
compiled Numba loops; every other op is lowered as the NumPy backend lowers it.

Options (`sg.backend("numba", ...)`):

- `tiered` (False): compile the kernels in a background thread while the NumPy code serves the calls,
  switching to each kernel when it is ready; otherwise `sg.function` compiles them before it returns
  (for C-contiguous operands; other layouts when first seen);
- `parallel` (True): run a kernel's outer loop on all cores (`numba.prange`);
- `fastmath` (False): let LLVM reorder floating-point arithmetic (results then differ from NumPy's);
- `min_elements` (None): the size from which a kernel runs on Numba; by default, where its estimated
  NumPy time reaches about 20 us (smaller calls keep the NumPy code, without Numba's call overhead).

Importing the backend sets OMP_WAIT_POLICY=PASSIVE unless the environment already sets it, so that
Numba's idle OpenMP threads sleep instead of spinning against the BLAS threads of the next matrix product.

Needs the optional dependency numba (`pip install 'symgraph[numba]'`).

Example:
    >>> import symgraph as sg
    >>> sg.backend("numba", parallel=False)
    sg.backend('numba', tiered=False, parallel=False, fastmath=False, min_elements=None)
"""
import os

# Numba's OpenMP threads otherwise spin for a while after each parallel loop, taking the cores from the
# BLAS threads of the next matrix product (run_mlp ran 1.6x slower than with serial loops); the user's
# own setting wins. It must be set before Numba first loads its OpenMP library.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402,F401  (a missing numba makes sg.backend("numba") raise BackendUnavailableError)

from ..backend import Backend
from ..numpy_backend import BACKEND as NUMPY_BACKEND

BACKEND = Backend("numba", parent=NUMPY_BACKEND,
                  options={"tiered": False, "parallel": True, "fastmath": False, "min_elements": None})

from . import fused  # noqa: E402,F401
