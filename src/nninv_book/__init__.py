"""nninv_book: the code that exists for the book, apart from the inversion library ``nninv``.

MNIST built and verified offline (:mod:`~nninv_book.data`), the book's
networks trained deterministically and cached (:mod:`~nninv_book.models`,
:mod:`~nninv_book.cache`), the judge of what looks like a digit, the
optimisation and adversarial baselines, one figure style, and the notebook
and Sphinx helpers. Importing it first keeps TensorFlow quiet and gives
TensorFlow and BLAS one thread each (see :mod:`nninv_book.runtime`).
"""

from nninv_book import runtime  # noqa: F401  (must run before numpy and TensorFlow are imported)
