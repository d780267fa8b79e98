"""Claims about the process environment the book sets before numpy and TensorFlow load."""

import os
import subprocess
import sys

from nninv_book.runtime import ENVIRONMENT

BLAS_THREADS = """
import nninv_book  # first, as every chapter does
import numpy, scipy.linalg
from threadpoolctl import threadpool_info
print(sorted({library["num_threads"] for library in threadpool_info() if library["user_api"] in ("blas", "openmp")}))
"""


def without_the_book_settings() -> dict:
    """This process's environment less every variable the book sets, as a fresh shell would have it."""
    return {key: value for key, value in os.environ.items() if key not in ENVIRONMENT}


def test_importing_the_book_first_gives_numpy_and_scipy_one_blas_thread():
    # two chapters run side by side: a second BLAS thread in each would spin waiting for a core
    threads = subprocess.run([sys.executable, "-c", BLAS_THREADS], capture_output=True, text=True, check=True,
                             env=without_the_book_settings()).stdout
    assert threads.strip() == "[1]"


def test_a_thread_count_the_user_set_is_left_alone():
    seen = subprocess.run([sys.executable, "-c", "import nninv_book, os; print(os.environ['OPENBLAS_NUM_THREADS'])"],
                          capture_output=True, text=True, check=True,
                          env=without_the_book_settings() | {"OPENBLAS_NUM_THREADS": "3"}).stdout
    assert seen.strip() == "3"


def test_tensorflow_loads_after_the_book_without_a_word_on_standard_error():
    # its C++ core announces oneDNN's kernels on file descriptor 2 before any log level applies
    loaded = subprocess.run([sys.executable, "-c", "import nninv_book, tensorflow; print(tensorflow.__loader__.name)"],
                            capture_output=True, text=True, check=True, env=without_the_book_settings())
    assert (loaded.stdout.strip(), loaded.stderr) == ("tensorflow", "")
