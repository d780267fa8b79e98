"""How often each pixel of a set of images is inked, and the size of a weight matrix's row per pixel.

A pixel is *inked* in an image when its value is above 0. Over a set of
images, a pixel is

* *never inked* when it is 0 in every image;
* *rarely inked* when it is inked in at least one image but in fewer than
  ``RARELY`` (5%) of them;
* *commonly inked* when it is inked in ``RARELY`` of them or more.

The three kinds split the pixels. Chapters 1 and 5 use them to ask where a
dense layer's weights ``W`` (one row per pixel) are large.
"""

from __future__ import annotations

import numpy as np

from nninv.checks import as_matrix

RARELY = 0.05
"""A pixel inked in fewer than this share of the images (and in at least one) is rarely inked."""


def frequency(images) -> np.ndarray:
    """Per pixel, the share of ``images`` (rows, or ``(n, 28, 28)``) in which it is above 0."""
    images = as_matrix(np.reshape(images, (len(images), -1)), "images")
    return np.mean(images > 0, axis=0)


def never_inked(share: np.ndarray) -> np.ndarray:
    """Pixels inked in no image, from :func:`frequency`."""
    return np.asarray(share) == 0


def rarely_inked(share: np.ndarray, threshold: float = RARELY) -> np.ndarray:
    """Pixels inked in at least one image but in fewer than ``threshold`` of them, from :func:`frequency`."""
    share = np.asarray(share)
    return (share > 0) & (share < threshold)


def commonly_inked(share: np.ndarray, threshold: float = RARELY) -> np.ndarray:
    """Pixels inked in ``threshold`` of the images or more, from :func:`frequency`."""
    return np.asarray(share) >= threshold


def row_sizes(W) -> np.ndarray:
    """The Euclidean length of each row of ``W`` (``n_in x n_out``): the size of one input's weights."""
    return np.linalg.norm(as_matrix(W, "W"), axis=1)


def rare_to_common_ratio(W, share: np.ndarray, threshold: float = RARELY) -> float:
    """Mean row size of ``W`` on rarely inked pixels over its mean row size on commonly inked ones."""
    sizes = row_sizes(W)
    rare, common = rarely_inked(share, threshold), commonly_inked(share, threshold)
    if sizes.shape != np.shape(share):
        raise ValueError(f"W has {sizes.size} rows but the ink frequencies cover {np.size(share)} pixels")
    if not rare.any() or not common.any():
        raise ValueError("the images have no rarely inked or no commonly inked pixel: the ratio is undefined")
    return float(sizes[rare].mean() / sizes[common].mean())
