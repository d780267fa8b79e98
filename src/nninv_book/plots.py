"""One image-grid style for every chapter, on scales a reader can read.

Two scales, named in every caption:

* **pixel scale**: images in the pixel range, drawn in grey from 0 (black) to
  1 (white), the same for every panel; a row on this scale must lie in
  [0, 1], and one that does not is refused rather than clipped;
* **signed scale**: images with values of either sign (preimages, columns of
  ``W``), drawn with a diverging colour map symmetric about 0 (white), blue
  negative and red positive, one scale per row with its colour bar.
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
):
    """A figure with one labelled row per entry of ``rows``, each a batch of 784-pixel images.

    ``rows`` maps row labels to images, or is a sequence of ``(label, images)``
    pairs when labels repeat. Rows whose label is in ``signed`` use the signed
    scale, the others the pixel scale (see the module). ``column_titles``
    titles the first row's images, or maps a row index to that row's titles.
    """
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
            limit = float(np.abs(images).max()) or 1.0
            style = dict(cmap=SIGNED_MAP, vmin=-limit, vmax=limit)
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
            bar = figure.colorbar(shown, cax=figure.add_subplot(grid[r, columns]))
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
