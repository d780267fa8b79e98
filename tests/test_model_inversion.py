"""Claims about running ART's MIFace: it reaches the goal, stays in the pixel range, and rounds continue one another."""

import nninv_book  # noqa: F401  (quiet TensorFlow first)

import logging
import subprocess
import sys
import warnings

import numpy as np
import pytest

from nninv_book import model_inversion, models


@pytest.fixture(scope="module")
def classifier():
    models.seed_everything(0)
    model = models.single_dense_layer(784, 10, learning_rate=0.01)
    kernel, bias = model.layers[0].get_weights()
    model.layers[0].set_weights([kernel * 3, bias])  # a steeper layer reaches high scores in few steps
    return model


def test_miface_reaches_the_goal_with_images_in_the_pixel_range(classifier):
    result = model_inversion.miface(classifier, np.arange(10), 0.9, round_iterations=10)
    assert result.images.shape == (10, 784)
    assert result.scores.min() >= 0.9
    assert 0 <= result.images.min() and result.images.max() <= 1
    assert result.iterations % 10 == 0 and result.seconds > 0
    scores = np.asarray(classifier(result.images.astype(np.float32)))[np.arange(10), np.arange(10)]
    assert scores == pytest.approx(result.scores, abs=1e-6)


def test_rounds_continue_one_another_exactly(classifier):
    in_rounds = model_inversion.miface(classifier, [3], 0.999999, round_iterations=5, max_iterations=20)
    at_once = model_inversion.miface(classifier, [3], 0.999999, round_iterations=20, max_iterations=20)
    assert in_rounds.iterations == at_once.iterations == 20
    assert np.array_equal(in_rounds.images, at_once.images)


def test_miface_runs_without_warnings_or_log_records(classifier, caplog):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level(logging.WARNING):
            model_inversion.miface(classifier, [0, 1], 0.5, round_iterations=2, max_iterations=4)
    assert caplog.records == []


@pytest.mark.parametrize(("arguments", "message"), [({"goal": 1.0}, "goal must be"), ({"goal": 0.5, "round_iterations": 0}, "round_iterations")])
def test_impossible_settings_are_refused(classifier, arguments, message):
    with pytest.raises(ValueError, match=message):
        model_inversion.miface(classifier, [0], **arguments)


def test_importing_art_through_the_book_writes_nothing():
    result = subprocess.run([sys.executable, "-c", "import nninv_book.model_inversion"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""


def test_miface_from_a_given_start_begins_there(classifier):
    start = np.full(784, 0.3)
    one_step = model_inversion.miface(classifier, [0, 1], 0.999999, round_iterations=1, max_iterations=1, start=start)
    from_black = model_inversion.miface(classifier, [0, 1], 0.999999, round_iterations=1, max_iterations=1)
    assert np.abs(one_step.images - start).max() < np.abs(from_black.images - start).max()
    assert 0 <= one_step.images.min() and one_step.images.max() <= 1


@pytest.mark.parametrize("start", [np.full(784, 1.5), np.zeros((3, 784))])
def test_a_start_outside_the_pixel_range_or_of_the_wrong_count_is_refused(classifier, start):
    with pytest.raises(ValueError, match="start must be"):
        model_inversion.miface(classifier, [0, 1], 0.5, start=start)
