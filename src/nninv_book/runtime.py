"""The process environment TensorFlow and Keras read at import: set once, before either loads.

``TF_CPP_MIN_LOG_LEVEL=3`` silences TensorFlow's C++ log lines and
``TF_ENABLE_ONEDNN_OPTS=0`` turns off the oneDNN kernels, whose notice cannot be
silenced otherwise and whose reordered sums change results from run to run.
``TF_NUM_INTRAOP_THREADS=1`` and ``TF_NUM_INTEROP_THREADS=1`` run every
operation on one thread: TensorFlow otherwise splits its sums over as many
threads as the machine has cores, so the same seed trained other weights on
one core than on two (tests/test_models.py shows it), and ``make`` runs two
chapters side by side anyway. ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``
and ``MKL_NUM_THREADS`` give numpy's and scipy's BLAS one thread too: with
two chapters side by side, each BLAS's idle threads spin while they wait for
a core (a 60,000 x 784 singular value decomposition took 7.6 s alone and
about 90 s beside another chapter's). They take effect only when set before
numpy loads, which is why a chapter imports :mod:`nninv_book` first. A value
the user has already set is left alone.
"""

import os

ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "KERAS_BACKEND": "tensorflow",
}

for _key, _value in ENVIRONMENT.items():
    os.environ.setdefault(_key, _value)
