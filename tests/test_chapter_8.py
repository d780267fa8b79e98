"""Claims of Chapter 8, convolutional and ReLU networks, checked on its execution with small parameters."""

import pytest
from conftest import executed

from nninv_book.notebooks import glued_values


@pytest.fixture(scope="module")
def chapter_8(book):
    return glued_values(executed(book, "08_convolutional_and_relu_networks"))


def test_chapter_8_the_library_reads_the_convolutional_network_as_the_model_computes_it(chapter_8):
    assert chapter_8["cnn_chain_model_gap"] < 1e-4    # float32 round-off of the model
    assert chapter_8["cnn_chain_copy_gap"] < 1e-10    # the descent's float64 copy
    assert chapter_8["cnn_test_accuracy"] > 0.9


def test_chapter_8_every_exact_preimage_reproduces_the_logits_in_float64(chapter_8):
    assert chapter_8["cnn_output_max_abs_error"] <= 1e-9
    assert chapter_8["cnn_prior_refused"] + chapter_8["cnn_pooled_prior_refused"] < chapter_8["n_judge"]


def test_chapter_8_the_descent_and_the_decoder_are_not_preimages(chapter_8):
    assert chapter_8["cnn_mv_descent_output_max_abs_error"] > 1e-3
    assert chapter_8["cnn_decoder_output_max_abs_error"] > 1e-3


def test_chapter_8_the_class_prior_chooses_preimages_that_look_like_digits(chapter_8):
    assert chapter_8["recognised_cnn_prior"] >= 0.7
    assert chapter_8["rel_error_cnn_prior"] < chapter_8["rel_error_cnn_min_norm"]
    assert chapter_8["recognised_cnn_prior_low"] <= chapter_8["recognised_cnn_prior"]
    assert chapter_8["recognised_cnn_prior"] <= chapter_8["recognised_cnn_prior_high"]


def test_chapter_8_the_relu_networks_hidden_activity_is_reproduced(chapter_8):
    assert chapter_8["relu_lp_hidden_max_abs_error"] <= 1e-6
    assert chapter_8["relu_mlp_test_accuracy"] > 0.85
