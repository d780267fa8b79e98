"""The process environment TensorFlow and Keras read at import: set once, before either loads.

``TF_CPP_MIN_LOG_LEVEL=3`` silences TensorFlow's C++ log lines.
``TF_ENABLE_ONEDNN_OPTS=1`` runs Keras's float32 layers on oneDNN's kernels,
which train the book's convolutional networks faster than TensorFlow's
own (one epoch of the convolutional judge: 12 s instead of 21 s, measured
by ``benchmarks/inversion.py --training``) and, on one thread, train the
same weights on every run (that benchmark trains twice and compares;
``make verify`` compares two executions of the book).
``TF_NUM_INTRAOP_THREADS=1`` and ``TF_NUM_INTEROP_THREADS=1`` run every
operation on one thread: TensorFlow otherwise splits its sums over as many
threads as the machine has cores, so the same seed trained other weights on
one core than on two (tests/test_models.py shows it), and ``make`` runs two
chapters side by side anyway. ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS``
give numpy's and scipy's BLAS one thread too: with two chapters side by
side, each BLAS's idle threads spin while they wait for a core (a 60,000 x
784 singular value decomposition took 7.6 s alone and about 90 s beside
another chapter's). They take effect only when set before numpy loads,
which is why a chapter imports :mod:`nninv_book` first. A value the user has
already set is left alone.

TensorFlow's C++ core announces oneDNN on the process's standard error while
it loads, before any log level applies, so the first import of
``tensorflow`` after this module runs with file descriptor 2 pointed at the
null device (:class:`QuietTensorFlow`); an error it raises still reaches the
caller.
"""

import contextlib
import importlib.abc
import importlib.util
import os
import sys

ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "KERAS_BACKEND": "tensorflow",
}


@contextlib.contextmanager
def standard_error_discarded():
    """File descriptor 2 pointed at the null device, then back: C++ code writes there past ``sys.stderr``."""
    if sys.stderr is not None:  # what Python has buffered goes out before the descriptor moves
        sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    """Runs a module's own loader with standard error discarded, and hands the module back to that loader."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        with standard_error_discarded():
            self.loader.exec_module(module)


class QuietTensorFlow(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` once, the first time it is imported, and loads it with standard error discarded."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


for _key, _value in ENVIRONMENT.items():
    os.environ.setdefault(_key, _value)
if "tensorflow" not in sys.modules and not any(isinstance(finder, QuietTensorFlow) for finder in sys.meta_path):
    sys.meta_path.insert(0, QuietTensorFlow())
