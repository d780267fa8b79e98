"""Claims about inversion by gradient descent, the book's point of comparison."""

import numpy as np
import pytest

from nninv import DenseInverse
from nninv_book.optimisation import OptimisedPreimage, invert_by_gradient_descent


def small_layer():
    rng = np.random.default_rng(0)
    return DenseInverse(rng.standard_normal((6, 3)), rng.standard_normal(3) / 4, "sigmoid"), rng


def test_gradient_descent_moves_towards_a_preimage():
    layer, rng = small_layer()
    y = layer.forward(rng.uniform(0, 1, (5, 6)))
    start = np.zeros(6)
    result = invert_by_gradient_descent([layer], y, start, max_steps=2000, tol=1e-6)
    assert result.steps <= 2000
    assert result.output_max_abs_error < 0.5 * np.max(np.abs(layer.forward(start) - y))
    assert result.output_max_abs_error == pytest.approx(np.max(np.abs(layer.forward(result.x) - y)))


def test_total_variation_needs_images():
    layer, _ = small_layer()
    with pytest.raises(ValueError, match="784 inputs"):
        invert_by_gradient_descent([layer], [0.5, 0.5, 0.5], np.zeros(6), tv=1e-3)


def test_the_error_history_is_recorded_every_check_from_the_start_to_the_last_step():
    layer, rng = small_layer()
    y = layer.forward(rng.uniform(0, 1, (4, 6)))
    start = np.zeros(6)
    result = invert_by_gradient_descent([layer], y, start, max_steps=110, tol=1e-12, check_every=25)
    assert list(result.checked_steps) == [0, 25, 50, 75, 100, 110]
    assert result.errors.shape == (6, 4)
    assert result.errors[0] == pytest.approx(np.max(np.abs(layer.forward(np.zeros((4, 6))) - y), axis=1))
    assert result.errors[-1] == pytest.approx(np.max(np.abs(layer.forward(result.x) - y), axis=1))
    assert result.errors[-1].max() == result.output_max_abs_error


def test_descent_stops_at_the_first_check_within_tolerance_and_reports_its_set_up_time_apart():
    layer, rng = small_layer()
    y = layer.forward(rng.uniform(0, 1, (3, 6)))
    result = invert_by_gradient_descent([layer], y, np.zeros(6), max_steps=20000, tol=1e-3, check_every=10)
    assert result.converged and result.steps < 20000
    assert result.errors[-1].max() <= 1e-3 < result.errors[-2].max()
    assert 0 < result.trace_seconds < result.seconds
    assert result.steps_seconds == pytest.approx(result.seconds - result.trace_seconds)


def test_a_constant_step_size_is_a_decay_of_one_and_other_decays_are_refused():
    layer, rng = small_layer()
    y = layer.forward(rng.uniform(0, 1, (2, 6)))
    constant = invert_by_gradient_descent([layer], y, np.zeros(6), max_steps=50, tol=0.0, decay=1.0)
    decaying = invert_by_gradient_descent([layer], y, np.zeros(6), max_steps=50, tol=0.0)
    assert constant.steps == decaying.steps == 50 and not np.array_equal(constant.x, decaying.x)
    assert constant.step_size(40) == 0.05 and decaying.step_size([0, 40]) == pytest.approx([0.05, 0.05 * 0.9995**40])
    for decay in (0.0, 1.5):
        with pytest.raises(ValueError, match=r"decay must lie in \(0, 1\]"):
            invert_by_gradient_descent([layer], y, np.zeros(6), decay=decay)
    with pytest.raises(ValueError, match="check_every must be a whole number"):
        invert_by_gradient_descent([layer], y, np.zeros(6), check_every=0)


def test_a_history_tells_its_setbacks_and_where_it_settled():
    history = OptimisedPreimage(
        np.zeros((2, 1)), 100, 1.0, 0.01, False, 0.1, np.arange(0, 101, 25),
        np.array([[1.0, 0.5], [0.01, 0.02], [0.3, 0.001], [0.03, 0.002], [0.01, 0.01]]), 0.05, 0.9995,
    )
    assert list(history.largest_errors) == [1.0, 0.02, 0.3, 0.03, 0.01]
    assert list(history.setbacks()) == [50]
    assert history.settled_step() == 100 and history.settled_step(factor=3.5) == 75
    assert history.settled_step(factor=200) == 0
