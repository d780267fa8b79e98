"""Claims of Chapter 9, convolutional and ReLU networks, checked on its execution with small parameters."""

import pytest
from conftest import executed

from nninv_book.notebooks import glued_values


@pytest.fixture(scope="module")
def chapter_9(book):
    return glued_values(executed(book, "09_convolutional_and_relu_networks"))


def test_chapter_9_the_library_reads_the_convolutional_network_as_the_model_computes_it(chapter_9):
    assert chapter_9["cnn_chain_model_gap"] < 1e-4    # float32 round-off of the model
    assert chapter_9["cnn_chain_copy_gap"] < 1e-10    # the descent's float64 copy
    assert chapter_9["cnn_test_accuracy"] > 0.9


def test_chapter_9_every_exact_preimage_reproduces_the_logits_in_float64(chapter_9):
    assert chapter_9["cnn_output_max_abs_error"] <= 1e-9
    assert chapter_9["cnn_prior_refused"] + chapter_9["cnn_pooled_prior_refused"] < chapter_9["n_judge"]


def test_chapter_9_the_descent_and_the_decoder_are_not_preimages(chapter_9):
    assert chapter_9["cnn_mv_descent_output_max_abs_error"] > 1e-3
    assert chapter_9["cnn_decoder_output_max_abs_error"] > 1e-3


def test_chapter_9_the_class_prior_chooses_preimages_that_look_like_digits(chapter_9):
    assert chapter_9["recognised_cnn_prior"] >= 0.7
    assert chapter_9["rel_error_cnn_prior"] < chapter_9["rel_error_cnn_min_norm"]
    assert chapter_9["recognised_cnn_prior_low"] <= chapter_9["recognised_cnn_prior"]
    assert chapter_9["recognised_cnn_prior"] <= chapter_9["recognised_cnn_prior_high"]


def test_chapter_9_the_relu_networks_hidden_activity_is_reproduced(chapter_9):
    assert chapter_9["relu_lp_hidden_max_abs_error"] <= 1e-6
    assert chapter_9["relu_mlp_test_accuracy"] > 0.85
