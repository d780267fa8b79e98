"""The process environment TensorFlow and Keras read at import: set once, before either loads.

``TF_CPP_MIN_LOG_LEVEL=3`` silences TensorFlow's C++ log lines and
``TF_ENABLE_ONEDNN_OPTS=0`` turns off the oneDNN kernels, whose notice cannot be
silenced otherwise and whose reordered sums change results from run to run.
A value the user has already set is left alone.
"""

import os

ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "KERAS_BACKEND": "tensorflow",
}

for _key, _value in ENVIRONMENT.items():
    os.environ.setdefault(_key, _value)
