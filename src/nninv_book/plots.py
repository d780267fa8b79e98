"""One image-grid style for every chapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def image_grid(rows: Mapping[str, np.ndarray] | Sequence[tuple[str, np.ndarray]], column_titles=None, cell: float = 1.15):
    """A figure with one labelled row per entry of ``rows``, each a batch of 784-pixel images.

    ``rows`` maps row labels to images, or is a sequence of ``(label, images)``
    pairs when labels repeat. ``column_titles`` titles the first row's images,
    or is a mapping from row index to that row's titles.

    Every image is drawn on its own grey scale from its minimum (black) to its
    maximum (white), so preimages with values outside [0, 1] stay visible.
    """
    pairs = list(rows.items()) if isinstance(rows, Mapping) else list(rows)
    columns = max(len(images) for _, images in pairs)
    figure, axes = plt.subplots(
        len(pairs), columns, figsize=(cell * columns + 1.4, cell * len(pairs)), squeeze=False
    )
    for r, (label, images) in enumerate(pairs):
        images = np.asarray(images, dtype=np.float64).reshape(len(images), 28, 28)
        for c, axis in enumerate(axes[r]):
            axis.set_xticks([])
            axis.set_yticks([])
            if c < len(images):
                axis.imshow(images[c], cmap="gray", interpolation="nearest")
            else:
                axis.axis("off")
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    titles = column_titles if isinstance(column_titles, Mapping) else {0: column_titles or []}
    for r, row_titles in titles.items():
        for c, title in enumerate(row_titles):
            axes[r, c].set_title(title, fontsize=9)
    figure.tight_layout()
    return figure
