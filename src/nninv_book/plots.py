"""One image-grid style for every chapter, on scales a reader can read.

Two scales, named in every caption:

* **pixel scale**: images in the pixel range, drawn in grey from 0 (black) to
  1 (white), the same for every panel; a row on this scale must lie in
  [0, 1], and one that does not is refused rather than clipped;
* **signed scale**: images with values of either sign (preimages, columns of
  ``W``), drawn with a diverging colour map symmetric about 0 (white), blue
  negative and red positive, one scale per row with its colour bar, reaching
  the row's largest absolute value or, where the caption says so, a stated
  percentile of them (arrows on the colour bar mark the values beyond).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

SIGNED_MAP = "RdBu_r"
PIXEL_TOLERANCE = 1e-9  # float round-off allowed outside [0, 1] on the pixel scale


def image_grid(
    rows: Mapping[str, np.ndarray] | Sequence[tuple[str, np.ndarray]],
    column_titles=None,
    *,
    signed: Collection[str] = (),
    cell: float = 1.0,
    signed_percentile: float = 100.0,
):
    """A figure with one labelled row per entry of ``rows``, each a batch of 784-pixel images.

    ``rows`` maps row labels to images, or is a sequence of ``(label, images)``
    pairs when labels repeat. Rows whose label is in ``signed`` use the signed
    scale, the others the pixel scale (see the module). ``column_titles``
    titles the first row's images, or maps a row index to that row's titles.
    A signed row's scale reaches the ``signed_percentile``-th percentile of its
    absolute values (100: the largest); values beyond it are drawn in the end
    colours, and its colour bar gets arrows, so that a few outlying pixels do
    not wash the row out.
    """
    if not 0 < signed_percentile <= 100:
        raise ValueError(f"signed_percentile must lie in (0, 100], got {signed_percentile!r}")
    pairs = list(rows.items()) if isinstance(rows, Mapping) else list(rows)
    unknown = set(signed) - {label for label, _ in pairs}
    if unknown:
        raise ValueError(f"signed names rows that the grid does not have: {sorted(unknown)}")
    columns = max(len(images) for _, images in pairs)
    has_bar = any(label in signed for label, _ in pairs)
    figure = plt.figure(figsize=(cell * columns + 1.2 + 0.6 * has_bar, cell * len(pairs) + 0.3 * bool(column_titles)))
    titled_below_top = isinstance(column_titles, Mapping) and any(row > 0 for row in column_titles)
    grid = figure.add_gridspec(
        len(pairs), columns + has_bar, width_ratios=[1] * columns + [0.12] * has_bar, wspace=0.06,
        hspace=0.3 if titled_below_top else 0.12,
    )
    for r, (label, images) in enumerate(pairs):
        images = np.asarray(images, dtype=np.float64).reshape(len(images), 28, 28)
        if label in signed:
            limit = float(np.percentile(np.abs(images), signed_percentile)) or float(np.abs(images).max()) or 1.0
            style = dict(cmap=SIGNED_MAP, vmin=-limit, vmax=limit)
            clipped = bool(np.abs(images).max() > limit)
        else:
            if images.min() < -PIXEL_TOLERANCE or images.max() > 1 + PIXEL_TOLERANCE:
                raise ValueError(
                    f"row {label!r} has values in [{images.min():.3g}, {images.max():.3g}], outside the pixel "
                    "range [0, 1]: draw it on the signed scale (signed=[...]) instead of clipping it"
                )
            style = dict(cmap="gray", vmin=0.0, vmax=1.0)
        for c in range(columns):
            axis = figure.add_subplot(grid[r, c])
            axis.set_xticks([])
            axis.set_yticks([])
            if c < len(images):
                shown = axis.imshow(images[c], interpolation="nearest", **style)
            else:
                axis.axis("off")
            if c == 0:
                axis.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=11)
            titles = column_titles.get(r, []) if isinstance(column_titles, Mapping) else (column_titles or [] if r == 0 else [])
            if c < len(titles):
                axis.set_title(titles[c], fontsize=10)
        if label in signed:
            bar = figure.colorbar(shown, cax=figure.add_subplot(grid[r, columns]), extend="both" if clipped else "neither")
            bar.ax.tick_params(labelsize=8)
    figure.subplots_adjust(left=1.2 / figure.get_figwidth(), right=0.97 - 0.35 * has_bar / figure.get_figwidth(),
                           top=1 - 0.3 * bool(column_titles) / figure.get_figheight(), bottom=0.02)
    return figure


def descent_curves(curves: Mapping[str, object], table_run, target: float):
    """The largest output error of gradient descent against the step, on a log scale.

    ``curves`` maps a label to an :class:`~nninv_book.optimisation.OptimisedPreimage`
    (drawn in full colour), ``table_run`` is a run on more digits (drawn pale,
    with its decaying step size as a fraction of its start, dotted), and
    ``target`` the error aimed at (dashed).
    """
    figure, axis = plt.subplots(figsize=(7.5, 5))
    for (label, result), colour in zip(curves.items(), ["C0", "C1"]):
        axis.plot(result.checked_steps, result.largest_errors, color=colour,
                  label=f"{label}, {result.x.shape[0]} digits")
    axis.plot(table_run.checked_steps, table_run.largest_errors, color="C0", alpha=0.35,
              label=f"decaying step size, {table_run.x.shape[0]} digits")
    axis.axhline(target, color="black", linestyle="--", linewidth=1, label="target")
    axis.plot(table_run.checked_steps, table_run.step_size(table_run.checked_steps) / table_run.learning_rate,
              color="grey", linestyle=":", label="decaying step size as a fraction of its start")
    axis.set(yscale="log", xlabel="step", ylabel="largest output error, max |f(x) - y|")
    axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    figure.tight_layout()
    return figure


def image_grid_on_shared_scales(rows, column_titles=None, *, signed=(), shared=(), cell: float = 1.0):
    """:func:`image_grid`, with each group of row labels in ``shared`` drawn on one signed scale.

    ``shared`` is a sequence of groups of row labels (each group a tuple):
    the rows of a group are drawn on the signed scale with one limit, the
    largest absolute value among them, so that rows meant to be compared (an
    image and its projection, say) can be; every row of a group is signed
    whether or not it lies in [0, 1]. Other rows are drawn as
    :func:`image_grid` draws them.
    """
    pairs = list(rows.items()) if isinstance(rows, Mapping) else list(rows)
    labels = [label for label, _ in pairs]
    grouped = [label for group in shared for label in group]
    unknown = sorted(set(grouped) - set(labels))
    if unknown:
        raise ValueError(f"shared names rows that the grid does not have: {unknown}")
    figure = image_grid(pairs, column_titles, signed=set(signed) | set(grouped), cell=cell)
    # the axes of row r run from the one labelled with it (its first image) to the next labelled one
    starts = [index for index, axis in enumerate(figure.axes) if axis.get_ylabel()]
    row_axes = {axis_label: figure.axes[start : end]
                for axis_label, start, end in zip(labels, starts, starts[1:] + [len(figure.axes)])}
    for group in shared:
        limit = max(float(np.abs(np.asarray(images)).max()) for label, images in pairs if label in group) or 1.0
        for label in group:
            for axis in row_axes[label]:
                for image in axis.get_images():
                    image.set_clim(-limit, limit)  # the row's colour bar follows its image
    return figure


def hidden_activity_histograms(chosen: Mapping[str, np.ndarray], distances: Mapping[str, np.ndarray]):
    """Left: the hidden activities of each choice (log density); right: their prior distances (log scale).

    ``chosen`` maps a label to hidden activities ``(n, width)``, ``distances``
    the same labels to one prior distance per image.
    """
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    bins = np.linspace(min(h.min() for h in chosen.values()), max(h.max() for h in chosen.values()), 80)
    for name, h in chosen.items():
        left.hist(h.ravel(), bins=bins, density=True, histtype="step", linewidth=1.5, label=name)
    left.set_yscale("log")
    left.set_xlabel("hidden activity")
    left.set_ylabel("density")
    left.legend(fontsize=8)
    every = np.concatenate(list(distances.values()))
    bins = np.geomspace(every.min(), every.max(), 60)
    for name, d in distances.items():
        right.hist(d, bins=bins, alpha=0.6, label=name)
    right.set_xscale("log")
    right.set_xlabel("prior distance of the hidden pre-activation")
    right.set_ylabel("test digits")
    right.legend(fontsize=8)
    figure.tight_layout()
    return figure


def relu_recovery_curves(widths, curve, recovered, unique, inputs: int):
    """Random ReLU layers inverted by a linear programme: recovery error and share recovered against the width.

    ``curve`` holds one entry per width with its relative ``errors`` and the
    binomial ``predicted`` share; ``recovered`` and ``unique`` are the shares
    of trials recovered and of active columns of full rank; ``inputs`` the
    layers' input width (a dotted line marks twice it).
    """
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    floor = np.finfo(float).eps
    left.semilogy(widths, [max(np.median(p["errors"]), floor) for p in curve], "o-", label="median")
    left.semilogy(widths, [max(p["errors"].max(), floor) for p in curve], "s--", label="largest")
    left.axvline(2 * inputs, color="0.6", linestyle=":", label="width = 2 × inputs")
    left.set_xlabel("units in the ReLU layer")
    left.set_ylabel("relative recovery error")
    left.legend(fontsize=8)
    right.plot(widths, recovered, "o-", label="inputs recovered")
    right.plot(widths, unique, "x", markersize=9, label="active columns of full rank")
    right.plot(widths, [p["predicted"] for p in curve], "--", color="0.4",
               label="P(binomial(n, 1/2) ≥ inputs)")
    right.set_xlabel("units in the ReLU layer")
    right.set_ylabel("share of trials")
    right.set_ylim(-0.03, 1.03)
    right.legend(fontsize=8)
    figure.tight_layout()
    return figure


def membership_aucs(results: Mapping[str, object]):
    """Per label, a membership test's AUC with its 95% interval (objects with ``auc``, ``low``, ``high``), against chance."""
    figure, axis = plt.subplots(figsize=(6.4, 0.45 * len(results) + 1.2))
    rows = np.arange(len(results))[::-1]
    for row, result in zip(rows, results.values()):
        axis.errorbar(result.auc, row, xerr=[[result.auc - result.low], [result.high - result.auc]],
                      fmt="o", color="0.2", capsize=3)
    axis.axvline(0.5, color="0.5", linestyle="--", linewidth=1, label="chance")
    axis.set_yticks(rows, list(results))
    axis.set_xlim(0.4, 1.02)
    axis.set_ylim(-0.6, len(results) - 0.4)
    axis.set_xlabel("AUC: training images closer to span(W) than test digits")
    axis.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return figure


def accuracy_against_error(errors: Sequence[float], accuracies: Sequence[float], labels: Sequence[str],
                           references: Mapping[str, float] = {}):
    r"""Test accuracy against reconstruction error along a sweep, each point labelled, with vertical reference lines.

    Each label sits off its point along the curve's normal there, on the side
    below and to the right (the room a sweep that trades accuracy for error
    leaves), so that no label touches the curve: with the axes scaled to unit
    size, the tangent at point :math:`i` is :math:`p_{i+1} - p_{i-1}` (one-sided
    at the ends) and the label moves along the normal :math:`n \perp t` with
    :math:`n_x - n_y > 0`.
    """
    if not len(errors) == len(accuracies) == len(labels):
        raise ValueError(
            f"accuracy_against_error needs one error, one accuracy and one label per point, got {len(errors)} "
            f"errors, {len(accuracies)} accuracies and {len(labels)} labels; pass sequences of equal length"
        )
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    axis.plot(errors, accuracies, "o-", color="0.2")
    for (name, value), style in zip(references.items(), ["--", ":", "-."]):
        axis.axvline(value, color="0.5", linestyle=style, linewidth=1, label=name)
    if references:
        axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2))  # below the axes, off the data
    axis.margins(x=0.12, y=0.2)
    points = np.column_stack([errors, accuracies]).astype(float)
    scale = np.ptp(points, axis=0)
    scaled = points / np.where(scale > 0, scale, 1.0)
    for i, label in enumerate(labels):
        tangent = scaled[min(i + 1, len(scaled) - 1)] - scaled[max(i - 1, 0)]
        normal = np.array([tangent[1], -tangent[0]]) / max(np.linalg.norm(tangent), 1e-12)
        if normal[0] - normal[1] < 0:
            normal = -normal
        axis.annotate(label, points[i], textcoords="offset points", xytext=tuple(9 * normal), fontsize=8,
                      ha="left", va="top" if normal[1] < -0.3 else "center")
    axis.set_xlabel("mean relative error of the pseudo-inverse reconstruction")
    axis.set_ylabel("test accuracy")
    figure.tight_layout()
    return figure


def preimage_plane(x, least_norm, others, direction, null_basis, half_width: float = 1.6):
    """A 3 -> 1 layer's preimage plane in three dimensions, with equal axis scales and the legend beside the data.

    ``x`` is the input, ``least_norm`` its pseudo-inverse preimage, ``others`` further exact preimages,
    ``direction`` the unit vector of the span of ``w`` and ``null_basis`` (3 x 2) the plane's directions.
    """
    grid = np.linspace(-half_width, half_width, 2)
    s, t = np.meshgrid(grid, grid)
    u, v = np.asarray(null_basis).T
    plane = least_norm + s[..., None] * u + t[..., None] * v
    figure = plt.figure(figsize=(6.4, 6.2))
    axis = figure.add_subplot(projection="3d")
    axis.plot_surface(*np.moveaxis(plane, -1, 0), alpha=0.25, color="tab:blue")
    line = np.outer(np.linspace(-1.2, 1.2, 2), direction)
    axis.plot(*line.T, color="0.2", linewidth=1.5, label="span of $w$")
    axis.scatter(*x, color="tab:red", s=40, label="an input $x$")
    axis.scatter(*least_norm, color="black", s=40, label="$g(f(x))$: least norm, on the span")
    axis.scatter(*np.asarray(others).T, color="tab:blue", s=18, label="other exact preimages")
    axis.plot(*np.stack([x, least_norm]).T, color="tab:red", linestyle=":", linewidth=1)
    points = np.vstack([plane.reshape(-1, 3), line, x, others])
    centre, radius = (points.max(axis=0) + points.min(axis=0)) / 2, (points.max(axis=0) - points.min(axis=0)).max() / 2
    for setter, ticker, middle in zip([axis.set_xlim, axis.set_ylim, axis.set_zlim],
                                      [axis.set_xticks, axis.set_yticks, axis.set_zticks], centre):
        setter(middle - radius, middle + radius)
        ticker(np.arange(np.ceil(middle - radius), np.floor(middle + radius) + 1))  # whole numbers, one apart
    axis.set_box_aspect((1, 1, 1))
    axis.set_xlabel("$x_1$")
    axis.set_ylabel("$x_2$")
    axis.set_zlabel("$x_3$")
    axis.view_init(elev=18, azim=-58)
    figure.legend(*axis.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=8)
    figure.subplots_adjust(left=0.0, right=0.92, top=1.0, bottom=0.1)
    return figure


def time_to_accuracy_curves(curves, points, target: float):
    """The largest output error against the seconds each method has run, log-log.

    ``curves`` maps a label to ``(seconds, errors)`` (drawn as lines),
    ``points`` a label to one ``(seconds, error)`` (a method that runs once,
    drawn as a marker); ``target`` is drawn dashed.
    """
    figure, axis = plt.subplots(figsize=(7.5, 5))
    for (label, (seconds, errors)), colour in zip(curves.items(), ["C0", "C1", "C2", "C3", "C4", "C5"]):
        axis.step(seconds, errors, where="post", color=colour, label=label)
    for (label, (seconds, error)), marker in zip(points.items(), ["o", "s", "D", "^"]):
        axis.plot([seconds], [error], marker=marker, color="black", linestyle="none", label=label)
    axis.axhline(target, color="black", linestyle="--", linewidth=1, label="target")
    axis.set(xscale="log", yscale="log", xlabel="seconds", ylabel="largest output error, max |f(x) - y|")
    axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    figure.tight_layout()
    return figure


def pixel_value_histograms(images: Mapping[str, np.ndarray], bins: int = 120):
    """The distribution of pixel values of each named batch of images, with the pixel range [0, 1] shaded.

    One step histogram per entry (log density), so that how far a batch of
    preimages leaves the box, and how much of it does, can be read off.
    """
    if not images:
        raise ValueError("pixel_value_histograms needs at least one named batch of images")
    values = {label: np.asarray(batch, dtype=np.float64).ravel() for label, batch in images.items()}
    low = min(float(v.min()) for v in values.values())
    high = max(float(v.max()) for v in values.values())
    edges = np.linspace(min(low, 0.0), max(high, 1.0), bins + 1)
    figure, axis = plt.subplots(figsize=(7.5, 3.6))
    axis.axvspan(0.0, 1.0, color="0.92", label="pixel range [0, 1]")
    for label, v in values.items():
        axis.hist(v, bins=edges, density=True, histtype="step", linewidth=1.4, label=label)
    axis.set(yscale="log", xlabel="pixel value", ylabel="density (log scale)")
    axis.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    return figure
