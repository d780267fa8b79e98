"""Claims about the book's shared set-up: the standard data split, and preimages under the predicted class's prior."""

import numpy as np
import pytest

import nninv
from nninv_book.priors import fit_class_gaussians, under_predicted_class
from nninv_book.standard import standard_data


@pytest.fixture(scope="module")
def split():
    return standard_data(judge_reference_size=10000, seed=0)


def test_the_standard_split_is_disjoint_covers_the_training_images_and_gives_float64_inputs(split):
    assert not np.intersect1d(split.fit_rows, split.reference_rows).size
    assert len(split.fit_rows) + len(split.reference_rows) == len(split.x_train)
    assert len(split.reference_rows) == 10000
    assert split.x_train.dtype == split.x_test.dtype == np.float64
    assert 0 <= split.x_fit.min() and split.x_fit.max() <= 1
    assert np.array_equal(split.labels_fit, split.labels_train[split.fit_rows])
    assert split.judge(k=3).reference_size == 10000


def test_the_same_seed_gives_the_same_split_and_another_seed_another(split):
    assert np.array_equal(standard_data(10000, 0).fit_rows, split.fit_rows)
    assert not np.array_equal(standard_data(10000, 1).fit_rows, split.fit_rows)


def test_each_output_is_inverted_under_the_prior_of_its_predicted_class_exactly():
    rng = np.random.default_rng(0)
    images, labels = rng.uniform(0, 1, (400, 30)), np.repeat(np.arange(10), 40)
    priors = fit_class_gaussians(images, labels)
    layer = nninv.DenseInverse(rng.standard_normal((30, 10)), np.zeros(10), "sigmoid")
    y = layer.forward(images[:25])
    x = under_predicted_class(layer.gaussian, y, priors)
    assert x.shape == (25, 30) and np.max(np.abs(layer.forward(x) - y)) < 1e-10
    predicted = y.argmax(axis=1)
    one = int(np.flatnonzero(predicted == predicted[0])[0])
    assert np.allclose(x[one], layer.gaussian(y[one:one + 1], priors[predicted[0]])[0])
