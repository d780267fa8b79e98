"""The book's image grid: rows on the scales the captions name."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nninv_book import plots  # noqa: E402


def row_limits(figure):
    """The upper colour limit of each image drawn, in drawing order."""
    return [image.get_clim()[1] for axis in figure.axes for image in axis.get_images()]


def faint_row_with_one_bright_pixel():
    images = np.random.default_rng(0).normal(0.0, 0.01, (3, 784))
    images[0, 0] = 2.5
    return images


def test_a_signed_row_reaches_its_largest_value_by_default():
    figure = plots.image_grid({"preimage": faint_row_with_one_bright_pixel()}, signed=["preimage"])
    assert row_limits(figure) == pytest.approx([2.5] * 3)
    plt.close(figure)


def test_a_signed_row_at_a_percentile_is_not_washed_out_by_one_bright_pixel_and_its_bar_says_so():
    images = faint_row_with_one_bright_pixel()
    figure = plots.image_grid({"preimage": images}, signed=["preimage"], signed_percentile=99)
    limit = row_limits(figure)[0]
    assert limit == pytest.approx(np.percentile(np.abs(images), 99))
    assert limit < 0.1
    bar = figure.axes[-1]
    assert bar.get_ylim()[1] >= limit  # the colour bar belongs to the row's scale
    assert any(image.colorbar.extend == "both" for axis in figure.axes for image in axis.get_images() if image.colorbar)
    plt.close(figure)


def test_a_pixel_row_outside_the_pixel_range_is_refused_by_its_label():
    with pytest.raises(ValueError, match="'preimage'.*signed"):
        plots.image_grid({"preimage": faint_row_with_one_bright_pixel()})


def test_a_percentile_outside_0_to_100_is_refused_by_name():
    with pytest.raises(ValueError, match="signed_percentile"):
        plots.image_grid({"digit": np.zeros((1, 784))}, signed_percentile=0)
