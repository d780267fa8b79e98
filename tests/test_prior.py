"""Claims about Gaussian priors: immutable, so a layer's cached gain always belongs to the prior it is given."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nninv import DenseInverse, GaussianPrior, MixturePrior


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


# A covariance need only be positive semi-definite: a sample covariance is singular where inputs never vary.


def test_a_singular_sample_covariance_is_accepted_exactly_as_fitted_with_no_shrinkage():
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, (30, 8))
    x[:, :2] = 0.0  # two inputs that never vary
    prior = GaussianPrior.fit(x, shrinkage=0.0)
    assert prior.shrinkage == 0.0 and not prior.positive_definite
    assert np.allclose(prior.cov, np.cov(x.T, bias=True), rtol=0, atol=1e-14)


@pytest.mark.parametrize("rank", [1, 3, 6])
def test_every_prior_has_a_factor_that_reproduces_its_covariance(rank):
    rng = np.random.default_rng(rank)
    root = rng.standard_normal((6, rank))
    prior = GaussianPrior(rng.standard_normal(6), root @ root.T)
    assert prior.positive_definite == (rank == 6)
    assert np.allclose(prior.factor @ prior.factor.T, prior.cov, rtol=0, atol=1e-12 * np.abs(prior.cov).max())


def test_samples_of_a_singular_prior_stay_in_its_support_and_have_its_covariance():
    rng = np.random.default_rng(5)
    root = rng.standard_normal((5, 2))
    prior = GaussianPrior(np.arange(5.0), root @ root.T)
    draws = prior.sample(40000, rng)
    outside = (draws - prior.mean) @ np.linalg.svd(root, full_matrices=True)[0][:, 2:]  # off the range of cov
    assert np.max(np.abs(outside)) < 1e-10
    assert np.allclose(np.cov(draws.T), prior.cov, atol=0.05 * np.abs(prior.cov).max())


def test_a_prior_with_no_spread_along_the_layers_weights_is_refused_by_name():
    layer = DenseInverse(np.eye(4)[:, :2], np.zeros(2), "linear", name="probe")
    flat = GaussianPrior(np.zeros(4), np.diag([1.0, 0.0, 1.0, 1.0]))  # no variance along input 1, which the layer reads
    with pytest.raises(ValueError, match=r"the prior gives \(almost\) no variance along the span of layer 'probe'"):
        layer.gaussian([1.0, 2.0], flat)


# Mixtures of Gaussians.


def random_mixture(rng, k, dim, spread=1.0):
    roots = rng.standard_normal((k, dim, dim)) / np.sqrt(dim)
    covs = roots @ roots.transpose(0, 2, 1) + 0.3 * np.eye(dim)
    return MixturePrior(rng.uniform(0.5, 2.0, k), spread * rng.standard_normal((k, dim)), covs)


def test_mixture_weights_are_normalised_and_its_arrays_read_only():
    prior = random_mixture(np.random.default_rng(6), 3, 4)
    assert prior.weights.sum() == pytest.approx(1.0) and prior.n_components == 3 and prior.dim == 4
    with pytest.raises(ValueError, match="read-only"):
        prior.weights[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        prior.components[1].cov[0, 0] = 1.0


@pytest.mark.parametrize(
    "weights, means, covs, message",
    [
        ([1.0, -1.0], np.zeros((2, 3)), np.stack([np.eye(3)] * 2), "weights must all be > 0"),
        ([1.0, 1.0], np.zeros((3, 3)), np.stack([np.eye(3)] * 2), r"means must have shape \(2, d\)"),
        ([1.0, 1.0], np.zeros((2, 3)), np.stack([np.eye(3)] * 3), r"covariances must have shape \(2, 3, 3\)"),
        ([1.0, 1.0], np.zeros((2, 3)), np.stack([np.eye(3), -np.eye(3)]), "component 1: .*not positive semi-definite"),
        ([], np.zeros((0, 3)), np.zeros((0, 3, 3)), "non-empty vector"),
    ],
)
def test_a_mixture_that_is_not_one_is_refused_by_name(weights, means, covs, message):
    with pytest.raises(ValueError, match=message):
        MixturePrior(weights, means, covs)


def test_mixture_samples_come_from_each_component_in_proportion_to_its_weight():
    rng = np.random.default_rng(7)
    prior = MixturePrior([1.0, 3.0], np.array([[-50.0, 0.0], [50.0, 0.0]]), np.stack([np.eye(2)] * 2))
    draws = prior.sample(20000, rng)
    assert np.mean(draws[:, 0] > 0) == pytest.approx(0.75, abs=0.02)


def test_samples_of_a_singular_prior_conditioned_on_an_output_are_exact():
    rng = np.random.default_rng(8)
    x = rng.uniform(0, 1, (6, 10))  # fewer images than inputs: a singular sample covariance
    prior = GaussianPrior.fit(x, shrinkage=0.0)
    layer = DenseInverse(rng.standard_normal((10, 3)), rng.uniform(-0.5, 0.5, 3), "sigmoid")
    y = layer.forward(x[:2])
    samples = layer.sample(y, 5, rng, prior=prior)
    assert np.allclose(layer.forward(samples.reshape(-1, 10)), np.repeat(y, 5, axis=0), rtol=0, atol=1e-12)


def test_huge_mixture_weights_are_normalised_without_overflow():
    from nninv import MixturePrior

    prior = MixturePrior([1e308, 1e308], np.zeros((2, 3)), np.stack([np.eye(3)] * 2))
    assert np.allclose(prior.weights, [0.5, 0.5])
