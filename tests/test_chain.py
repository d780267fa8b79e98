"""Claims about a network as a chain of dense steps (nninv.chain) and the one place that measures results (nninv.verify)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nninv import Chain, DenseInverse, network_forward
from nninv.verify import check_against_model, relative, row_norms


def two_layers():
    rng = np.random.default_rng(0)
    return [DenseInverse(rng.standard_normal((5, 3)), np.zeros(3), "tanh", name="first"),
            DenseInverse(rng.standard_normal((3, 2)), np.zeros(2), "sigmoid", name="second")]


def test_a_chain_behaves_like_the_list_of_its_layers():
    layers = two_layers()
    chain = Chain(layers)
    assert len(chain) == 2 and list(chain) == layers and chain[0] is layers[0] and chain[-1] is layers[-1]
    assert chain[:1] == layers[:1] and chain[1:] == layers[1:] and chain[2:] == []
    assert chain == layers and (chain.n_in, chain.n_out) == (5, 2)
    x = np.random.default_rng(1).standard_normal((4, 5))
    assert np.array_equal(chain.forward(x), network_forward(layers, x))


def test_a_batch_larger_than_a_block_gets_what_each_row_gets_in_one_pass(monkeypatch):
    import nninv.chain

    layers = two_layers()
    x = np.random.default_rng(2).standard_normal((nninv.chain.FORWARD_BLOCK * 2 + 5, 5))
    blocked = network_forward(layers, x)
    monkeypatch.setattr(nninv.chain, "FORWARD_BLOCK", len(x))
    assert blocked.shape == (len(x), 2)
    assert np.allclose(blocked, network_forward(layers, x), rtol=1e-13, atol=1e-15)


def test_a_chain_whose_layers_do_not_connect_or_share_a_name_is_refused_by_name():
    first, second = two_layers()
    with pytest.raises(ValueError, match="layer 'second' gives 2 outputs but the next, 'first', takes 5"):
        Chain([second, first])
    with pytest.raises(ValueError, match=r"layer names must differ .* \['first', 'first'\]"):
        Chain([first, DenseInverse(np.eye(3), np.zeros(3), "linear", name="first")])
    with pytest.raises(TypeError, match="got an empty list"):
        Chain([])


def test_verify_refuses_an_input_that_is_not_a_preimage_naming_the_layer_and_the_cause():
    first = two_layers()[0]
    y = first.forward(np.ones(5))
    with pytest.raises(ValueError, match=r"layer 'first' .* loses its preimage|layer 'first' .*cannot produce|"
                                         r"layer 'first'.*relative residual"):
        first.verify(np.zeros(5), y)
    assert first.verify(np.zeros(5), y, range_tol=None) > 0.1


@given(st.floats(-300, 300), st.integers(1, 6))
def test_row_norms_are_exact_to_rounding_at_every_scale_float64_holds(exponent, width):
    row = np.random.default_rng(width).uniform(0.5, 1.0, width) * 10.0**exponent
    unit = row / np.abs(row).max()
    assert row_norms(row[np.newaxis])[0] == pytest.approx(np.abs(row).max() * np.linalg.norm(unit), rel=1e-14)


def test_relative_sizes_treat_nothing_out_of_nothing_as_zero_and_something_out_of_nothing_as_infinite():
    assert relative(np.array([0.0, 1.0]), np.array([0.0, 0.0])).tolist() == [0.0, float("inf")]


def test_a_model_that_computes_other_than_its_chain_is_refused_by_name():
    layers = two_layers()
    x = np.zeros((1, 5))
    output = network_forward(layers, x)
    with pytest.raises(ValueError, match="model 'probe' computes something else than the layers read from it"):
        check_against_model(lambda x: (output + 1e-3, 2.0**-24), layers, x, output, name="probe")
