"""Claims about the most probable exact preimage of a whole network (nninv.deep)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nninv import DenseInverse, GaussianPrior, invert_sequential, most_probable_preimage, network_forward
from nninv.activations import LeakyReLU
from nninv.deep import _Coordinates as _Chain, _start

HIDDEN = ["leaky_relu", "tanh", "sigmoid", "linear"]


def activation(name):
    return LeakyReLU(0.1) if name == "leaky_relu" else name


def contracting_network(rng, widths, hidden, last="sigmoid"):
    """Dense layers ``widths[0] -> widths[1] -> ...``, weights scaled so that activities stay moderate."""
    names = [*hidden, last]
    return [
        DenseInverse(
            rng.standard_normal((n_in, n_out)) / np.sqrt(n_in), rng.uniform(-0.1, 0.1, n_out),
            activation(name), name=f"layer_{i}",
        )
        for i, (n_in, n_out, name) in enumerate(zip(widths, widths[1:], names))
    ]


def prior_over(rng, width):
    return GaussianPrior.fit(rng.standard_normal((4 * width, width)) @ rng.uniform(0.5, 1.5, (width, width)) / width)


def mahalanobis(x, prior):
    centred = x - prior.mean
    return 0.5 * np.sum(centred * np.linalg.solve(prior.cov, centred.T).T, axis=1)


@st.composite
def networks(draw):
    """A network whose every layer contracts, with hidden activations of every kind, and a batch of inputs."""
    depth = draw(st.integers(2, 3))
    widths = [draw(st.integers(8, 14))]
    for _ in range(depth):
        widths.append(draw(st.integers(max(1, widths[-1] // 2), widths[-1] - 1)))
    hidden = draw(st.lists(st.sampled_from(HIDDEN), min_size=depth - 1, max_size=depth - 1))
    last = draw(st.sampled_from(["sigmoid", "tanh", "linear"]))
    return draw(st.integers(0, 2**32 - 1)), widths, hidden, last


@settings(max_examples=40, deadline=None)
@given(networks(), st.sampled_from(["prior_mean", "least_norm"]))
def test_every_output_of_the_network_gets_an_exact_preimage_no_less_probable_than_the_start(network, start):
    seed, widths, hidden, last = network
    rng = np.random.default_rng(seed)
    layers = contracting_network(rng, widths, hidden, last)
    prior = prior_over(rng, widths[0])
    x = prior.sample(5, rng)
    y = network_forward(layers, x)
    found = most_probable_preimage(layers, y, prior, start=start)
    assert found.output_max_abs_error <= 1e-9
    assert np.max(np.abs(network_forward(layers, found.x) - y)) <= 1e-9
    assert np.all(found.objective <= found.start_objective)
    assert found.objective == pytest.approx(mahalanobis(found.x, prior), rel=1e-6, abs=1e-9)
    for h, layer in zip(found.hidden, layers):  # the hidden activities are the ones the network computes
        assert np.allclose(h, network_forward(layers[: layers.index(layer) + 1], found.x), atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(networks())
def test_the_search_is_never_less_probable_than_the_prior_at_the_input_layer_alone(network):
    seed, widths, hidden, last = network
    rng = np.random.default_rng(seed)
    layers = contracting_network(rng, widths, hidden, last)
    prior = prior_over(rng, widths[0])
    y = network_forward(layers, prior.sample(4, rng))
    try:
        layerwise = invert_sequential(layers, y, method="layerwise_gaussian", prior=prior)
    except ValueError:  # least-norm activities outside a bounded activation's range: nothing to compare with
        return
    found = most_probable_preimage(layers, y, prior, start="least_norm")
    assert found.start_objective == pytest.approx(mahalanobis(layerwise.x, prior), rel=1e-6, abs=1e-9)
    assert np.all(found.objective <= mahalanobis(layerwise.x, prior) * (1 + 1e-9) + 1e-12)


def test_linear_networks_reach_the_closed_form_conditional_mean():
    # Linear layers compose to one linear layer, whose most probable preimage is the Gaussian's
    # conditional mean; J is then a convex quadratic of the coordinates and the search must reach it.
    rng = np.random.default_rng(0)
    layers = contracting_network(rng, [12, 7, 3], ["linear"], "linear")
    prior = prior_over(rng, 12)
    y = network_forward(layers, prior.sample(6, rng))
    found = most_probable_preimage(layers, y, prior)
    W = layers[0].W @ layers[1].W
    b = layers[0].b @ layers[1].W + layers[1].b
    closed_form = DenseInverse(W, b, "linear").gaussian(y, prior)
    assert np.allclose(found.x, closed_form, atol=1e-8)
    assert found.converged.all()


def test_steps_of_the_search_follow_the_slope_of_the_objective():
    rng = np.random.default_rng(1)
    layers = contracting_network(rng, [12, 8, 5, 2], ["tanh", "leaky_relu"])
    prior = prior_over(rng, 12)
    chain = _Chain(layers, prior, network_forward(layers, prior.sample(4, rng)), 1e-6)
    z = _start(chain, "prior_mean")
    rows = np.arange(len(z))
    _, slopes, u, feasible = chain.evaluate(z, rows)
    direction, decrease = chain.step(slopes, u)
    gradient = chain.gradient(z, rows)
    assert np.einsum("nd,nd->n", gradient, direction) == pytest.approx(-decrease, rel=1e-6)
    numerical = np.empty_like(z)
    for j in range(z.shape[1]):  # central differences
        ahead, behind = z.copy(), z.copy()
        ahead[:, j] += 1e-6
        behind[:, j] -= 1e-6
        J_ahead, J_behind = (chain.objective(*chain.evaluate(w, rows)[2:]) for w in (ahead, behind))
        numerical[:, j] = (J_ahead - J_behind) / 2e-6
    assert np.allclose(numerical, gradient, rtol=1e-5, atol=1e-6)
    assert np.all(feasible)


def test_smooth_networks_stop_where_no_exact_direction_lowers_the_objective():
    rng = np.random.default_rng(2)
    layers = contracting_network(rng, [12, 8, 5, 2], ["tanh", "sigmoid"])
    prior = prior_over(rng, 12)
    y = network_forward(layers, prior.sample(3, rng))
    found = most_probable_preimage(layers, y, prior)
    assert found.converged.all()
    chain = _Chain(layers, prior, y, 1e-6)
    hidden = [np.asarray(h) for h in found.hidden[::-1]]
    z = chain.coordinates(hidden, np.arange(3))
    for _ in range(20):  # small exact moves in every direction do not lower J beyond round-off
        moved = z + 1e-4 * rng.standard_normal(z.shape)
        assert np.all(chain.objective(*chain.evaluate(moved, np.arange(3))[2:]) >= found.objective - 1e-9)


def test_bounded_hidden_activities_stay_in_range_where_least_norm_leaves_it():
    rng = np.random.default_rng(3)
    # The last layer reads the first unit with weight 1 and five others with 0.1: the least-norm
    # activities put most of what it reads on the first unit, beyond tanh's range.
    reads = np.array([[1.0, 0.0], [0.1, 0.0], [0.1, 0.0], [0.1, 0.0], [0.1, 0.0], [0.0, 1.0]])
    layers = [
        DenseInverse(rng.standard_normal((12, 6)), rng.uniform(-0.1, 0.1, 6), "tanh", name="squash"),
        DenseInverse(reads, np.zeros(2), "linear", name="read"),
    ]
    prior = prior_over(rng, 12)
    y = network_forward(layers, prior.sample(20, rng))
    with pytest.raises(ValueError, match=r"layer 'squash': the least-norm preimage of layer 'read' puts its activities outside tanh's range.*method='gaussian'"):
        invert_sequential(layers, y)
    found = most_probable_preimage(layers, y, prior, start="least_norm")
    assert np.all(np.abs(found.hidden[0]) < 1)
    assert found.output_max_abs_error <= 1e-9
    assert np.all(found.objective <= found.start_objective)


@pytest.mark.parametrize(
    "widths, hidden, last, y, message",
    [
        ([6, 4, 2], ["leaky_relu"], "sigmoid", [0.5, 1.2], "layer 'layer_1': sigmoid outputs must lie strictly"),
        ([6, 4, 5], ["leaky_relu"], "linear", [1.0, 0.0, 0.0, 0.0, 0.0], "layer 'layer_1' .* cannot produce"),
        ([6, 3, 2], ["tanh"], "linear", [40.0, -40.0], "no activities of layer 'layer_0' inside its .* range"),
    ],
)
def test_outputs_the_network_cannot_produce_are_refused_with_the_layer_named(widths, hidden, last, y, message):
    rng = np.random.default_rng(4)
    layers = contracting_network(rng, widths, hidden, last)
    with pytest.raises(ValueError, match=message):
        most_probable_preimage(layers, y, prior_over(rng, widths[0]))


def test_hidden_layers_that_cannot_reach_every_pre_activation_have_no_coordinates_but_are_searched_in_the_input():
    rng = np.random.default_rng(5)
    layers = contracting_network(rng, [6, 4, 2], ["tanh"])
    layers[0] = DenseInverse(np.c_[layers[0].W[:, :3], layers[0].W[:, :1]], np.zeros(4), "tanh", name="flat")
    y = network_forward(layers, rng.standard_normal((2, 6)))
    prior = prior_over(rng, 6)
    with pytest.raises(ValueError, match="layer 'flat' .* has rank 3 < 4"):
        most_probable_preimage(layers, y, prior, method="coordinates")
    found = most_probable_preimage(layers, y, prior)  # "auto" searches the input instead
    assert np.abs(network_forward(layers, found.x) - y).max() <= 1e-9 and not found.refused


def test_bad_arguments_are_refused_by_name():
    rng = np.random.default_rng(6)
    layers = contracting_network(rng, [6, 4, 2], ["tanh"])
    prior = prior_over(rng, 6)
    y = network_forward(layers, rng.standard_normal((2, 6)))
    with pytest.raises(ValueError, match="start must be one of"):
        most_probable_preimage(layers, y, prior, start="somewhere")
    with pytest.raises(TypeError, match="prior must be a GaussianPrior"):
        most_probable_preimage(layers, y, "flat")
    with pytest.raises(ValueError, match="prior is over 5 inputs but the layer takes 6"):
        most_probable_preimage(layers, y, prior_over(rng, 5))


def test_one_output_gives_one_preimage_and_one_layer_is_the_closed_form():
    rng = np.random.default_rng(7)
    layers = contracting_network(rng, [6, 4, 2], ["leaky_relu"])
    prior = prior_over(rng, 6)
    y = network_forward(layers, rng.standard_normal((3, 6)))
    batch = most_probable_preimage(layers, y, prior)
    single = most_probable_preimage(layers, y[1], prior)
    assert single.x.shape == (6,) and np.allclose(single.x, batch.x[1], atol=1e-9)
    one = most_probable_preimage(layers[:1], network_forward(layers[:1], rng.standard_normal((3, 6))), prior)
    assert np.all(one.objective == one.start_objective)
