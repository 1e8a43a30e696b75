"""OS1: an open, private, offline personal AI companion."""

import os

# OpenMP and BLAS pools one thread wide unless the user says otherwise. OS1 runs its two
# embedding models side by side on their own threads; a two-thread pool under each
# collapsed under contention on two cores (a 12 ms question encoding took 170–600 ms
# whenever anything else ran). Set before any native library loads, since OpenMP and
# OpenBLAS read it only then. llama.cpp passes its own thread count (model.threads).
os.environ.setdefault("OMP_NUM_THREADS", "1")

__version__ = "0.1.0"
