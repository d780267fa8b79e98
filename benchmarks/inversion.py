"""Speed and memory of the closed-form inverse on Chapter 1's MNIST classifier (``make bench``).

Prints one table, all of it measured in this run on all 70,000 MNIST images:

* batched ``min_norm`` against its floor, one bare matrix product with a
  precomputed pseudo-inverse: within 2x without its exactness check
  (``range_tol=None``), within 3x with it (the check multiplies the preimage
  back through ``W``);
* against the question's own code, ``np.linalg.pinv`` recomputed for every
  image, one image at a time, which checks nothing, so against ``min_norm``
  without its check (goal: at least 100x faster per image);
* ``gaussian`` against ``min_norm`` once the prior is fitted (goal: within 3x);
* ``gaussian`` with its gain ready against Adam on the input (``tf.GradientTape``)
  on 100 images, on the normalised pre-activation loss with its step size cut
  on plateaus (the configuration of Chapter 4 that reaches the accuracy), read
  at ``max |f(x) - y| <= 1e-6`` from its time-to-accuracy curve (goal: at least
  1000x); and ``gaussian`` from the weights (the layer's SVD and the prior's
  gain included) against L-BFGS-B on the same problem, the prior's energy
  under the output constraint, to the same accuracy (goal: faster);
* the peak memory ``min_norm`` allocates, against the size of its output
  (no per-image 784 x 784 intermediates);
* loading the classifier from the cache of trained networks against training
  it (both timed in a private, empty cache folder; goal: at least 10x faster);
* the book's convolutional network (``--cnn``; trained briefly in float64):
  its affine steps held matrix-free (as :mod:`nninv.operators` does) against
  materialised as matrices, in memory, in the time to form them and in the
  time to back-propagate ten vectors per image (one Jacobian), and the most
  probable exact preimage of test digits: seconds per digit (the search
  alone, prior fitted) and the largest output error;
* training (``--training``): one epoch of the convolutional judge on its
  30,000 reference images with TensorFlow's own kernels and with oneDNN's
  (what :mod:`nninv_book.runtime` turns on), each in a fresh process with an
  empty cache folder, the time of the call (cache write included, process
  start and imports not), and oneDNN twice, to check that it trains the same
  weights on every run.

Timings are the best of several repeats (``time.perf_counter``).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np

import nninv
from nninv_book import data, models, optimisation
from nninv_book.timing import best_of


def peak_bytes(function) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def question_recipe(y: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The question's code, verbatim in spirit: logit, then pinv(W) recomputed for one image."""
    z = np.log(y / (1 - y))
    return (z - b) @ np.linalg.pinv(W)


def convolutional_case(digits: int, seed: int) -> None:
    """The ``--cnn`` table (see the module)."""
    import keras

    from nninv.input_space import _Linearised

    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    keras.utils.set_random_seed(seed)
    (x_train_images, labels_train), (x_test_images, _) = data.load_mnist()
    x_train, x_test = data.as_inputs(x_train_images).astype(np.float64), data.as_inputs(x_test_images).astype(np.float64)
    layers = keras.layers
    cnn = keras.Sequential([
        keras.Input((784,)), layers.Reshape((28, 28, 1)), layers.Conv2D(8, 3, padding="same"), layers.LeakyReLU(0.1),
        layers.AveragePooling2D(2), layers.Conv2D(16, 3, padding="same"), layers.LeakyReLU(0.1),
        layers.AveragePooling2D(2), layers.Flatten(), layers.Dense(10)])
    cnn.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    cnn.fit(x_train[:20000], labels_train[:20000], epochs=1, batch_size=128, verbose=0)
    chain = nninv.layer_inverses(cnn)
    net = _Linearised(chain)
    free_bytes = sum(affine.kernel.nbytes for step in net.maps for affine in getattr(step, "maps", (step,))
                     if hasattr(affine, "kernel")) + chain[-1].W.nbytes
    formed = best_of(lambda: [affine.matrix() for affine in net.maps[:-1]], repeats=1)
    matrices = [affine.matrix() for affine in net.maps]
    dense_bytes = sum(matrix.nbytes for matrix in matrices)
    x = x_test[:100]
    derivatives = net.value(x)[1]

    def dense_jacobian():
        g = np.tile(np.eye(10), (len(x), 1))
        for matrix, derivative in zip(matrices[:0:-1], derivatives[::-1]):
            g = ((g @ matrix.T).reshape(len(x), 10, -1) * derivative[:, np.newaxis, :]).reshape(len(x) * 10, -1)
        return g @ matrices[0].T

    free_time = best_of(lambda: net.jacobian(derivatives, len(x)), repeats=3) / len(x)
    dense_time = best_of(dense_jacobian, repeats=3) / len(x)
    prior = nninv.GaussianPrior.fit(x_train[20000:40000])
    y = chain.forward(x_test[:digits])
    began = time.perf_counter()
    found = nninv.most_probable_preimage(chain, y, prior, on_inexact="report")
    search = time.perf_counter() - began
    print(f"CNN affine steps: matrix-free {free_bytes / 2**20:.2f} MiB, as matrices {dense_bytes / 2**20:.0f} MiB "
          f"(formed in {formed:.2f} s)")
    print(f"one Jacobian (10 vectors back-propagated) per image: matrix-free {free_time * 1e3:.2f} ms, "
          f"matrices {dense_time * 1e3:.2f} ms")
    print(f"most probable exact preimage of {digits} test digits: {search / digits:.3f} s per digit, "
          f"max |f(x) - y| = {found.output_max_abs_error:.2g}, refused {len(found.refused)}")


TRAINING_RUN = """
import hashlib, time
import nninv_book  # the book's runtime; TF_ENABLE_ONEDNN_OPTS comes from the caller
from nninv_book import judge
from nninv_book.standard import standard_data
mnist = standard_data(30000, {seed})  # the chapters' judge reference images
began = time.perf_counter()
trained = judge.convolutional_judge(mnist.x_reference, mnist.labels_reference, epochs=1, seed={seed})
seconds = time.perf_counter() - began
print(seconds, hashlib.sha256(b"".join(w.tobytes() for w in trained.get_weights())).hexdigest())
"""


def training_case(seed: int) -> None:
    """The ``--training`` lines (see the module)."""
    runs = []
    for onednn in ("0", "1", "1"):
        with tempfile.TemporaryDirectory() as folder:
            environment = os.environ | {"TF_ENABLE_ONEDNN_OPTS": onednn, "NNINV_CACHE_DIR": folder}
            run = subprocess.run([sys.executable, "-c", TRAINING_RUN.format(seed=seed)], env=environment,
                                 capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit(f"the judge's training with TF_ENABLE_ONEDNN_OPTS={onednn} failed:\n{run.stderr[-3000:]}")
        seconds, weights = run.stdout.split()
        runs.append((float(seconds), weights))
    (own, _), (first, first_weights), (second, second_weights) = runs
    print(f"one epoch of the convolutional judge (30,000 images): TensorFlow's kernels {own:.1f} s, "
          f"oneDNN's {min(first, second):.1f} s ({own / min(first, second):.2g}x faster)")
    print(f"oneDNN, two runs: {'the same weights' if first_weights == second_weights else 'DIFFERENT weights'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="training epochs of the classifier (Chapter 1's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--question-images", type=int, default=2000, help="images for the one-at-a-time recipe")
    parser.add_argument("--descent-images", type=int, default=100)
    parser.add_argument("--descent-steps", type=int, default=20000, help="step budget of gradient descent")
    parser.add_argument("--cnn", action="store_true", help="measure the convolutional network instead")
    parser.add_argument("--cnn-digits", type=int, default=200, help="test digits the CNN inverts")
    parser.add_argument("--training", action="store_true", help="time the convolutional judge's training instead")
    arguments = parser.parse_args()
    if arguments.training:
        training_case(arguments.seed)
        return
    if arguments.cnn:
        convolutional_case(arguments.cnn_digits, arguments.seed)
        return

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}")
    print(f"training Chapter 1's classifier ({arguments.epochs} epochs, seed {arguments.seed}), then loading it "
          "from a fresh cache ...", flush=True)
    (x_train_images, labels_train), (x_test_images, _) = data.load_mnist()
    train = lambda: models.train_classifier(  # noqa: E731
        data.as_inputs(x_train_images), labels_train, epochs=arguments.epochs, seed=arguments.seed
    )
    with tempfile.TemporaryDirectory() as folder:
        os.environ["NNINV_CACHE_DIR"] = folder
        training = best_of(train, 1)
        loading = best_of(train, arguments.repeats)
        model = train()
    layer = nninv.layer_inverses(model)[0]
    x = data.as_inputs(np.concatenate([x_train_images, x_test_images])).astype(np.float64)
    y = layer.forward(x)
    rows = []

    print("timing min_norm against its floor ...", flush=True)
    t = layer.preactivation(y) - layer.b
    pinv = layer.pinv
    floor = best_of(lambda: t @ pinv, arguments.repeats)
    unchecked = best_of(lambda: layer.min_norm(y, range_tol=None), arguments.repeats)
    min_norm = best_of(lambda: layer.min_norm(y), arguments.repeats)
    rows.append(("min_norm unchecked, 70,000", unchecked, "bare (70000x10)@(10x784)", floor, f"{unchecked / floor:.3g}", "<= 2x"))
    rows.append(("min_norm checked, 70,000", min_norm, "bare (70000x10)@(10x784)", floor, f"{min_norm / floor:.3g}", "<= 3x"))

    print("timing the question's one-image-at-a-time recipe ...", flush=True)
    count = arguments.question_images
    question = best_of(lambda: [question_recipe(y[i : i + 1], layer.W, layer.b) for i in range(count)], 1)
    # Like for like: the question's code verifies nothing, so it is compared with the unchecked call.
    per_image_ours, per_image_question = unchecked / len(y), question / count
    rows.append(("min_norm unchecked, per image", per_image_ours, f"question's code, per image (of {count})", per_image_question,
                 f"{per_image_question / per_image_ours:.3g}", ">= 100x faster"))

    print("fitting the Gaussian prior and timing gaussian ...", flush=True)
    prior = nninv.GaussianPrior.fit(x[:60000])
    layer.gaussian(y[:1], prior)  # computes and caches the gain for this prior
    gaussian = best_of(lambda: layer.gaussian(y, prior), arguments.repeats)
    rows.append(("gaussian, 70,000 images", gaussian, "min_norm, 70,000 images", min_norm, f"{gaussian / min_norm:.3g}", "<= 3x"))

    print(f"running Adam and L-BFGS-B on {arguments.descent_images} images ...", flush=True)
    some = slice(0, arguments.descent_images)
    target = 1e-6
    descent = optimisation.invert_by_gradient_descent(
        [layer], y[some], prior.mean, tol=target, max_steps=arguments.descent_steps, decay=1.0, patience=8,
        normalised_loss=True,
    )
    lbfgs = optimisation.prior_preimage_by_optimisation(layer, y[some], prior, solver="lbfgs", tol=target)
    warm = best_of(lambda: layer.gaussian(y[some], prior), arguments.repeats)
    cold = best_of(lambda: nninv.DenseInverse(layer.W, layer.b, layer.activation).gaussian(y[some], prior), 1)
    for name, run, closed, closed_name in (("Adam, pre-activation loss", descent, warm, "gain ready"),
                                           ("L-BFGS-B, prior energy", lbfgs, cold, "from the weights")):
        reached = bool(np.isfinite(run.time_to(target)))
        seconds = run.time_to(target) if reached else run.seconds  # unreached: its whole run, a lower bound
        rows.append((f"gaussian {closed_name}, {arguments.descent_images} images", closed,
                     f"{name}, to max error 1e-6" + ("" if reached else " (NOT reached: its whole run)"), seconds,
                     f"{'' if reached else '>= '}{seconds / closed:.3g}", ">= 1000x faster" if closed is warm else "faster"))

    print("measuring peak memory of min_norm ...", flush=True)
    peak = peak_bytes(lambda: layer.min_norm(y))
    output = y.shape[0] * layer.n_in * 8
    per_image_matrix = layer.n_in * layer.n_in * 8

    rows.append(("classifier loaded from the cache", loading, f"the same classifier trained ({arguments.epochs} epochs)",
                 training, f"{training / loading:.3g}", ">= 10x faster"))

    print()
    print(f"{'measured':<40} {'seconds':>10}   {'compared with':<66} {'seconds':>10} {'ratio':>10}  goal")
    for ours, ours_s, theirs, theirs_s, ratio, goal in rows:
        print(f"{ours:<40} {ours_s:>10.3g}   {theirs:<66} {theirs_s:>10.3g} {ratio:>10}  {goal}")
    print()
    print(f"peak memory of min_norm on 70,000 images: {peak / 2**20:.0f} MiB, output {output / 2**20:.0f} MiB "
          f"(ratio {peak / output:.2f}); one 784x784 float64 matrix per image would be {per_image_matrix * len(y) / 2**30:.0f} GiB")


if __name__ == "__main__":
    main()
