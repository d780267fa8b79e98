"""Claims about the null-space explorer's data: exact in float64, directions where they are said to be, bad input refused."""

import doctest
import json

import numpy as np
import pytest

import nninv
from nninv_book import explorer


@pytest.fixture(scope="module")
def layer_and_prior():
    """A sigmoid layer on 16-pixel (4 x 4) images with 3 outputs, and a prior fitted to random images."""
    rng = np.random.default_rng(1)
    layer = nninv.DenseInverse(rng.normal(size=(16, 3)), rng.normal(size=3), "sigmoid")
    prior = nninv.GaussianPrior.fit(rng.random((200, 16)) * np.linspace(0.2, 1.0, 16))
    return layer, prior


@pytest.fixture(scope="module")
def data(layer_and_prior):
    layer, prior = layer_and_prior
    images = np.random.default_rng(2).random((2, 16))
    return explorer.explorer_data(layer, prior, images, [4, 9], n_directions=3, spread=2.0)


def directions(data, mode):
    entry = next(entry for entry in data["modes"] if entry["name"] == mode)
    return explorer.decode(entry["directions"], (len(entry["scales"]), data["n_in"])), np.asarray(entry["scales"])


def test_float64_arrays_cross_into_the_page_exactly():
    values = np.random.default_rng(3).normal(size=(5, 7)) * 10.0 ** np.arange(-3, 4)
    assert np.array_equal(explorer.decode(explorer.encode(values), values.shape), values)


def test_the_data_is_plain_json_that_reads_back_the_same(data):
    assert json.loads(json.dumps(data)) == data


def test_each_start_is_the_exact_gaussian_preimage_of_its_image(layer_and_prior, data):
    layer, prior = layer_and_prior
    images = np.random.default_rng(2).random((2, 16))
    preimages = layer.gaussian(layer.forward(images), prior)
    for digit, image in enumerate(images):
        assert np.array_equal(explorer.decode(data["digits"][digit]["start"]), preimages[digit])
        assert np.max(np.abs(explorer.outputs(data, digit, "null", np.zeros(3)) - layer.forward(image))) < 1e-12
    assert [digit["label"] for digit in data["digits"]] == [4, 9]


def test_null_space_directions_are_orthonormal_and_annihilated_by_W(layer_and_prior, data):
    layer, _ = layer_and_prior
    null, _ = directions(data, "null")
    assert np.max(np.abs(null @ null.T - np.eye(3))) < 1e-12
    assert np.max(np.abs(null @ layer.W)) < 1e-12


def test_null_space_directions_are_the_priors_leading_ones_there(layer_and_prior, data):
    layer, prior = layer_and_prior
    null, scales = directions(data, "null")
    projector = layer.null_space @ layer.null_space.T
    leading = np.sort(np.linalg.eigvalsh(projector @ prior.cov @ projector))[::-1][:3]
    assert scales == pytest.approx(np.sqrt(leading), rel=1e-10)
    assert np.diag(null @ prior.cov @ null.T) == pytest.approx(scales**2, rel=1e-10)


def test_moving_along_the_null_space_keeps_the_outputs_and_along_the_row_space_does_not(data):
    ends = np.full(3, data["spread"])
    for digit in range(2):
        start = explorer.outputs(data, digit, "null", np.zeros(3))
        assert np.max(np.abs(explorer.outputs(data, digit, "null", ends) - start)) < 1e-12
        assert np.max(np.abs(explorer.outputs(data, digit, "row", ends) - start)) > 1e-3
        assert explorer.pixel_change(data, digit, "null", 0) > 0


def test_row_space_directions_lie_in_the_span_of_W(layer_and_prior, data):
    layer, _ = layer_and_prior
    row, _ = directions(data, "row")
    assert np.max(np.abs(row @ layer.null_space)) < 1e-12


def test_a_layer_the_page_cannot_compute_or_draw_is_refused_by_name(layer_and_prior):
    _, prior = layer_and_prior
    rng = np.random.default_rng(4)
    tanh = nninv.DenseInverse(rng.normal(size=(16, 3)), np.zeros(3), "tanh", name="hidden")
    with pytest.raises(ValueError, match="layer 'hidden' has activation 'tanh'"):
        explorer.explorer_data(tanh, prior, rng.random((1, 16)), [0])
    oblong = nninv.DenseInverse(rng.normal(size=(15, 3)), np.zeros(3), "sigmoid", name="oblong")
    with pytest.raises(ValueError, match="layer 'oblong' has 15 inputs"):
        explorer.explorer_data(oblong, nninv.GaussianPrior(np.zeros(15), np.eye(15)), rng.random((1, 15)), [0])


@pytest.mark.parametrize(
    "keywords, match",
    [({"n_directions": 0}, "n_directions must be between 1 and 3"),
     ({"n_directions": 4}, "n_directions must be between 1 and 3"),
     ({"spread": 0.0}, "spread must be a positive number"),
     ({"spread": float("nan")}, "spread must be a positive number"),
     ({"labels": [1, 2]}, "1 images but 2 labels")],
)
def test_bad_settings_are_refused_naming_what_to_change(layer_and_prior, keywords, match):
    layer, prior = layer_and_prior
    arguments = {"labels": [0], "n_directions": 3, **keywords}
    with pytest.raises(ValueError, match=match):
        explorer.explorer_data(layer, prior, np.zeros((1, 16)), **arguments)


def test_positions_and_modes_the_page_does_not_have_are_refused(data):
    with pytest.raises(ValueError, match="mode must be one of"):
        explorer.outputs(data, 0, "diagonal", np.zeros(3))
    with pytest.raises(ValueError, match="one value per slider"):
        explorer.outputs(data, 0, "null", np.zeros(2))


def test_the_element_inlines_the_data_and_carries_the_hooks_and_a_note_for_print(data):
    page = explorer.element(data).data
    assert page.startswith('<div class="nullspace-explorer">')
    payload = page.split('class="explorer-data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(payload) == data
    assert 'class="explorer-print-note"' in page


def test_every_example_in_the_module_runs_as_written():
    failed, attempted = doctest.testmod(explorer, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failed == 0
