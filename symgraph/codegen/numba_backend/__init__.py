"""The Numba backend: fused element-wise kernels (and their sums, means, maxima and minima over all,
trailing or leading axes) run as compiled Numba loops (fused.py, kernels.py, leading.py), and a softmax,
log_softmax or logsumexp over trailing axes as a row loop where that beats NumPy (rows.py); every other
op is lowered as the NumPy backend lowers it.

Options (`sg.backend("numba", ...)`):

- `tiered` (False): compile the kernels in a background thread while the NumPy code serves the calls,
  switching to each kernel when it is ready; otherwise `sg.function` compiles them before it returns
  (for C-contiguous operands; other layouts when first seen);
- `parallel` (True): run a kernel's outer loop on all cores (`numba.prange`) when its estimated work pays
  for waking the threads (fused.py, PARALLEL_MIN_NANOSECONDS), serially below that or with one Numba
  thread (`NUMBA_NUM_THREADS=1`);
- `fastmath` (False): let LLVM reorder floating-point arithmetic (results then differ from NumPy's);
- `min_elements` (None): the size from which a kernel runs on Numba; by default, where its estimated
  NumPy time reaches about 20 us (smaller calls keep the NumPy code, without Numba's call overhead).

Numba's OpenMP threads (GNU libgomp) busy-wait after each parallel loop (libgomp's default of 300,000
spins), and on a machine with few cores that stalls whatever runs next on threads of its own: on two
cores a 200x200 matrix product right after a 16K-element parallel kernel took 8 ms, after the serial
kernel 0.2 ms (OpenBLAS's threads waiting for a core). Unless
the environment sets OMP_WAIT_POLICY or GOMP_SPINCOUNT, importing this backend sets GOMP_SPINCOUNT=0 so
the threads sleep as soon as a loop ends; it applies when libgomp is first loaded, which Numba does at
its first parallel loop (a process that ran one before keeps the spinning).

Needs the optional dependency numba (`pip install 'symgraph[numba]'`).

Example:
    >>> import symgraph as sg
    >>> sg.backend("numba", parallel=False)
    sg.backend('numba', tiered=False, parallel=False, fastmath=False, min_elements=None)
"""
import os


def _idle_threads_sleep():
    """Make libgomp's threads sleep between parallel loops unless the user chose a wait policy (see above)."""
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", "0")


_idle_threads_sleep()

import numba  # noqa: E402,F401  (a missing numba makes sg.backend("numba") raise BackendUnavailableError)

from ..backend import Backend  # noqa: E402
from ..numpy_backend import BACKEND as NUMPY_BACKEND  # noqa: E402

BACKEND = Backend("numba", parent=NUMPY_BACKEND,
                  options={"tiered": False, "parallel": True, "fastmath": False, "min_elements": None})

from . import fused  # noqa: E402,F401
