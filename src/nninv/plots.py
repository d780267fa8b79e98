"""One image-grid style for every chapter."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np


def image_grid(rows: Mapping[str, np.ndarray], column_titles=None, cell: float = 1.15):
    """A figure with one labelled row per entry of ``rows``, each a batch of 784-pixel images.

    Every image is drawn on its own grey scale from its minimum (black) to its
    maximum (white), so preimages with values outside [0, 1] stay visible.
    """
    labels = list(rows)
    columns = max(len(rows[label]) for label in labels)
    figure, axes = plt.subplots(
        len(labels), columns, figsize=(cell * columns + 1.4, cell * len(labels)), squeeze=False
    )
    for r, label in enumerate(labels):
        images = np.asarray(rows[label], dtype=np.float64).reshape(len(rows[label]), 28, 28)
        for c, axis in enumerate(axes[r]):
            axis.set_xticks([])
            axis.set_yticks([])
            if c < len(images):
                axis.imshow(images[c], cmap="gray", interpolation="nearest")
            else:
                axis.axis("off")
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    for c, title in enumerate(column_titles or []):
        axes[0, c].set_title(title, fontsize=9)
    figure.tight_layout()
    return figure
