"""The null-space explorer: what a chapter page needs to move a preimage through the preimage set in the browser.

A sigmoid layer ``y = sigmoid(x W + b)`` maps every ``x + v`` with ``v W = 0``
to the same outputs. The page shows one exact preimage ``x_0`` on a canvas and
a few sliders; slider ``k`` at value ``s_k`` (in standard deviations of the
prior along its direction) shows

.. math:: x(s) = x_0 + \\sum_k s_k \\sigma_k d_k,

where the ``d_k`` are the leading eigenvectors of the prior covariance
restricted to the null space, ``N^T \\Sigma N`` (``N`` an orthonormal basis of
the null space), mapped back by ``N``, and ``\\sigma_k^2`` their eigenvalues:
the directions in which images under the prior vary most while the outputs
stay fixed. A second mode uses the leading directions of the prior restricted
to the row space, along which the outputs move. The page computes the ten
outputs of ``x(s)`` from ``W`` and ``b`` itself, in float64 (JavaScript
numbers), and shows the largest change from the outputs of ``x_0``.

:func:`explorer_data` computes everything the page needs as a JSON-ready
dict (float64 arrays as base64 of their little-endian bytes, so that they
cross into the page exactly and compactly); :func:`outputs` and
:func:`pixel_change` are what the page shows, computed here so that a chapter
can glue them and a test can compare; :func:`element` is the HTML the chapter
displays, with the data inlined (a page opened from ``file://`` cannot fetch a
file beside it). The page's script is ``static/nullspace-explorer.js``, served
by :mod:`nninv_book.sphinx_page_fixes`.
"""

from __future__ import annotations

import base64
import html
import json

import numpy as np
from IPython.display import HTML

from nninv.checks import as_matrix

MODES = ("null", "row")
"""The explorer's two modes: along the null space (outputs fixed) and along the row space (outputs move)."""


def encode(array) -> str:
    """``array`` as base64 of its float64 little-endian bytes, in C order.

    Examples
    --------
    >>> encode([1.0, -2.0])
    'AAAAAAAA8D8AAAAAAAAAwA=='
    """
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f8").tobytes()).decode("ascii")


def decode(text: str, shape=(-1,)) -> np.ndarray:
    """The float64 array that :func:`encode` wrote, reshaped to ``shape``.

    Examples
    --------
    >>> print(decode(encode([[1.0, 2.0], [3.0, 4.0]]), (2, 2)))
    [[1. 2.]
     [3. 4.]]
    """
    return np.frombuffer(base64.b64decode(text), dtype="<f8").reshape(shape)


def _leading_directions(basis: np.ndarray, cov: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` leading eigenvectors of ``cov`` restricted to the span of ``basis``, as rows, and their s.d."""
    variances, vectors = np.linalg.eigh(basis.T @ cov @ basis)
    order = np.argsort(variances)[::-1][:count]
    directions = (basis @ vectors[:, order]).T
    # A fixed sign: the largest entry of each direction is positive.
    signs = np.sign(directions[np.arange(count), np.abs(directions).argmax(axis=1)])
    return directions * signs[:, np.newaxis], np.sqrt(np.maximum(variances[order], 0.0))


def explorer_data(layer, prior, images, labels, *, n_directions: int = 4, spread: float = 2.0) -> dict:
    """The explorer's data: ``W``, ``b``, the exact Gaussian preimages of ``images`` and the directions.

    Parameters
    ----------
    layer : nninv.DenseInverse
        A sigmoid layer whose input is a square image (``n_in = side**2``).
    prior : nninv.GaussianPrior
        The prior whose most probable exact preimage starts each image, and
        whose covariance ranks the directions.
    images, labels : array_like
        The test images whose outputs are inverted, and their labels (shown).
    n_directions : int
        Sliders per mode, at most the dimension of the row space and of the null space.
    spread : float
        Each slider runs over ``[-spread, spread]`` standard deviations of the prior.

    Returns
    -------
    dict
        JSON-ready: ``W`` (``n_in x n_out``, row-major), ``b``, per digit its
        label and ``start`` (the preimage ``layer.gaussian(layer.forward(image),
        prior)``), and per mode its unit ``directions`` (rows) and their prior
        standard deviations ``scales``.

    Examples
    --------
    >>> import nninv
    >>> rng = np.random.default_rng(0)
    >>> layer = nninv.DenseInverse(rng.normal(size=(4, 2)), np.zeros(2), "sigmoid")
    >>> prior = nninv.GaussianPrior(np.full(4, 0.5), np.eye(4))
    >>> data = explorer_data(layer, prior, rng.random((1, 4)), [3], n_directions=2)
    >>> data["side"], [len(mode["scales"]) for mode in data["modes"]]
    (2, [2, 2])
    """
    if layer.activation.name != "sigmoid":
        raise ValueError(f"the explorer computes a sigmoid layer in the page; layer '{layer.name}' "
                         f"has activation '{layer.activation.name}'")
    side = int(round(np.sqrt(layer.n_in)))
    if side * side != layer.n_in:
        raise ValueError(f"the explorer draws square images; layer '{layer.name}' has {layer.n_in} inputs")
    most = min(layer.rank, layer.n_in - layer.rank)
    if not 1 <= n_directions <= most:
        raise ValueError(f"n_directions must be between 1 and {most} (the smaller of the row and null "
                         f"space dimensions), not {n_directions}")
    if not spread > 0:
        raise ValueError(f"spread must be a positive number of standard deviations, not {spread}")
    images = as_matrix(images, "images")
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels: give one label per image")
    starts = np.atleast_2d(layer.gaussian(layer.forward(images), prior))
    modes = []
    for name, basis in zip(MODES, (layer.null_space, layer.row_basis)):
        directions, scales = _leading_directions(np.asarray(basis), prior.cov, n_directions)
        modes.append({"name": name, "directions": encode(directions), "scales": scales.tolist()})
    return {
        "side": side, "n_in": layer.n_in, "n_out": layer.n_out, "spread": float(spread),
        "W": encode(layer.W), "b": encode(layer.b),
        "digits": [{"label": int(label), "start": encode(start)} for label, start in zip(labels, starts)],
        "modes": modes,
    }


def image(data: dict, digit: int, mode: str, positions) -> np.ndarray:
    """The image the page shows: digit ``digit``'s start plus ``positions`` (slider values) along ``mode``'s directions.

    Examples
    --------
    >>> data = {"n_in": 2, "digits": [{"start": encode([0.5, 0.5])}],
    ...         "modes": [{"name": "null", "directions": encode([1.0, -1.0]), "scales": [0.25]}]}
    >>> print(image(data, 0, "null", [2.0]))
    [1. 0.]
    """
    chosen = next((entry for entry in data["modes"] if entry["name"] == mode), None)
    if chosen is None:
        raise ValueError(f"mode must be one of {[entry['name'] for entry in data['modes']]}, not {mode!r}")
    scales = np.asarray(chosen["scales"])
    positions = np.asarray(positions, dtype=np.float64)
    if positions.shape != scales.shape:
        raise ValueError(f"positions must give one value per slider ({scales.size}), not shape {positions.shape}")
    directions = decode(chosen["directions"], (scales.size, data["n_in"]))
    return decode(data["digits"][digit]["start"]) + (positions * scales) @ directions


def outputs(data: dict, digit: int, mode: str, positions) -> np.ndarray:
    """The ten outputs the page computes for :func:`image`: ``sigmoid(x W + b)`` in float64.

    Examples
    --------
    >>> data = {"n_in": 2, "n_out": 1, "W": encode([[1.0], [1.0]]), "b": encode([0.0]),
    ...         "digits": [{"start": encode([0.5, -0.5])}],
    ...         "modes": [{"name": "null", "directions": encode([1.0, -1.0]), "scales": [1.0]}]}
    >>> print(outputs(data, 0, "null", [3.0]))
    [0.5]
    """
    W = decode(data["W"], (data["n_in"], data["n_out"]))
    return 1.0 / (1.0 + np.exp(-(image(data, digit, mode, positions) @ W + decode(data["b"]))))


def pixel_change(data: dict, digit: int, mode: str, slider: int) -> float:
    """Mean absolute change of the shown pixels (clipped to [0, 1]) as one slider runs over its range.

    Examples
    --------
    >>> data = {"n_in": 2, "spread": 1.0, "digits": [{"start": encode([0.5, 0.5])}],
    ...         "modes": [{"name": "null", "directions": encode([1.0, -1.0]), "scales": [0.25]}]}
    >>> pixel_change(data, 0, "null", 0)
    0.5
    """
    count = len(next(entry for entry in data["modes"] if entry["name"] == mode)["scales"])
    ends = [np.clip(image(data, digit, mode, np.eye(count)[slider] * end), 0.0, 1.0)
            for end in (-data["spread"], data["spread"])]
    return float(np.mean(np.abs(ends[1] - ends[0])))


PRINT_NOTE = ("In the HTML version of this page the sliders move the image through the preimage set while "
              "the page recomputes the ten outputs from W and b; printed, it shows the starting image.")


def element(data: dict) -> HTML:
    """The explorer's HTML: its root element, with ``data`` inlined as JSON and a note for print."""
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return HTML(
        '<div class="nullspace-explorer">'
        f'<script type="application/json" class="explorer-data">{payload}</script>'
        f'<p class="explorer-print-note">{html.escape(PRINT_NOTE)}</p></div>'
    )
