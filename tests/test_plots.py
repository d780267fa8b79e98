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


def boxes_touching_the_curve(figure):
    """The labels whose drawn box meets the plotted curve or another label or leaves the figure, in display coordinates."""
    figure.canvas.draw()
    axis = figure.axes[0]
    renderer = figure.canvas.get_renderer()
    boxes = {text.get_text(): text.get_window_extent(renderer).expanded(1.05, 1.1) for text in axis.texts}
    curve = axis.transData.transform(axis.lines[0].get_xydata())
    along = np.linspace(0, 1, 200)[:, None]
    drawn = np.vstack([a + along * (b - a) for a, b in zip(curve[:-1], curve[1:])])
    touching = {name for name, box in boxes.items() if ((drawn >= box.min) & (drawn <= box.max)).all(axis=1).any()}
    names = list(boxes)
    touching |= {a for i, a in enumerate(names) for b in names[i + 1:] if boxes[a].overlaps(boxes[b])}
    touching |= {name for name, box in boxes.items() if not (figure.bbox.x0 <= box.x0 and box.x1 <= figure.bbox.x1)}
    return touching


def test_the_trade_off_labels_stay_off_the_curve_and_off_each_other():
    # the shape of Chapter 6's sweep: accuracy rises steeply, then flattens, as the penalty falls
    errors = [0.98, 0.665, 0.612, 0.576, 0.560, 0.557]
    accuracies = [0.917, 0.909, 0.897, 0.862, 0.808, 0.762]
    labels = [f"λ = {penalty:g}" for penalty in (0, 0.1, 0.3, 1, 3, 10)]
    figure = plots.accuracy_against_error(errors, accuracies, labels, references={"reference": 0.55})
    assert boxes_touching_the_curve(figure) == set()
    plt.close(figure)


def test_a_trade_off_with_more_labels_than_points_is_refused_by_its_counts():
    with pytest.raises(ValueError, match=r"one label per point.*3 labels"):
        plots.accuracy_against_error([0.9, 0.6], [0.8, 0.9], ["a", "b", "c"])
