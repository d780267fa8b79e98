"""Claims about the closed-form inverse of one dense layer, checked over random shapes, ranks and activations."""

import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import linalg
from scipy.stats import multivariate_normal

from nninv import (
    DenseInverse,
    GaussianPrior,
    MixturePrior,
    NotInvertibleError,
    get_activation,
    logit,
    row_space_basis,
    row_space_projector,
)
from nninv.activations import LeakyReLU, softmax_centring

ACTIVATIONS = ["linear", "sigmoid", "tanh", "leaky_relu", "softmax"]


def random_weights(rng, n_in, n_out, rank):
    """``W`` of the given rank with singular values in [0.5, 2]: well conditioned on its row space."""
    left = np.linalg.qr(rng.standard_normal((n_in, n_in)))[0][:, :rank]
    right = np.linalg.qr(rng.standard_normal((n_out, n_out)))[0][:, :rank]
    return (left * rng.uniform(0.5, 2.0, rank)) @ right.T


@st.composite
def layers(draw, activations=ACTIVATIONS, full_column_rank=False):
    """A random layer, an input batch with moderate pre-activations, and a generator."""
    seed = draw(st.integers(0, 2**32 - 1))
    n_in = draw(st.integers(1, 24))
    n_out = draw(st.integers(1, n_in if full_column_rank else 24))
    rank = n_out if full_column_rank else draw(st.integers(0, min(n_in, n_out)))
    activation = draw(st.sampled_from(activations))
    rng = np.random.default_rng(seed)
    W = random_weights(rng, n_in, n_out, rank)
    b = rng.uniform(-0.5, 0.5, n_out)
    x = rng.uniform(-1, 1, (draw(st.integers(1, 5)), n_in)) / np.sqrt(n_in)
    return DenseInverse(W, b, activation), x, rng


def close(a, b, tol=1e-9):
    return np.max(np.abs(a - b) / (1.0 + np.abs(b)), initial=0.0) <= tol


@given(layers())
def test_min_norm_preimage_reproduces_every_reachable_output(case):
    layer, x, _ = case
    y = layer.forward(x)
    assert close(layer.forward(layer.min_norm(y)), y)


@given(layers(activations=["linear", "sigmoid", "tanh", "leaky_relu"]))
def test_min_norm_of_an_output_is_the_projection_of_its_input(case):
    layer, x, _ = case
    assert close(layer.min_norm(layer.forward(x)), x @ row_space_projector(layer.W))


@given(layers(activations=["softmax"]))
def test_softmax_preimages_ignore_the_direction_that_shifts_every_logit(case):
    layer, x, _ = case
    centred = layer.W @ softmax_centring(layer.n_out)
    assert close(layer.min_norm(layer.forward(x)), x @ row_space_projector(centred))


@given(layers(activations=["linear", "sigmoid", "tanh", "leaky_relu"], full_column_rank=True))
def test_layer_of_full_column_rank_inverts_any_output_in_the_activation_range(case):
    layer, _, rng = case
    y = layer.forward(rng.standard_normal((3, layer.n_in)))
    assert close(layer.forward(layer.min_norm(y)), y)
    assert np.all(layer.range_residual(y) < 1e-12)


@given(layers())
def test_gaussian_preimage_and_samples_are_exact_and_distinct(case):
    layer, x, rng = case
    y = layer.forward(x)
    prior = GaussianPrior.fit(rng.uniform(0, 1, (50, layer.n_in)) * rng.uniform(0, 1, layer.n_in))
    x_gauss = layer.gaussian(y, prior)
    samples = layer.sample(y, 4, rng)
    prior_samples = layer.sample(y, 4, rng, prior=prior)
    for candidate in (x_gauss, *samples.transpose(1, 0, 2), *prior_samples.transpose(1, 0, 2)):
        assert close(layer.forward(candidate), y)
    if layer.n_in > layer.rank:  # a non-trivial preimage set: the choices must differ
        assert not np.allclose(x_gauss, layer.min_norm(y))
        assert not np.allclose(samples[:, 0], samples[:, 1])


@given(layers())
def test_gaussian_preimage_is_closest_to_the_prior_mean_in_its_metric(case):
    layer, x, rng = case
    prior = GaussianPrior.fit(rng.standard_normal((40, layer.n_in)) + rng.uniform(-1, 1, layer.n_in))
    offset = layer.gaussian(layer.forward(x), prior) - prior.mean
    # Optimality on the affine preimage set: the Mahalanobis gradient is orthogonal to it.
    gradient = np.linalg.solve(prior.cov, offset.T).T
    assert np.max(np.abs(gradient @ layer.null_space), initial=0.0) < 1e-8 * (1 + np.abs(gradient).max())


def test_samples_under_a_prior_average_to_the_gaussian_preimage():
    rng = np.random.default_rng(0)
    layer = DenseInverse(random_weights(rng, 6, 2, 2), np.zeros(2), "sigmoid")
    prior = GaussianPrior.fit(rng.standard_normal((200, 6)))
    y = layer.forward(rng.standard_normal(6) / 3)
    samples = layer.sample(y, 20000, rng, prior=prior)
    assert np.max(np.abs(samples.mean(axis=0) - layer.gaussian(y, prior))) < 0.05


@given(st.integers(1, 20), st.integers(1, 20), st.data())
def test_row_space_projector_is_symmetric_idempotent_with_trace_equal_to_rank(n_in, n_out, data):
    rank = data.draw(st.integers(0, min(n_in, n_out)))
    W = random_weights(np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))), n_in, n_out, rank)
    P = row_space_projector(W)
    assert np.allclose(P, P.T, atol=1e-12)
    assert np.allclose(P @ P, P, atol=1e-12)
    assert np.trace(P) == pytest.approx(rank, abs=1e-9)


def test_rank_deficiency_is_reported_and_min_norm_stays_defined():
    rng = np.random.default_rng(1)
    layer = DenseInverse(random_weights(rng, 8, 5, 3), rng.standard_normal(5), "tanh")
    assert layer.rank == 3
    assert layer.null_space.shape == (8, 5)
    assert layer.condition_number == float("inf")
    y = layer.forward(rng.standard_normal((4, 8)) / 4)
    assert close(layer.forward(layer.min_norm(y)), y)


def test_output_outside_a_rank_deficient_layers_range_has_a_positive_residual():
    rng = np.random.default_rng(2)
    layer = DenseInverse(random_weights(rng, 3, 6, 3), np.zeros(6), "linear")
    assert layer.range_residual(rng.standard_normal(6)) > 0.1


def test_null_space_is_orthonormal_and_annihilated_by_the_weights():
    rng = np.random.default_rng(3)
    layer = DenseInverse(random_weights(rng, 12, 4, 4), np.zeros(4), "sigmoid")
    N = layer.null_space
    assert np.allclose(N.T @ N, np.eye(8), atol=1e-12)
    assert np.max(np.abs(N.T @ layer.W)) < 1e-12


def test_single_rows_keep_their_shape():
    rng = np.random.default_rng(4)
    layer = DenseInverse(random_weights(rng, 7, 3, 3), np.zeros(3), "sigmoid")
    y = layer.forward(rng.standard_normal(7) / 3)
    assert y.shape == (3,)
    assert layer.min_norm(y).shape == (7,)
    assert layer.sample(y, 5, rng).shape == (5, 7)
    assert layer.sample(np.stack([y, y]), 5, rng).shape == (2, 5, 7)


# A preimage is returned only when it is one: never a silent least-squares fit or a round-off casualty.


def offset_prior(n):
    return GaussianPrior(np.linspace(-1, 1, n), np.eye(n) + np.ones((n, n)) / n)


METHODS = {
    "min_norm": lambda layer, y, rng, **tol: layer.min_norm(y, **tol),
    "gaussian": lambda layer, y, rng, **tol: layer.gaussian(y, offset_prior(layer.n_in), **tol),
    "sample": lambda layer, y, rng, **tol: layer.sample(y, 3, rng, prior=offset_prior(layer.n_in), **tol),
    "box_constrained": lambda layer, y, rng, **tol: layer.box_constrained(y, np.zeros(layer.n_in), -1e6, 1e6, **tol),
}


def preactivation_miss(layer, x, y):
    """``||x W + b - a^{-1}(y)||`` and ``||a^{-1}(y)||`` per preimage, centred for softmax, computed from scratch."""
    centre = softmax_centring(layer.n_out) if layer.activation.name == "softmax" else np.eye(layer.n_out)
    z = layer.preactivation(y)
    miss = np.linalg.norm((np.asarray(x) @ layer.W + layer.b) @ centre - z[..., np.newaxis, :], axis=-1)
    return miss, np.linalg.norm(z, axis=-1)[..., np.newaxis]


def activation_range_sample(rng, activation, shape):
    """Outputs in the range of the activation, mostly not outputs of any particular layer."""
    if activation == "sigmoid":
        return rng.uniform(0.05, 0.95, shape)
    if activation == "tanh":
        return rng.uniform(-0.9, 0.9, shape)
    if activation == "softmax":
        return rng.dirichlet(np.ones(shape[1]), shape[0])
    return rng.standard_normal(shape)


@given(layers(), st.sampled_from(sorted(METHODS)), st.booleans())
def test_every_returned_preimage_reproduces_the_preactivation_or_is_refused(case, method, reachable):
    layer, x, rng = case
    y = layer.forward(x) if reachable else activation_range_sample(rng, layer.activation.name, (len(x), layer.n_out))
    try:
        preimage = METHODS[method](layer, y, rng)
    except ValueError as error:
        assert not reachable and "cannot produce its given output" in str(error)
        return
    candidates = preimage if method == "sample" else preimage[:, np.newaxis]
    miss, size = preactivation_miss(layer, candidates, y)
    assert np.all(miss <= 1e-6 * size + 1e-12 * (1 + np.linalg.norm(candidates, axis=-1)))


@given(layers(), st.sampled_from(sorted(METHODS)))
def test_every_preimage_method_refuses_an_output_the_layer_cannot_produce(case, method):
    layer, x, rng = case
    softmax = layer.activation.name == "softmax"  # softmax ignores the direction 1 (see nninv.activations)
    unreachable = linalg.null_space(np.vstack([layer.W, np.ones(layer.n_out)]) if softmax else layer.W)
    assume(unreachable.shape[1] > 0)  # only a layer of rank below its outputs (less one, for softmax) misses some
    z = np.log(layer.forward(x)) if softmax else layer.preactivation(layer.forward(x))
    shifted = z + 1e-3 * np.linalg.norm(z, axis=1, keepdims=True) * unreachable[:, 0]
    y = layer.activation.forward(shifted)
    with pytest.raises(ValueError, match=r"layer 'layer' .* cannot produce .*> range_tol=1e-06.*range_tol=None"):
        METHODS[method](layer, y, rng)
    accepted = METHODS[method](layer, y, rng, range_tol=None)  # the least-squares preimage, when asked for
    assert np.all(np.isfinite(accepted))
    assert np.all(layer.range_residual(y) > 1e-4)


def test_min_norm_refuses_an_output_the_layer_cannot_produce():
    rng = np.random.default_rng(8)
    expand = DenseInverse(random_weights(rng, 3, 8, 3), rng.standard_normal(8), "linear", name="expand")
    y = rng.standard_normal(8)
    with pytest.raises(ValueError, match=r"layer 'expand' \(3 -> 8, rank 3\) cannot produce its given output"):
        expand.min_norm(y)
    least_squares = expand.min_norm(y, range_tol=None)
    assert np.allclose(least_squares, (y - expand.b) @ np.linalg.pinv(expand.W))


def test_ill_conditioned_weights_refuse_a_preimage_that_round_off_has_destroyed():
    rng = np.random.default_rng(9)
    left, right = (np.linalg.qr(rng.standard_normal((10, 10)))[0] for _ in range(2))
    layer = DenseInverse((left * np.logspace(0, -14, 10)) @ right.T, np.zeros(10), "linear", name="ill")
    y = layer.forward(rng.standard_normal((5, 10)))
    with pytest.raises(ValueError, match=r"layer 'ill' .* loses its preimage to round-off.*condition number") as refusal:
        layer.min_norm(y)
    stated = float(re.search(r"condition number (\S+) on its row space", str(refusal.value)).group(1))
    assert stated == pytest.approx(layer.condition_number_on_row_space, rel=1e-2)
    assert layer.condition_number_on_row_space == pytest.approx(1e14, rel=0.05)
    accepted = layer.min_norm(y, range_tol=None)
    assert np.max(layer.verify(accepted, y, range_tol=None)) > 1e-6  # the loss is measured, not hidden


@pytest.mark.parametrize("entry", [1e308, 1e-310])
def test_weights_float64_cannot_factorise_are_refused_at_construction(entry):
    with pytest.raises(ValueError, match=r"layer 'huge' weights W cannot be factorised in float64.*rescale W"):
        DenseInverse(np.full((4, 4), entry), np.zeros(4), "linear", name="huge")


def test_zero_weights_have_rank_zero_and_preimages_only_for_the_bias_output():
    rng = np.random.default_rng(10)
    layer = DenseInverse(np.zeros((4, 3)), np.array([0.1, -0.2, 0.3]), "sigmoid", name="zero")
    y = layer.forward(rng.standard_normal((2, 4)))  # every input gives sigmoid(b)
    assert layer.rank == 0
    assert np.array_equal(layer.min_norm(y), np.zeros((2, 4)))
    assert np.array_equal(layer.gaussian(y, GaussianPrior(np.ones(4), np.eye(4))), np.ones((2, 4)))
    assert np.array_equal(layer.box_constrained(y, np.full(4, 2.0)), np.ones((2, 4)))
    assert np.allclose(layer.forward(layer.sample(y, 3, rng).reshape(6, 4)), np.repeat(y, 3, axis=0))
    with pytest.raises(ValueError, match="layer 'zero' .* cannot produce its given output"):
        layer.min_norm([0.5, 0.5, 0.5])


# Bad input gets a clear error that says what is wrong.


def sigmoid_layer():
    rng = np.random.default_rng(5)
    return DenseInverse(random_weights(rng, 6, 3, 3), np.zeros(3), "sigmoid")


def test_sigmoid_outputs_of_exactly_zero_or_one_are_counted_and_refused():
    with pytest.raises(ValueError, match=r"strictly between 0 and 1; 2 of 6 values"):
        sigmoid_layer().min_norm(np.array([[0.5, 1.0, 0.2], [0.0, 0.3, 0.4]]))


def test_refusal_names_the_layer():
    with pytest.raises(ValueError, match="layer 'layer'"):
        sigmoid_layer().preactivation(np.array([0.5, 1.5, 0.2]))


def test_logit_clips_only_when_asked():
    y = np.array([0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="clip=eps"):
        logit(y)
    assert np.all(np.isfinite(logit(y, clip=1e-7)))
    with pytest.raises(ValueError, match="clip must lie strictly between 0 and 0.5"):
        logit(y, clip=0.7)


def test_tanh_and_softmax_outputs_outside_their_range_are_refused():
    rng = np.random.default_rng(6)
    W = random_weights(rng, 5, 3, 3)
    with pytest.raises(ValueError, match="strictly between -1 and 1"):
        DenseInverse(W, np.zeros(3), "tanh").min_norm([0.2, -1.0, 0.1])
    with pytest.raises(ValueError, match="rows must sum to 1"):
        DenseInverse(W, np.zeros(3), "softmax").min_norm([0.2, 0.2, 0.2])
    with pytest.raises(ValueError, match="strictly positive"):
        DenseInverse(W, np.zeros(3), "softmax").min_norm([0.0, 0.5, 0.5])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_outputs_are_refused(bad):
    with pytest.raises(ValueError, match="NaN or infinite"):
        sigmoid_layer().min_norm([0.5, bad, 0.5])


def test_non_finite_weights_are_refused():
    W = np.ones((4, 2))
    W[1, 1] = np.nan
    with pytest.raises(ValueError, match="weights W holds 1 NaN or infinite"):
        DenseInverse(W, np.zeros(2))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda layer: layer.min_norm(np.full((2, 4), 0.5)), r"shape \(n, 3\) or \(3,\)"),
        (lambda layer: layer.forward(np.zeros((2, 2, 6))), r"shape \(n, 6\) or \(6,\)"),
        (lambda layer: DenseInverse(np.ones(6), np.zeros(3)), "non-empty 2-D matrix"),
        (lambda layer: DenseInverse(np.ones((6, 3)), np.zeros(4)), r"bias b must have shape \(3,\)"),
        (lambda layer: layer.min_norm("high"), "must be numeric"),
    ],
)
def test_wrong_shapes_and_types_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call(sigmoid_layer())


def test_sampling_needs_a_generator_and_a_positive_count():
    layer = sigmoid_layer()
    with pytest.raises(TypeError, match="numpy Generator"):
        layer.sample([0.5, 0.5, 0.5], 3, rng=42)
    with pytest.raises(ValueError, match="positive whole number"):
        layer.sample([0.5, 0.5, 0.5], 0, rng=np.random.default_rng())


def test_gaussian_without_a_prior_names_the_argument_and_the_alternative():
    with pytest.raises(TypeError, match=r"prior must be a GaussianPrior .* got NoneType; .* call min_norm"):
        sigmoid_layer().gaussian([0.5, 0.5, 0.5], None)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"n": None}, r"n \(the number of samples\) must be a positive whole number, got None"),
        ({"n": 2.5}, r"n \(the number of samples\) must be a positive whole number, got 2.5"),
        ({"n": 3, "scale": np.nan}, r"scale must be a finite number >= 0, got nan"),
        ({"n": 3, "scale": -1.0}, r"scale must be a finite number >= 0, got -1.0"),
        ({"n": 3, "prior": "flat"}, r"prior must be a GaussianPrior"),
    ],
)
def test_sampling_refuses_a_count_or_scale_that_is_not_one_by_name(arguments, message):
    with pytest.raises((TypeError, ValueError), match=message):
        sigmoid_layer().sample([0.5, 0.5, 0.5], rng=np.random.default_rng(), **arguments)


def test_activation_given_as_a_list_is_refused_by_type():
    with pytest.raises(TypeError, match=r"activation must be a name \(linear, sigmoid.*got list \['sigmoid'\]"):
        get_activation(["sigmoid"])
    with pytest.raises(TypeError, match="activation must be a name"):
        DenseInverse(np.ones((3, 2)), np.zeros(2), ["sigmoid"])


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"max_iter": 0}, r"max_iter must be a positive whole number, got 0"),
        ({"max_iter": None}, r"max_iter must be a positive whole number, got None"),
        ({"tol": 0.0}, r"tol must be a finite number > 0, got 0.0"),
        ({"tol": -1e-9}, r"tol must be a finite number > 0"),
        ({"range_tol": -1.0}, r"range_tol must be a finite number >= 0"),
    ],
)
def test_box_constrained_refuses_settings_that_cannot_find_a_preimage_by_name(arguments, message):
    layer = DenseInverse(np.ones((4, 1)), np.zeros(1), "linear")
    with pytest.raises(ValueError, match=message):
        layer.box_constrained([1.0], np.full(4, 0.5), **arguments)


@pytest.mark.parametrize("activation", ["relu", "relu6", "elu"])
def test_activations_that_cannot_be_inverted_raise(activation):
    with pytest.raises(NotInvertibleError, match=activation):
        DenseInverse(np.ones((3, 2)), np.zeros(2), activation)


def test_leaky_relu_with_zero_slope_is_relu_and_refused():
    with pytest.raises(NotInvertibleError, match="ReLU"):
        LeakyReLU(0.0)


def test_covariance_that_is_not_positive_semi_definite_is_refused_and_a_singular_one_accepted():
    with pytest.raises(ValueError, match="prior covariance is not positive semi-definite: its smallest eigenvalue is -"
                       ) as refusal:
        GaussianPrior(np.zeros(3), np.diag([1.0, -0.5, 1.0]))
    stated = float(re.search(r"smallest eigenvalue is (\S+) ", str(refusal.value)).group(1))
    assert stated == pytest.approx(-0.5, rel=1e-2)
    singular = GaussianPrior(np.zeros(3), np.diag([1.0, 0.0, 1.0]))
    assert not singular.positive_definite
    with pytest.raises(ValueError, match="no Cholesky factor; use prior.factor"):
        singular.cholesky  # noqa: B018
    with pytest.raises(ValueError, match="symmetric"):
        GaussianPrior(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        GaussianPrior(np.zeros(2), np.eye(3))


def test_prior_of_the_wrong_dimension_is_refused():
    prior = GaussianPrior(np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="prior is over 4 inputs but the layer takes 6"):
        sigmoid_layer().gaussian([0.5, 0.5, 0.5], prior)


def test_fitted_prior_is_positive_definite_even_where_inputs_never_vary():
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, (300, 10))
    x[:, :3] = 0.0  # like MNIST's border pixels
    prior = GaussianPrior.fit(x)
    assert 0 < prior.shrinkage <= 1
    assert np.all(np.linalg.eigvalsh(prior.cov) > 0)
    assert GaussianPrior.fit(x, shrinkage=0.25).shrinkage == 0.25
    with pytest.raises(ValueError, match=r"shrinkage must be 'ledoit-wolf' or a number in \[0, 1\]"):
        GaussianPrior.fit(x, shrinkage=-0.1)
    with pytest.raises(ValueError, match="does not vary"):
        GaussianPrior.fit(np.zeros((5, 3)))


@given(layers(activations=["sigmoid", "tanh", "linear"], full_column_rank=True))
def test_box_constrained_preimage_is_exact_inside_the_box_and_no_farther_than_the_input(case):
    layer, _, rng = case
    x = rng.uniform(0, 1, (4, layer.n_in))
    reference = rng.uniform(-0.5, 1.5, layer.n_in)
    boxed = layer.box_constrained(layer.forward(x), reference)
    assert close(layer.forward(boxed), layer.forward(x))
    assert boxed.min() >= 0.0 and boxed.max() <= 1.0
    # x itself is feasible, so the closest feasible point is at least as close to the reference.
    assert np.all(np.linalg.norm(boxed - reference, axis=1) <= np.linalg.norm(x - reference, axis=1) + 1e-9)


def test_box_constrained_refuses_an_output_no_input_in_the_box_produces():
    layer = DenseInverse(np.ones((4, 1)), np.zeros(1), "linear")
    with pytest.raises(ValueError, match=r"no preimage inside \[0.0, 1.0\]"):
        layer.box_constrained([10.0], np.full(4, 0.5))
    with pytest.raises(ValueError, match="lower < upper"):
        layer.box_constrained([1.0], np.full(4, 0.5), lower=1.0, upper=0.0)


def test_box_constrained_takes_one_reference_or_one_per_output_and_names_any_other_count():
    layer = DenseInverse(np.ones((4, 1)), np.zeros(1), "linear")
    y = np.array([[1.0], [2.0], [3.0]])
    shared = layer.box_constrained(y, np.full(4, 0.5))
    assert np.array_equal(layer.box_constrained(y, np.full((3, 4), 0.5)), shared)
    with pytest.raises(ValueError, match=r"one per output \(3 rows\), got 2 rows"):
        layer.box_constrained(y, np.full((2, 4), 0.5))


# The exact preimage nearest to a reference: how a learned inverse is made exact.


@given(layers(), st.booleans())
def test_nearest_preimage_is_exact_and_no_farther_from_the_reference_than_the_input(case, with_prior):
    layer, x, rng = case
    y = layer.forward(x)
    prior = random_prior(rng, layer.n_in) if with_prior else None
    reference = rng.uniform(-1, 1, (len(x), layer.n_in))
    nearest = layer.nearest(y, reference, prior)
    assert close(layer.forward(nearest), y)
    metric = np.eye(layer.n_in) if prior is None else np.linalg.inv(prior.cov)

    def distance(z):
        return np.einsum("ni,ij,nj->n", z - reference, metric, z - reference)

    assert np.all(distance(nearest) <= distance(x) * (1 + 1e-9) + 1e-12)  # x is one exact preimage among many


@given(layers(), st.booleans())
def test_nearest_preimage_moves_the_reference_orthogonally_to_the_preimage_set(case, with_prior):
    layer, x, rng = case
    prior = random_prior(rng, layer.n_in) if with_prior else None
    reference = rng.uniform(-1, 1, layer.n_in)
    step = layer.nearest(layer.forward(x), reference, prior) - reference
    gradient = step if prior is None else np.linalg.solve(prior.cov, step.T).T
    assert np.max(np.abs(gradient @ layer.null_space), initial=0.0) < 1e-8 * (1 + np.abs(gradient).max())


@given(layers())
def test_a_preimage_is_its_own_nearest_preimage_and_the_special_cases_agree(case):
    layer, x, rng = case
    y = layer.forward(x)
    prior = random_prior(rng, layer.n_in)
    exact = layer.gaussian(y, prior)
    assert close(layer.nearest(y, exact), exact)
    assert close(layer.nearest(y, prior.mean, prior), exact)
    assert close(layer.nearest(y, np.zeros(layer.n_in)), layer.min_norm(y))


def test_nearest_takes_one_reference_or_one_per_output_and_names_any_other_count():
    layer = DenseInverse(np.ones((4, 1)), np.zeros(1), "linear")
    y = np.array([[1.0], [2.0], [3.0]])
    assert np.array_equal(layer.nearest(y, np.full((3, 4), 0.5)), layer.nearest(y, np.full(4, 0.5)))
    with pytest.raises(ValueError, match=r"one per output \(3 rows\), got 2 rows"):
        layer.nearest(y, np.full((2, 4), 0.5))


def random_prior(rng, dim):
    root = rng.standard_normal((dim, dim)) / np.sqrt(dim)
    return GaussianPrior(rng.uniform(-1, 1, dim), root @ root.T + 0.3 * np.eye(dim))


# The least-squares linear decoder is the Gaussian preimage under the sample covariance.


@given(layers(activations=["linear", "sigmoid", "tanh", "leaky_relu"], full_column_rank=True), st.data())
def test_least_squares_linear_decoder_is_the_gaussian_preimage_under_the_sample_covariance(case, data):
    layer, _, rng = case
    n = data.draw(st.integers(layer.n_out + 2, 3 * layer.n_in + 3))  # n <= n_in: a singular sample covariance
    images = rng.uniform(0, 1, (n, layer.n_in))
    pre = images @ layer.W  # t = a^-1(y) - b, the layer's pre-activations less the bias
    design = np.hstack([pre, np.ones((n, 1))])
    coefficients = np.linalg.lstsq(design, images, rcond=None)[0]  # least squares with an intercept
    x = images[:3] + rng.uniform(-0.2, 0.2, (3, layer.n_in))
    y = layer.forward(x)
    decoded = np.hstack([layer.preactivation(y) - layer.b, np.ones((3, 1))]) @ coefficients
    sample = GaussianPrior.fit(images, shrinkage=0.0)
    assert close(decoded, layer.gaussian(y, sample), tol=1e-7)
    assert close(layer.forward(decoded), y, tol=1e-7)


# The conditional mean of a Gaussian mixture: exact in closed form.


def random_mixture(rng, k, dim, spread=1.0):
    roots = rng.standard_normal((k, dim, dim)) / np.sqrt(dim)
    covs = roots @ roots.transpose(0, 2, 1) + 0.3 * np.eye(dim)
    return MixturePrior(rng.uniform(0.5, 2.0, k), spread * rng.standard_normal((k, dim)), covs)


@given(layers(), st.integers(1, 5))
def test_mixture_preimage_is_exact(case, k):
    layer, x, rng = case
    y = layer.forward(x)
    prior = random_mixture(rng, k, layer.n_in, spread=3.0)
    assert close(layer.forward(layer.mixture(y, prior)), y)
    posterior = layer.mixture_posterior(y, prior)
    assert posterior.shape == (len(y), k) and np.allclose(posterior.sum(axis=1), 1.0)


@given(layers(activations=["linear", "sigmoid", "tanh"]), st.integers(1, 4))
def test_mixture_preimage_is_the_posterior_average_of_each_components_gaussian_preimage(case, k):
    layer, x, rng = case
    assume(layer.rank > 0)  # with rank 0 the output says nothing and the posterior is the prior's weights
    y = layer.forward(x)
    prior = random_mixture(rng, k, layer.n_in)
    c = (layer.preactivation(y) - layer.b) @ layer.pinv @ row_space_basis(layer.W)  # x U_r for any preimage x
    U = row_space_basis(layer.W)
    likelihood = np.stack(
        [
            weight * multivariate_normal(part.mean @ U, U.T @ part.cov @ U, allow_singular=True).pdf(c).reshape(-1)
            for weight, part in zip(prior.weights, prior.components)
        ],
        axis=1,
    )
    assume(np.all(likelihood.sum(axis=1) > 1e-250))
    posterior = likelihood / likelihood.sum(axis=1, keepdims=True)
    assert np.allclose(layer.mixture_posterior(y, prior), posterior, atol=1e-9)
    by_hand = sum(posterior[:, [j]] * layer.gaussian(y, part) for j, part in enumerate(prior.components))
    assert close(layer.mixture(y, prior), by_hand, tol=1e-8)


def test_mixture_of_one_component_is_the_gaussian_preimage():
    rng = np.random.default_rng(11)
    layer = DenseInverse(random_weights(rng, 9, 3, 3), rng.uniform(-0.5, 0.5, 3), "sigmoid")
    prior = random_prior(rng, 9)
    y = layer.forward(rng.uniform(0, 1, (4, 9)))
    mixture = MixturePrior([2.0], prior.mean[np.newaxis], prior.cov[np.newaxis])
    assert close(layer.mixture(y, mixture), layer.gaussian(y, prior), tol=1e-12)


def test_mixture_posterior_picks_the_component_an_input_was_drawn_from():
    rng = np.random.default_rng(12)
    layer = DenseInverse(random_weights(rng, 12, 4, 4), np.zeros(4), "tanh")
    means = np.stack([np.full(12, -0.2), np.zeros(12), np.full(12, 0.2)])
    prior = MixturePrior(np.ones(3), means, np.stack([0.0004 * np.eye(12)] * 3))
    drawn = np.repeat(np.arange(3), 5)
    x = means[drawn] + 0.02 * rng.standard_normal((15, 12))
    assert np.array_equal(layer.mixture_posterior(layer.forward(x), prior).argmax(axis=1), drawn)


def test_each_prior_type_is_sent_to_its_own_method_with_a_message_that_names_it():
    rng = np.random.default_rng(13)
    layer = DenseInverse(random_weights(rng, 5, 2, 2), np.zeros(2), "sigmoid")
    mixture, gaussian = random_mixture(rng, 2, 5), random_prior(rng, 5)
    with pytest.raises(TypeError, match=r"got MixturePrior; for a MixturePrior call mixture\(y, prior\)"):
        layer.gaussian([0.5, 0.5], mixture)
    with pytest.raises(TypeError, match=r"got MixturePrior; for a MixturePrior call mixture\(y, prior\)"):
        layer.nearest([0.5, 0.5], np.zeros(5), mixture)
    with pytest.raises(TypeError, match=r"must be a MixturePrior .* got GaussianPrior; .* call gaussian"):
        layer.mixture([0.5, 0.5], gaussian)
    with pytest.raises(ValueError, match="prior is over 5 inputs but the layer takes 6"):
        DenseInverse(np.ones((6, 2)), np.zeros(2)).mixture([0.5, 0.5], mixture)


def test_a_mixture_component_with_no_spread_along_the_weights_is_refused_by_index():
    layer = DenseInverse(np.eye(3)[:, :1], np.zeros(1), "linear")
    covs = np.stack([np.eye(3), np.diag([0.0, 1.0, 1.0])])
    with pytest.raises(ValueError, match=r"mixture component 1 gives \(almost\) no variance"):
        layer.mixture([0.3], MixturePrior([1.0, 1.0], np.zeros((2, 3)), covs))


def test_a_layer_that_sees_nothing_leaves_the_mixture_as_it_was():
    layer = DenseInverse(np.zeros((3, 2)), np.array([0.1, -0.1]), "sigmoid")
    prior = MixturePrior([1.0, 3.0], np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), np.stack([np.eye(3)] * 2))
    y = layer.forward(np.zeros(3))
    assert np.allclose(layer.mixture_posterior(y, prior), [0.25, 0.75])
    assert np.allclose(layer.mixture(y, prior), [0.25, 0.75, 0.0])


def test_a_preimage_float64_cannot_reproduce_to_working_precision_is_refused_not_called_exact():
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    V, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    layer = DenseInverse(U @ np.diag([1, 1e-4, 1e-9, 1e-14]) @ V.T, np.zeros(4), "linear")
    y = rng.standard_normal(4)
    with pytest.raises(ValueError, match="loses its preimage to round-off"):
        layer.min_norm(y)
    x = layer.min_norm(y, range_tol=None)
    assert np.max(np.abs(layer.forward(x) - y)) > 1e-8  # what the refusal protected against


def test_the_layer_keeps_its_own_read_only_copy_of_the_weights():
    rng = np.random.default_rng(1)
    W, b = rng.standard_normal((6, 3)), rng.standard_normal(3)
    layer = DenseInverse(W, b, "softmax")
    y = layer.forward(rng.standard_normal((2, 6)))
    W *= 2
    b[:] = 5.0
    assert np.max(np.abs(layer.forward(layer.min_norm(y)) - y)) < 1e-12
    with pytest.raises(ValueError, match="read-only"):
        layer.W[0, 0] = 1.0


def test_complex_weights_and_a_non_numeric_box_bound_are_refused_by_name():
    with pytest.raises(ValueError, match="weights W is complex"):
        DenseInverse(np.ones((3, 2)) + 1j, np.zeros(2))
    layer = DenseInverse(np.eye(3)[:, :2], np.zeros(2), "sigmoid")
    with pytest.raises(ValueError, match="lower bound must be a number"):
        layer.box_constrained(np.full(2, 0.5), np.full(3, 0.5), lower="0")


def test_box_constrained_does_not_oscillate_between_opposite_faces_of_the_box():
    layer = DenseInverse(np.array([[1.11265743]]), np.array([0.41318156]), "linear")
    x = np.array([[0.4998575]])
    boxed = layer.box_constrained(layer.forward(x), np.array([1.38967588]))
    assert np.allclose(boxed, x, atol=1e-12)
