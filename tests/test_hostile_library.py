"""Hostile input to the library: every case either returns a result that is checked to be right, or is refused
with an error that names its cause (and its culprit where there is one). No case may return a wrong result
silently, hang, or fail with a raw error from numpy, scipy or Keras.

Each case is ``(claim, call, verdict)``: ``call()`` runs the library; ``verdict`` is
``Refused(error type, pattern naming the cause)`` or ``Correct(check)``, where ``check(result)`` is true of a
right result. Patterns never pin a computed number's printed digits.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from nninv import (
    DenseInverse,
    GaussianPrior,
    MixturePrior,
    NotInvertibleError,
    invert_sequential,
    logit,
    most_probable_preimage,
    nearest_preimage,
    network_forward,
    relu_most_probable_preimage,
    relu_preimage,
)
from nninv.activations import LeakyReLU
from nninv.chain import Chain
from nninv.operators import AffineLayer, Convolution


@dataclass(frozen=True)
class Refused:
    error: type
    cause: str


@dataclass(frozen=True)
class Correct:
    check: Callable[[object], bool]


def _rng(seed=0):
    return np.random.default_rng(seed)


W36 = _rng(0).standard_normal((3, 6))  # expanding: an output of size 6 is reachable only in a 3-D subspace
W44 = np.linalg.qr(_rng(1).standard_normal((4, 4)))[0] * 2.0
W62 = _rng(2).standard_normal((6, 2))


def unreachable(scale):
    """An output of the expanding layer that no input produces, of size about ``scale``."""
    direction = np.linalg.svd(W36, full_matrices=True)[2][-1]  # orthogonal to the row space of W36
    return (direction + 0.1 * (np.ones(3) @ W36)) * scale


def reachable(scale):
    return (_rng(3).standard_normal(3) * scale) @ W36


def true_relative_miss(layer, x, y):
    z = layer.preactivation(y)
    return np.linalg.norm((x @ layer.W + layer.b - z) / np.abs(z).max()) / np.linalg.norm(z / np.abs(z).max())


def layer(W, activation="linear", name="lin"):
    return DenseInverse(W, np.zeros(W.shape[1]), activation, name=name)


CASES = []


def case(claim, call, verdict):
    CASES.append(pytest.param(call, verdict, id=claim))


# 1. No false exactness at extreme scales: unreachable outputs are refused at every size, reachable ones inverted.
for scale in (1e-300, 1e-200, 1e-150, 1.0, 1e150, 1e154, 1e155, 1e156, 1e157, 1e170, 1e200, 1e300):
    for activation in ("linear", LeakyReLU(0.1)):
        name = getattr(activation, "name", activation)
        case(
            f"an_unreachable_{name}_output_of_size_{scale:g}_is_refused_as_one_the_layer_cannot_produce",
            lambda s=scale, a=activation: layer(W36, a).min_norm(unreachable(s)),
            Refused(ValueError, r"layer 'lin' .* cannot produce its given output"),
        )
        case(
            f"an_unreachable_{name}_output_of_size_{scale:g}_is_refused_through_the_network",
            lambda s=scale, a=activation: invert_sequential([layer(W36, a)], unreachable(s)),
            Refused(ValueError, r"layer 'lin' .* cannot produce its given output"),
        )
        case(
            f"the_measured_residual_of_an_unreachable_{name}_output_of_size_{scale:g}_is_its_true_one",
            lambda s=scale, a=activation: (layer(W36, a), unreachable(s)),
            Correct(lambda pair: np.isclose(
                pair[0].verify(pair[0].min_norm(pair[1], range_tol=None), pair[1], range_tol=None),
                true_relative_miss(pair[0], pair[0].min_norm(pair[1], range_tol=None), pair[1]), rtol=1e-6)
                and pair[0].range_residual(pair[1]) > 1e-3),
        )
    case(
        f"a_reachable_output_of_size_{scale:g}_has_an_exact_preimage",
        lambda s=scale: (layer(W36).min_norm(reachable(s)), reachable(s)),
        Correct(lambda pair: np.allclose(pair[0] @ W36, pair[1], rtol=1e-9, atol=0)),
    )
case("an_output_of_size_1e308_has_an_exact_preimage",
     lambda: (layer(W44).min_norm(np.array([1e308, 1.0, 1.0, 1.0])), np.array([1e308, 1.0, 1.0, 1.0])),
     Correct(lambda pair: np.allclose(pair[0] @ W44 / 1e308, pair[1] / 1e308, rtol=0, atol=1e-12)))
case("an_output_of_size_1e308_whose_preimage_overflows_is_refused_by_name",
     lambda: layer(W44 / 4).min_norm(np.array([1.7e308, 1.7e308, 1.7e308, 1.7e308])),
     Refused(ValueError, r"layer 'lin' .*overflows float64"))
case("an_infinite_output_is_refused_by_name", lambda: layer(W44).min_norm(np.array([np.inf, 1.0, 1.0, 1.0])),
     Refused(ValueError, "NaN or infinite"))

# 2. relu_preimage is scaled and measures the point it returns.
RW, RB = _rng(4).standard_normal((3, 12)) / np.sqrt(3), _rng(5).uniform(-0.1, 0.1, 12)
RX = _rng(6).standard_normal((2, 3))
for scale in (1e-200, 1e-7, 1.0, 1e7, 1e200):
    case(
        f"relu_outputs_of_size_{scale:g}_that_no_input_produces_are_refused",
        lambda s=scale: relu_preimage(RW, RB * s, _rng(7).uniform(0.5, 1.0, 12) * s),
        Refused(ValueError, "h is not an output of the ReLU layer"),
    )
    case(
        f"relu_outputs_of_size_{scale:g}_that_no_input_produces_are_never_called_unique",
        lambda s=scale: relu_preimage(RW, RB * s, _rng(7).uniform(0.5, 1.0, 12) * s, range_tol=None),
        Correct(lambda found: not found.unique and found.relative_violation > 1e-3),
    )
    case(
        f"relu_outputs_of_size_{scale:g}_are_inverted_to_their_input",
        lambda s=scale: (relu_preimage(RW * s, RB * s, np.maximum(RX @ (RW * s) + RB * s, 0)), s),
        Correct(lambda pair: np.allclose(pair[0].x[pair[0].unique], RX[pair[0].unique], rtol=1e-6, atol=1e-6)),
    )
case("relu_with_huge_weights_is_solved_scaled",
     lambda: relu_preimage(RW * 1e200, RB * 1e200, np.maximum(RX @ (RW * 1e200) + RB * 1e200, 0)),
     Correct(lambda found: np.all(found.relative_violation < 1e-6)))
case("negative_relu_outputs_are_refused", lambda: relu_preimage(RW, RB, -np.ones(12)),
     Refused(ValueError, "ReLU outputs are never negative"))

# 7. Empty batches give empty results of the right shape.
G6 = GaussianPrior(np.zeros(6), np.eye(6))
M6 = MixturePrior([1.0, 2.0], np.zeros((2, 6)), np.stack([np.eye(6)] * 2))
DEEP = [DenseInverse(_rng(8).standard_normal((6, 4)) / 2, np.zeros(4), "tanh", name="hidden"),
        DenseInverse(_rng(9).standard_normal((4, 2)) / 2, np.zeros(2), "linear", name="out")]
EMPTY = np.zeros((0, 2))
for label, call, shape in [
    ("min_norm", lambda: layer(W62).min_norm(EMPTY), (0, 6)),
    ("gaussian", lambda: layer(W62).gaussian(EMPTY, G6), (0, 6)),
    ("nearest", lambda: layer(W62).nearest(EMPTY, np.zeros(6)), (0, 6)),
    ("mixture", lambda: layer(W62).mixture(EMPTY, M6), (0, 6)),
    ("mixture_posterior", lambda: layer(W62).mixture_posterior(EMPTY, M6), (0, 2)),
    ("box_constrained", lambda: layer(W62).box_constrained(EMPTY, np.zeros(6)), (0, 6)),
    ("sample", lambda: layer(W62).sample(EMPTY, 3, _rng()), (0, 3, 6)),
    ("sample_with_a_prior", lambda: layer(W62).sample(EMPTY, 3, _rng(), prior=G6), (0, 3, 6)),
    ("range_residual", lambda: layer(W62).range_residual(EMPTY), (0,)),
    ("invert_sequential", lambda: invert_sequential(DEEP, EMPTY).x, (0, 6)),
    ("invert_sequential_with_a_prior", lambda: invert_sequential(DEEP, EMPTY, prior=G6).x, (0, 6)),
    ("most_probable_preimage", lambda: most_probable_preimage(DEEP, EMPTY, G6).x, (0, 6)),
    ("relu_preimage", lambda: relu_preimage(RW, RB, np.zeros((0, 12))).x, (0, 3)),
]:
    case(f"an_empty_batch_to_{label}_gives_an_empty_result", call,
         Correct(lambda result, shape=shape: np.shape(result) == shape))

# 8. The right cause is named.
SQ = layer(W44, name="square")
Y4 = SQ.forward(_rng(10).standard_normal(4))
case("samples_drawn_too_large_are_refused_as_too_large_not_as_ill_conditioned",
     lambda: layer(W62).sample(W62[0], 2, _rng(), scale=1e100),
     Refused(ValueError, r"layer 'lin' .*preimage is too large for float64"))
case("a_prior_whose_mean_is_far_too_large_is_refused_as_too_large",
     lambda: layer(W62).gaussian(W62[0], GaussianPrior(np.full(6, 1e200), np.eye(6))),
     Refused(ValueError, r"layer 'lin' .*preimage is too large for float64"))
case("fitting_a_prior_to_data_whose_squares_overflow_says_so",
     lambda: GaussianPrior.fit(_rng(11).standard_normal((50, 6)) * 1e200),
     Refused(ValueError, r"prior training data has entries up to .* overflows float64; rescale"))
case("fitting_a_prior_to_data_of_size_1e150_keeps_the_data_scale",
     lambda: GaussianPrior.fit(_rng(11).standard_normal((50, 3)) * 1e150),
     Correct(lambda prior: np.isfinite(prior.cov).all() and 1e299 < np.trace(prior.cov) / 3 < 1e301))
case("a_prior_fitted_to_two_rows_says_it_was_not_shrunk",
     lambda: layer(W62).gaussian(W62[0], GaussianPrior.fit(_rng(12).standard_normal((2, 6)))),
     Refused(ValueError, r"layer 'lin''s weights.*fitted with \(almost\) no shrinkage.*shrinkage=a"))
case("a_box_solver_out_of_iterations_says_so",
     lambda: layer(W62, "sigmoid").box_constrained(
         layer(W62, "sigmoid").forward(_rng(13).uniform(0, 1, 6)), np.zeros(6), max_iter=1),
     Refused(ValueError, r"layer 'lin'.*ran out of iterations \(max_iter=1"))
case("a_box_that_holds_no_preimage_says_so",
     lambda: DenseInverse(np.ones((4, 1)), np.zeros(1), "linear", name="sum").box_constrained([9.0], np.zeros(4)),
     Refused(ValueError, r"layer 'sum': no preimage inside \[0.0, 1.0\]"))

# 9. A bounded hidden layer whose least-norm activities leave its range says so and points to the prior.
READS = np.array([[1.0, 0.0], [0.1, 0.0], [0.1, 0.0], [0.1, 0.0], [0.1, 0.0], [0.0, 1.0]])
for activation, value in (("tanh", 0.9), ("sigmoid", 0.95)):
    net = [DenseInverse(_rng(14).standard_normal((12, 6)), np.zeros(6), activation, name="squash"),
           DenseInverse(READS, np.zeros(2), "linear", name="read")]
    case(f"least_norm_activities_leaving_{activation}s_range_are_refused_as_leaving_it",
         lambda net=net, v=value: invert_sequential(net, [1.3 * v, 0.0]),
         Refused(ValueError, rf"layer 'squash': the least-norm preimage of layer 'read' puts its activities outside "
                             rf"{activation}'s range.*method='gaussian'"))

# 11. Arguments of the wrong type are refused by name.
case("logit_refuses_a_clip_that_is_not_a_number", lambda: logit([0.5], clip="a"), Refused(ValueError, "clip must"))
case("leaky_relu_refuses_a_slope_that_is_not_a_number", lambda: LeakyReLU("0.2"),
     Refused(ValueError, "negative_slope must be a number"))
case("leaky_relu_refuses_a_slope_of_zero_as_relu", lambda: LeakyReLU(0.0), Refused(NotInvertibleError, "ReLU"))
case("leaky_relu_refuses_a_nan_slope", lambda: LeakyReLU(float("nan")), Refused(NotInvertibleError, "injective"))
case("an_activation_that_is_not_a_name_is_refused", lambda: DenseInverse(W44, np.zeros(4), 3),
     Refused(TypeError, "activation must be a name"))
case("a_range_tol_that_is_not_a_number_is_refused", lambda: SQ.min_norm(Y4, range_tol="tight"),
     Refused(ValueError, "range_tol must be a finite number"))
case("a_network_that_is_a_string_is_refused", lambda: invert_sequential("model", Y4),
     Refused(TypeError, "model must be a keras.Sequential"))
case("most_probable_preimage_refuses_a_model_that_is_not_layers", lambda: most_probable_preimage("model", Y4, G6),
     Refused(TypeError, "layers must be a Chain or a list of DenseInverse"))
case("a_relu_range_tol_that_is_negative_is_refused", lambda: relu_preimage(RW, RB, np.ones(12), range_tol=-1.0),
     Refused(ValueError, "range_tol must be a finite number"))
case("non_finite_network_outputs_are_refused", lambda: invert_sequential(DEEP, [np.nan, 0.0]),
     Refused(ValueError, "NaN or infinite"))
case("outputs_of_the_wrong_width_are_refused", lambda: invert_sequential(DEEP, [0.0, 0.0, 0.0]),
     Refused(ValueError, r"network output y must have shape \(n, 2\)"))


# 12. Convolutional and expanding networks: exact rows or refusals by row; hostile inputs named.
CONV = Chain([AffineLayer(Convolution((4, 4, 1), _rng(15).standard_normal((3, 3, 1, 2)), None, (1, 1), "same"),
                          LeakyReLU(0.1), name="conv"),
              DenseInverse(_rng(16).standard_normal((32, 2)), np.zeros(2), "linear", name="out")])
G16 = GaussianPrior(np.zeros(16), np.eye(16))
case("an_empty_batch_to_a_cnns_most_probable_preimage_gives_an_empty_result",
     lambda: most_probable_preimage(CONV, np.zeros((0, 2)), G16).x, Correct(lambda x: np.shape(x) == (0, 16)))
case("a_cnns_outputs_of_size_1e6_are_still_inverted_exactly_or_refused_by_row",
     lambda: most_probable_preimage(CONV, CONV.forward(_rng(17).standard_normal((3, 16)) * 1e6), G16,
                                    output_tol=1e-3, on_inexact="report"),
     Correct(lambda found: all(f"row {row}" in reason for row, reason in found.refused.items())
             and found.output_max_abs_error <= 1e-3))
case("non_finite_outputs_to_a_cnn_are_refused", lambda: most_probable_preimage(CONV, [np.inf, 0.0], G16),
     Refused(ValueError, "NaN or infinite"))
case("a_nearest_preimage_guess_with_nan_is_refused", lambda: nearest_preimage(CONV, [0.0, 0.0], np.full(16, np.nan)),
     Refused(ValueError, "x0 holds 16 NaN or infinite"))
case("a_relu_quadratic_programme_with_a_singular_prior_is_refused",
     lambda: relu_most_probable_preimage(RW, RB, np.ones(12), GaussianPrior(np.zeros(3), np.zeros((3, 3)))),
     Refused(ValueError, "prior covariance is singular"))


@pytest.mark.parametrize("call, verdict", CASES)
def test_hostile_input_is_refused_with_its_cause_or_answered_correctly(call, verdict):
    if isinstance(verdict, Refused):
        with pytest.raises(verdict.error, match=verdict.cause):
            call()
    else:
        with np.errstate(over="raise", invalid="raise"):  # a right result needs no overflow or invalid value
            result = call()
        assert verdict.check(result)


def test_the_campaign_covers_every_verdict():
    counts = Counter(type(param.values[-1]).__name__ for param in CASES + KERAS_CASES)
    assert counts["Refused"] > 30 and counts["Correct"] > 30, counts


# 10. A Keras model whose input is not a flat vector: flattened where the model flattens, otherwise refused by name.


def keras_model(input_shape, *layers):
    import nninv_book  # noqa: F401  (quiet TensorFlow first)
    import keras

    keras.utils.set_random_seed(0)
    built = [keras.Input(input_shape)]
    for kind, argument, name in layers:
        built.append(getattr(keras.layers, kind)(*argument, name=name))
    return keras.Sequential(built)


KERAS_CASES = [
    pytest.param(((28, 28), ("Dense", (10, "sigmoid"), "dense")), np.full(10, 0.5),
                 Refused(NotInvertibleError, r"layer 'dense' \(Dense\) receives inputs of shape \(28, 28\), not flat"),
                 id="a_dense_layer_on_images_is_refused_by_name_and_told_to_flatten"),
    pytest.param(((1, 20), ("Dense", (5,), "dense")), np.zeros(5),
                 Refused(NotInvertibleError, r"layer 'dense' \(Dense\) receives inputs of shape \(1, 20\)"),
                 id="a_dense_layer_on_a_row_of_one_is_refused_by_name"),
    pytest.param(((6,), ("Dense", (6,), "dense"), ("Reshape", ((2, 3),), "grid")), np.zeros((2, 3)),
                 Refused(NotInvertibleError, r"gives outputs of shape \(2, 3\), not flat vectors"),
                 id="a_model_whose_output_is_not_flat_is_refused"),
    pytest.param(((4, 5), ("Flatten", (), "flat"), ("Dense", (5, "tanh"), "dense")), "own",
                 Correct(lambda found: found.model_output_max_abs_error < 1e-5 and found.x.shape == (2, 20)),
                 id="a_model_that_flattens_its_input_is_inverted_and_checked_on_the_model"),
    pytest.param(((1, 20), ("Reshape", ((20,),), "flat"), ("Dense", (20, "tanh"), "dense")), "own",
                 Correct(lambda found: found.model_output_max_abs_error < 1e-5 and found.x.shape == (2, 20)),
                 id="a_model_that_reshapes_its_input_to_a_vector_is_inverted_and_checked_on_the_model"),
]


@pytest.mark.parametrize("definition, y, verdict", KERAS_CASES)
def test_keras_inputs_that_are_not_flat_are_flattened_or_refused_by_name(definition, y, verdict):
    model = keras_model(*definition)
    if isinstance(y, str):  # the model's own outputs on two inputs
        x = np.random.default_rng(1).standard_normal((2, *definition[0])).astype("float32") / 3
        y = np.asarray(model(x), dtype=np.float64)
    if isinstance(verdict, Refused):
        with pytest.raises(verdict.error, match=verdict.cause):
            invert_sequential(model, y)
    else:
        assert verdict.check(invert_sequential(model, y))
