"""The model-inversion attack users run in practice: MIFace of the Adversarial Robustness Toolbox (ART).

MIFace implements the attack of Fredrikson, Jha and Ristenpart (2015): gradient
ascent on one class's score, from a start image, with the pixels clipped to
their range after every step. :func:`miface` runs it on a Keras classifier
wrapped as ART's ``TensorFlowV2Classifier``, from black images or from a
given start (for example a prior's mean), in rounds of a fixed number of steps
until every target score has reached a goal.

ART 1.20's own stopping rule keeps a class going while ``1 - score <=
threshold`` or while its cost has not improved on its recent window; with the
default ``threshold=0.99`` a class whose score is still below 0.01 after the
first step stops there. :func:`miface` sets ``threshold=1.0``, which never stops a class,
and stops all of them itself once every target score reaches the goal. The
rounds continue one another exactly: each step depends only on the current
images.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from dataclasses import dataclass

import numpy as np

from nninv_book import runtime  # noqa: F401  (quiet TensorFlow before it loads)

with warnings.catch_warnings():
    # ART warns at import that PyTorch is missing, which only its PyTorch tools need; the book uses none.
    warnings.filterwarnings("ignore", message="PyTorch not found")
    # In a notebook without ipywidgets, the tqdm.auto that ART imports warns that it falls back to text
    # progress bars; MIFace runs here with verbose=False and draws none.
    warnings.filterwarnings("ignore", message="IProgress not found")
    from art.attacks.inference.model_inversion import MIFace
    from art.estimators.classification import TensorFlowV2Classifier


@contextlib.contextmanager
def _quiet_tensorflow_logger():
    """TensorFlow's Python logger at ERROR meanwhile.

    ART's class gradients ask a persistent ``GradientTape`` for its gradient
    inside the tape's context, which TensorFlow reports with a warning about
    efficiency; the result is correct.
    """
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def art_classifier(model, n_classes: int, clip_values=(0.0, 1.0)) -> TensorFlowV2Classifier:
    """``model`` (a Keras classifier of flat inputs) as ART's ``TensorFlowV2Classifier``, inputs clipped to ``clip_values``."""
    n_inputs = int(model.inputs[0].shape[-1])
    return TensorFlowV2Classifier(model=model, nb_classes=int(n_classes), input_shape=(n_inputs,),
                                  clip_values=tuple(float(v) for v in clip_values))


@dataclass(frozen=True)
class Inversion:
    """What :func:`miface` returns: one image per class, its class's score, the steps and the wall-clock time taken."""

    images: np.ndarray
    scores: np.ndarray
    iterations: int
    seconds: float


def miface(
    model,
    classes,
    goal: float,
    *,
    round_iterations: int = 25,
    max_iterations: int = 5000,
    learning_rate: float = 0.1,
    start=None,
) -> Inversion:
    """MIFace from ``start`` (black images by default), one per entry of ``classes``, until every class's score is at least ``goal``.

    Runs MIFace (``threshold=1.0``, all images in one batch) for
    ``round_iterations`` steps at a time, continuing from the images of the
    round before, and stops after the first round at whose end every score
    is at least ``goal``, or after ``max_iterations`` steps. ``seconds`` is the
    wall-clock time of the rounds and of reading the scores. ``start`` is one
    image for every class, or one per entry of ``classes``, in the pixel range.
    """
    if not 0 < goal < 1:
        raise ValueError(f"goal must be a score between 0 and 1, got {goal!r}")
    if isinstance(round_iterations, bool) or int(round_iterations) != round_iterations or round_iterations < 1:
        raise ValueError(f"round_iterations must be a whole number of at least 1, got {round_iterations!r}")
    classes = np.asarray(classes, dtype=np.int64)
    n_classes = int(model.outputs[0].shape[-1])
    classifier = art_classifier(model, n_classes)
    attack = MIFace(classifier, max_iter=int(round_iterations), threshold=1.0, learning_rate=float(learning_rate),
                    batch_size=len(classes), verbose=False)
    if start is None:
        images = np.zeros((len(classes), *classifier.input_shape), dtype=np.float32)
    else:
        start = np.asarray(start, dtype=np.float32).reshape(-1, *classifier.input_shape)
        if len(start) not in (1, len(classes)) or start.min() < 0 or start.max() > 1:
            raise ValueError("start must be one image, or one per class, with pixels in [0, 1]")
        images = np.repeat(start, len(classes) // len(start), axis=0).copy()
    rows = np.arange(len(classes))
    iterations = 0
    with _quiet_tensorflow_logger():
        start = time.perf_counter()
        while True:
            images = attack.infer(images, classes)
            iterations += int(round_iterations)
            scores = classifier.predict(images)[rows, classes]
            if scores.min() >= goal or iterations >= max_iterations:
                break
        seconds = time.perf_counter() - start
    return Inversion(images.astype(np.float64), scores.astype(np.float64), iterations, seconds)
