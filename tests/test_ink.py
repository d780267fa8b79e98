"""Claims about ink frequencies: three kinds of pixel that split the image, and row sizes compared between them."""

import numpy as np
import pytest

from nninv_book import ink


@pytest.fixture
def images():
    # 100 images of 4 pixels: pixel 0 never inked, pixel 1 inked once, pixel 2 in 10, pixel 3 in every image
    x = np.zeros((100, 4))
    x[0, 1] = 0.5
    x[:10, 2] = 1.0
    x[:, 3] = 0.2
    return x


def test_frequency_is_the_share_of_images_in_which_a_pixel_is_above_zero(images):
    assert ink.frequency(images) == pytest.approx([0.0, 0.01, 0.1, 1.0])


def test_never_rarely_and_commonly_inked_pixels_split_the_image(images):
    share = ink.frequency(images)
    kinds = np.stack([ink.never_inked(share), ink.rarely_inked(share), ink.commonly_inked(share)])
    assert kinds.tolist() == [[True, False, False, False], [False, True, False, False], [False, False, True, True]]
    assert np.all(kinds.sum(axis=0) == 1)
    assert ink.rarely_inked(share, threshold=0.2).tolist() == [False, True, True, False]


def test_ratio_compares_mean_row_sizes_on_rare_and_common_pixels(images):
    share = ink.frequency(images)
    W = np.array([[9.0, 0.0], [3.0, 4.0], [1.0, 0.0], [0.0, 3.0]])  # row sizes 9, 5, 1, 3
    assert ink.row_sizes(W) == pytest.approx([9.0, 5.0, 1.0, 3.0])
    assert ink.rare_to_common_ratio(W, share) == pytest.approx(5.0 / 2.0)


def test_ratio_is_refused_when_undefined_or_mismatched(images):
    share = ink.frequency(images)
    with pytest.raises(ValueError, match="no rarely inked or no commonly inked"):
        ink.rare_to_common_ratio(np.ones((4, 2)), share, threshold=1e-9)
    with pytest.raises(ValueError, match="W has 3 rows"):
        ink.rare_to_common_ratio(np.ones((3, 2)), share)
