"""Claims about Gaussian priors: immutable, so a layer's cached gain always belongs to the prior it is given."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nninv import DenseInverse, GaussianPrior


def random_prior(rng, dim):
    """A prior with a random mean and a well-conditioned random covariance."""
    factor = rng.standard_normal((dim, dim)) / np.sqrt(dim)
    return GaussianPrior(rng.standard_normal(dim), factor @ factor.T + 0.5 * np.eye(dim))


@pytest.mark.parametrize("attribute", ["mean", "cov", "cholesky"])
def test_prior_arrays_are_read_only_so_changing_them_in_place_raises(attribute):
    prior = random_prior(np.random.default_rng(0), 3)
    array = getattr(prior, attribute)
    with pytest.raises(ValueError, match="read-only"):
        array[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        array += 1.0


@pytest.mark.parametrize("attribute", ["mean", "cov", "cholesky", "shrinkage"])
def test_prior_attributes_cannot_be_replaced(attribute):
    prior = random_prior(np.random.default_rng(1), 3)
    with pytest.raises(AttributeError):
        setattr(prior, attribute, getattr(prior, attribute))


def test_prior_keeps_its_own_copy_of_the_arrays_it_was_given():
    rng = np.random.default_rng(2)
    mean, cov = rng.standard_normal(4), np.eye(4)
    prior = GaussianPrior(mean, cov)
    layer = DenseInverse(rng.standard_normal((4, 2)), np.zeros(2), "tanh")
    y = layer.forward(rng.standard_normal(4) / 2)
    before, original_mean = layer.gaussian(y, prior), mean.copy()
    mean += 10.0
    cov *= 4.0
    assert np.array_equal(prior.mean, original_mean) and np.array_equal(prior.cov, np.eye(4))
    assert np.array_equal(layer.gaussian(y, prior), before)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(0, 2), min_size=2, max_size=8))
def test_each_prior_gives_its_own_preimage_whatever_the_order_of_use(seed, order):
    rng = np.random.default_rng(seed)
    W, b = rng.standard_normal((6, 2)), rng.uniform(-0.5, 0.5, 2)
    priors = [random_prior(rng, 6) for _ in range(3)]
    y = DenseInverse(W, b, "sigmoid").forward(rng.standard_normal((3, 6)) / 3)
    fresh = [DenseInverse(W, b, "sigmoid").gaussian(y, prior) for prior in priors]
    shared = DenseInverse(W, b, "sigmoid")  # caches the gain of the last prior it saw
    for which in order:
        assert np.array_equal(shared.gaussian(y, priors[which]), fresh[which])


@pytest.mark.parametrize("shape", [(0, 4), (0, 2, 2), (1, 4), (4,), (5, 0)])
def test_fitting_a_prior_needs_two_rows_and_says_what_to_do_otherwise(shape):
    with pytest.raises(ValueError, match=r"at least two rows and one column, got shape .* GaussianPrior\(mean, cov\)"):
        GaussianPrior.fit(np.zeros(shape))


@pytest.mark.parametrize(
    "arguments, message",
    [((None,), "n must be a positive whole number"), ((3, np.inf), "scale must be a finite number >= 0")],
)
def test_prior_samples_refuse_a_count_or_scale_by_name(arguments, message):
    prior = random_prior(np.random.default_rng(3), 2)
    with pytest.raises(ValueError, match=message):
        prior.sample(arguments[0], np.random.default_rng(), *arguments[1:])
