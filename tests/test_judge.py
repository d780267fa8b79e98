"""Claims about the judges: nearest neighbours (raw or contrast-normalised) and the small convolutional network."""

import numpy as np
import pytest

from nninv_book.judge import ConvolutionalJudge, NearestNeighbourJudge, cnn_verdicts, convolutional_judge, unit_norm


def test_judge_with_one_neighbour_labels_its_own_reference_images_correctly():
    rng = np.random.default_rng(0)
    images, labels = rng.uniform(0, 1, (50, 16)), rng.integers(0, 10, 50)
    assert NearestNeighbourJudge(images, labels, k=1).accuracy(images, labels) == 1.0


def test_judge_takes_the_majority_of_the_k_nearest():
    images = np.array([[0.0], [1.0], [1.1], [5.0]])
    judge = NearestNeighbourJudge(images, np.array([3, 7, 7, 2]), k=3)
    assert judge.predict(np.array([[0.9]]))[0] == 7  # two of three neighbours say 7
    assert judge.predict(np.array([[4.0]]))[0] == 7  # 5.0, 1.1 and 1.0 are nearest: 7 still wins


def test_judge_refuses_images_of_the_wrong_size_and_impossible_k():
    judge = NearestNeighbourJudge(np.zeros((3, 4)), np.array([0, 1, 2]), k=1)
    with pytest.raises(ValueError, match="must have 4 pixels"):
        judge.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="k must lie between 1"):
        NearestNeighbourJudge(np.zeros((3, 4)), np.array([0, 1, 2]), k=4)


def test_normalised_judge_reads_a_faint_image_by_its_shape_not_its_contrast():
    rng = np.random.default_rng(1)
    bright, thin = np.zeros(64), np.zeros(64)
    bright[:32], thin[40:44] = 1.0, 0.3           # a large bright digit and a thin faint one
    references = np.vstack([bright + rng.uniform(0, 0.05, (5, 64)), thin + rng.uniform(0, 0.05, (5, 64))])
    labels = np.array([0] * 5 + [1] * 5)
    faint = 0.1 * bright[None, :]                  # the bright digit drawn at a tenth of its contrast
    assert NearestNeighbourJudge(references, labels, k=3).predict(faint)[0] == 1
    assert NearestNeighbourJudge(references, labels, k=3, normalise=True).predict(faint)[0] == 0
    assert unit_norm(np.zeros((1, 64))).tolist() == np.zeros((1, 64)).tolist()  # a blank image stays blank
    assert np.allclose(np.linalg.norm(unit_norm(references), axis=1), 1)


def test_normalise_must_be_a_boolean():
    with pytest.raises(TypeError, match="normalise"):
        NearestNeighbourJudge(np.eye(3), np.arange(3), k=1, normalise="yes")


def _blocks(rng, per_class):
    """Synthetic 28 x 28 'digits': class d lights a 7 x 7 block at its own place, with noise."""
    images, labels = [], []
    for digit in range(10):
        block = np.zeros((28, 28))
        row, column = divmod(digit, 4)
        block[7 * row : 7 * row + 7, 7 * column : 7 * column + 7] = 1.0
        images.append(np.clip(block.ravel() + rng.normal(0, 0.2, (per_class, 784)), 0, 1))
        labels += [digit] * per_class
    return np.vstack(images), np.array(labels)


def test_convolutional_judge_learns_a_tiny_task_and_comes_back_identical_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NNINV_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    images, labels = _blocks(rng, 30)
    test_images, test_labels = _blocks(rng, 10)
    judge = convolutional_judge(images, labels, epochs=8, seed=0, batch_size=32)
    assert judge.accuracy(test_images, test_labels) >= 0.95
    again = convolutional_judge(images, labels, epochs=8, seed=0, batch_size=32)
    assert all(np.array_equal(a, b) for a, b in zip(judge.get_weights(), again.get_weights()))
    found = cnn_verdicts(judge, {"test": test_images, "empty": test_images[:0]})
    assert np.array_equal(found["test"], judge.predict(test_images.astype(np.float32)))
    assert found["empty"].shape == (0,)


def test_convolutional_judge_refuses_bad_input_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("NNINV_CACHE_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="784 pixels"):
        convolutional_judge(np.zeros((4, 100)), np.arange(4), epochs=1, seed=0)
    with pytest.raises(ValueError, match="digits 0 to 9"):
        convolutional_judge(np.zeros((2, 784)), np.array([3, 12]), epochs=1, seed=0)
    with pytest.raises(ValueError, match="epochs"):
        convolutional_judge(np.zeros((2, 784)), np.array([3, 1]), epochs=0, seed=0)
    with pytest.raises(TypeError, match="Keras model"):
        ConvolutionalJudge(object())
