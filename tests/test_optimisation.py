"""Claims about inversion by gradient descent, the book's point of comparison."""

import numpy as np
import pytest

from nninv import DenseInverse, GaussianPrior
from nninv_book.optimisation import (
    OptimisedPreimage, invert_by_gradient_descent, prior_preimage_by_optimisation, time_to_accuracy,
)


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


def small_prior():
    rng = np.random.default_rng(1)
    factor = rng.standard_normal((6, 6)) / 3
    return GaussianPrior(rng.uniform(0.3, 0.7, 6), factor @ factor.T + 0.05 * np.eye(6))


@pytest.mark.parametrize("solver", ["lbfgs", "gradient"])
def test_optimising_the_prior_energy_finds_the_gaussian_preimage(solver):
    layer, rng = small_layer()
    prior = small_prior()
    y = layer.forward(rng.uniform(0, 1, (4, 6)))
    found = prior_preimage_by_optimisation(layer, y, prior, solver=solver, tol=1e-10)
    assert found.converged and found.output_max_abs_error <= 1e-10
    assert found.x == pytest.approx(layer.gaussian(y, prior), abs=1e-7)
    assert found.time_to(1e-6) <= found.seconds and found.curve_errors[0] > 1e-6


def test_bounded_lbfgs_agrees_with_the_box_solver():
    layer, rng = small_layer()
    prior = GaussianPrior(np.full(6, 0.5), np.eye(6))
    y = layer.forward(rng.uniform(0.2, 0.8, (3, 6)))
    found = prior_preimage_by_optimisation(layer, y, prior, bounds=(0.0, 1.0), tol=1e-9)
    assert found.converged and found.x.min() >= 0 and found.x.max() <= 1
    assert found.x == pytest.approx(layer.box_constrained(y, prior.mean), abs=1e-5)


def test_constrained_solvers_refuse_what_they_cannot_take():
    layer, _ = small_layer()
    with pytest.raises(ValueError, match="solver must be"):
        prior_preimage_by_optimisation(layer, [0.5, 0.5, 0.5], small_prior(), solver="newton")
    with pytest.raises(ValueError, match="box bounds need solver='lbfgs'"):
        prior_preimage_by_optimisation(layer, [0.5, 0.5, 0.5], small_prior(), solver="gradient", bounds=(0, 1))
    with pytest.raises(ValueError, match="prior is over"):
        prior_preimage_by_optimisation(layer, [0.5, 0.5, 0.5], GaussianPrior(np.zeros(2), np.eye(2)))


def test_time_to_accuracy_is_the_first_time_the_curve_is_accurate_enough():
    assert time_to_accuracy([0.0, 1.0, 2.0], [1.0, 1e-3, 1e-7], 1e-3) == 1.0
    assert time_to_accuracy([0.0, 1.0], [1.0, 1e-3], 1e-6) == float("inf")


def test_a_plateau_restarts_adam_with_a_smaller_step_and_records_it():
    layer, rng = small_layer()
    y = layer.forward(rng.uniform(0, 1, (3, 6)))
    result = invert_by_gradient_descent([layer], y, np.zeros(6), max_steps=3000, tol=0.0, decay=1.0, patience=2,
                                        check_every=25)
    assert result.reductions > 0
    assert result.step_size(result.steps) < result.learning_rate
    assert len(result.check_seconds) == len(result.checked_steps)
