"""Claims about the nearest-neighbour judge."""

import numpy as np
import pytest

from nninv_book.judge import NearestNeighbourJudge


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
