"""Claims about recording a chapter's results."""

import numpy as np
import pytest

from nninv_book.record import plain


def test_numpy_scalars_become_plain_python_values():
    assert [type(plain("x", v)) for v in (np.float64(0.5), np.int64(3), np.bool_(True), "text")] == [float, int, bool, str]
    assert repr(plain("x", np.float64(0.25))) == "0.25"


@pytest.mark.parametrize("value", [float("nan"), np.inf, [1, 2], None])
def test_a_non_finite_or_non_scalar_result_is_refused_by_name(value):
    with pytest.raises((ValueError, TypeError), match="result accuracy"):
        plain("accuracy", value)
