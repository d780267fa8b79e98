"""The process environment TensorFlow and Keras read at import: set once, before either loads.

``TF_CPP_MIN_LOG_LEVEL=3`` silences TensorFlow's C++ log lines and
``TF_ENABLE_ONEDNN_OPTS=0`` turns off the oneDNN kernels, whose notice cannot be
silenced otherwise and whose reordered sums change results from run to run.
``TF_NUM_INTRAOP_THREADS=1`` and ``TF_NUM_INTEROP_THREADS=1`` run every
operation on one thread: TensorFlow otherwise splits its sums over as many
threads as the machine has cores, so the same seed trained other weights on
one core than on two (tests/test_models.py shows it), and ``make`` runs two
chapters side by side anyway. A value the user has already set is left alone.
"""

import os

ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "KERAS_BACKEND": "tensorflow",
}

for _key, _value in ENVIRONMENT.items():
    os.environ.setdefault(_key, _value)
