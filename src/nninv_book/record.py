"""Recording a chapter's results for its prose: several values glued at once, as plain Python values.

``record(name=value, ...)`` calls ``myst_nb.glue(name, value, display=False)``
for each, after turning numpy scalars into Python ones (numpy 2 scalars print
as ``np.float64(...)`` and break the prose's formatting) and refusing a NaN,
an infinity or a value of another type, naming it.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from myst_nb import glue


def plain(name: str, value):
    """``value`` as a Python ``bool``, ``int``, ``float`` or ``str``, or a clear error naming ``name``."""
    if isinstance(value, (bool, np.bool_, str)):
        return value if isinstance(value, str) else bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"result {name} is {value}: a chapter records only finite numbers")
        return value
    raise TypeError(f"result {name} is a {type(value).__name__}; record numbers, booleans or text")


def record(**values) -> None:
    """Glue each keyword as a result of the chapter (not displayed where it is computed)."""
    for name, value in values.items():
        glue(name, plain(name, value), display=False)
