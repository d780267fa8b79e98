"""The one place that measures a result: of a layer, of a chain of layers, and of the model it was read from.

Every preimage the package returns is measured here before it is returned.

*A layer.* For a dense layer solved as ``x W + b = z`` (``z = a^{-1}(y)``,
centred for softmax; see :mod:`nninv.activations`), :func:`layer_residuals`
gives the relative residual ``||x W + b - z|| / ||z||`` per row and
:func:`check_layer` refuses any row where

.. math::

    \\|x W + b - z\\| > \\tau \\|z\\| + \\min(n_{in} \\varepsilon \\|x\\| \\|W\\|_F,\\ \\sqrt{\\varepsilon} \\|z\\|)

(``tau = range_tol``): the last term is the round-off of evaluating ``x W``
itself (Higham 2002, eq. 3.5), never more than ``sqrt(eps)`` of the target's
size, so an ``x`` so large that float64 cannot reproduce ``y`` is refused,
not called exact. The refusal names its cause, in this order: a size beyond
float64 (an entry or a norm that overflows), an output the layer cannot
produce (``a^{-1}(y)`` far from the layer's row space), a preimage far larger
than the least-norm one, which float64 would reproduce (so that the round-off
of ``x W`` swamps ``y``), and otherwise a preimage lost to the conditioning of
``W``.

Norms are taken scaled (:func:`row_norms`): a row is divided by its largest
magnitude before it is squared, so sizes up to float64's largest number are
measured without overflow or underflow.

*A chain.* :func:`check_network` runs the layers forward from a preimage of
the whole network and checks its last layer as above.

*A model.* :func:`check_against_model` compares the model's own output on
the preimage (through a callable the reader supplies, so nothing here knows
Keras) with the float64 chain's, within :func:`rounding_bound`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nninv.activations import NotInvertibleError
from nninv.checks import as_tolerance
from nninv.operators import Matrix

RANGE_TOL = 1e-6
"""The default relative residual a preimage may have."""

EPS = float(np.finfo(np.float64).eps)
SQRT_EPS = float(np.sqrt(EPS))
_TINY_SQUARE = 1e-280  # below this a sum of squares has lost digits to underflow


def row_norms(a) -> np.ndarray:
    """The Euclidean norm of each row (the last axis) of ``a``, without overflow or underflow.

    Parameters
    ----------
    a : array_like
        Any array; norms are over its last axis.

    Returns
    -------
    numpy.ndarray
        ``||a_i||`` per row: ``inf`` where a row holds an infinite entry,
        ``nan`` where it holds a NaN.

    Notes
    -----
    The sum of squares is taken directly, and again scaled where it
    overflowed or underflowed:

    .. math:: \\|a\\| = s \\sqrt{\\textstyle\\sum_j (a_j / s)^2}, \\qquad s = \\max_j |a_j|.

    Examples
    --------
    >>> print(row_norms(np.array([[3e200, 4e200], [3e-200, 4e-200]])))
    [5.e+200 5.e-200]
    """
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        squares = np.einsum("...i,...i->...", a, a)  # without an a-sized temporary
        norms = np.sqrt(squares)
        fix = ~np.isfinite(squares) | (squares < _TINY_SQUARE)
        if fix.any():
            rows = a[fix]
            scale = np.max(np.abs(rows), axis=-1, initial=0.0)
            safe = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
            scaled = scale * np.sqrt(np.sum((rows / safe[:, np.newaxis]) ** 2, axis=-1))
            norms[fix] = np.where(np.isfinite(scale), scaled, scale)
    return norms


def relative(miss, size) -> np.ndarray:
    """``miss / size`` elementwise with ``0 / 0 = 0`` and ``miss / 0 = inf``.

    Examples
    --------
    >>> print(relative(np.array([1.0, 0.0, 2.0]), np.array([4.0, 0.0, 0.0])))
    [0.25 0.   inf]
    """
    miss, size = np.broadcast_arrays(np.asarray(miss, dtype=np.float64), np.asarray(size, dtype=np.float64))
    with np.errstate(invalid="ignore", over="ignore"):
        return np.divide(miss, size, out=np.where(miss > 0, np.inf, 0.0), where=size > 0)


def layer_residuals(layer, x: np.ndarray, t: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The miss ``||x W - t||`` and the relative residual ``miss / ||z||`` of ``x`` as a preimage.

    Parameters
    ----------
    layer : DenseInverse
        Any object with ``solve_weights`` (the ``W`` of ``x W + b = z``).
    x : numpy.ndarray
        ``(m, n_in)``, or ``(m, k, n_in)`` for ``k`` candidates per target.
    t : numpy.ndarray
        ``(m, n_out)``: the targets ``z - b``.
    size : numpy.ndarray
        ``(m,)``: ``||z||`` per target.

    Returns
    -------
    miss, residual : numpy.ndarray
        Both of ``x``'s shape without its last axis.

    Examples
    --------
    >>> from nninv import DenseInverse
    >>> layer = DenseInverse(np.eye(2), np.zeros(2), "linear")
    >>> miss, residual = layer_residuals(layer, np.array([[1.0, 1.0]]), np.array([[1.0, 0.0]]), np.array([1.0]))
    >>> print(miss, residual)
    [1.] [1.]
    """
    expand = (slice(None), np.newaxis) if x.ndim == 3 else (slice(None),)
    with np.errstate(over="ignore", invalid="ignore"):
        miss = row_norms(x @ layer.solve_weights - t[expand])
    return miss, relative(miss, size[expand])


def check_layer(layer, x: np.ndarray, t: np.ndarray, size: np.ndarray, range_tol: float | None) -> np.ndarray:
    """``x`` once every row keeps the contract of the module; otherwise the ``ValueError`` that says why.

    Parameters
    ----------
    layer : DenseInverse
        The layer (its ``name``, ``n_in``, ``n_out``, ``rank``,
        ``solve_weights``, ``pinv``, ``round_off``, ``range_distance`` and
        ``condition_number_on_row_space``).
    x, t, size : numpy.ndarray
        As for :func:`layer_residuals`.
    range_tol : float or None
        ``tau`` of the module; ``None`` returns ``x`` unmeasured.

    Returns
    -------
    numpy.ndarray
        ``x`` itself.

    Examples
    --------
    >>> from nninv import DenseInverse
    >>> layer = DenseInverse(np.eye(2), np.zeros(2), "linear", name="id")
    >>> x = np.array([[1.0, 0.0]])
    >>> check_layer(layer, x, x, np.array([1.0]), 1e-6) is x
    True
    """
    if range_tol is None:  # the caller asked for the least-squares result as it is
        return x
    range_tol = as_tolerance(range_tol, "range_tol", zero_allowed=True)
    miss, residual = layer_residuals(layer, x, t, size)
    expand = (slice(None), np.newaxis) if x.ndim == 3 else (slice(None),)
    norms = row_norms(x)
    with np.errstate(over="ignore", invalid="ignore"):
        round_off = np.minimum(layer.round_off * norms, SQRT_EPS * size[expand])
        allowed = range_tol * size[expand] + round_off
    refused = ~(np.isfinite(miss) & np.isfinite(norms) & (miss <= allowed))
    if refused.any():
        raise _refusal(layer, x, t, size, miss, residual, norms, refused, range_tol)
    return x


def _refusal(layer, x, t, size, miss, residual, norms, refused, range_tol: float) -> ValueError:
    """The error for a preimage that misses, with its cause (see the module)."""
    badness = np.where(refused, np.where(np.isfinite(residual), residual, np.inf), -1.0)
    worst = np.unravel_index(int(np.argmax(badness)), residual.shape)
    row = worst[0]
    head = f"layer '{layer.name}' ({layer.n_in} -> {layer.n_out}, rank {layer.rank})"
    measured = (
        f"the preimage misses by relative residual ||x W + b - a^-1(y)|| / ||a^-1(y)|| = "
        f"{residual[worst]:.3g} > range_tol={range_tol} (row {row})"
    )
    if not (np.isfinite(size[row]) and np.isfinite(norms[worst]) and np.isfinite(miss[worst])):
        return ValueError(
            f"{head}: the preimage overflows float64 (row {row}: ||a^-1(y)|| = {size[row]:.3g}, "
            f"||x|| = {norms[worst]:.3g}); its size is beyond what float64 can represent or multiply. "
            "Rescale the output or the weights to moderate sizes"
        )
    out_of_range = float(relative(layer.range_distance(t[row : row + 1])[0], size[row]))
    if out_of_range > range_tol:
        return ValueError(
            f"{head} cannot produce its given output: a^-1(y) lies at relative distance "
            f"{out_of_range:.3g} from the pre-activations the layer can produce; {measured}. "
            "y is not an output of this layer (or was rounded, as float32 outputs of a saturated "
            "sigmoid or tanh are); pass range_tol=None to accept the least-squares preimage."
        )
    # x far larger than the least-norm preimage, which float64 would reproduce: its size is the cause.
    least = float(row_norms(t[row : row + 1] @ layer.pinv)[0])
    if norms[worst] > 10 * least and layer.round_off * least <= range_tol * size[row]:
        return ValueError(
            f"{head}: the preimage is too large for float64 to reproduce y: ||x|| = {norms[worst]:.3g} where "
            f"the least-norm preimage has {least:.3g}, and the round-off of x W grows with ||x||; {measured}. "
            "Draw smaller inputs (a smaller scale, a prior nearer the data) or pass range_tol=None to accept "
            "it as it is."
        )
    return ValueError(
        f"{head} loses its preimage to round-off: y is in range (relative distance {out_of_range:.2g}) "
        f"but W has condition number {layer.condition_number_on_row_space:.3g} on its row space; {measured}. "
        "Pass range_tol=None to accept this preimage as it is, or rescale or regularise W."
    )


def check_network(layers: Sequence, x: np.ndarray, y_rows: np.ndarray, range_tol: float | None) -> np.ndarray:
    """The chain's output at ``x``, once its last layer confirms that it reproduces ``y_rows``.

    Each layer's preimage was checked by :func:`check_layer` on its own; this
    checks the composition, which later layers can spoil by amplifying the
    round-off of earlier ones.

    Parameters
    ----------
    layers : sequence of DenseInverse
        Input side first.
    x : numpy.ndarray
        ``(m, n_in)`` preimages of the whole chain.
    y_rows : numpy.ndarray
        ``(m, n_out)`` outputs.
    range_tol : float or None

    Returns
    -------
    numpy.ndarray
        ``f(x)``, ``(m, n_out)``.

    Examples
    --------
    >>> from nninv import DenseInverse
    >>> layers = [DenseInverse(np.eye(2), np.zeros(2), "tanh", name="a")]
    >>> y = layers[0].forward(np.array([[0.1, 0.2]]))
    >>> np.allclose(check_network(layers, np.array([[0.1, 0.2]]), y, 1e-6), y)
    True
    """
    hidden = x
    for layer in layers[:-1]:
        hidden = layer.forward(hidden)
    last = layers[-1]
    try:
        last.verify(hidden, y_rows, range_tol)
    except ValueError as error:
        raise ValueError(
            f"each layer's preimage is exact but the network's is not, as later layers amplify earlier "
            f"round-off: {error} Pass range_tol=None to accept it, or a larger range_tol"
        ) from None
    return last.forward(hidden)


def rounding_bound(layers: Sequence, x, unit: float, confidence: float = 10.0) -> np.ndarray:
    """Elementwise, a bound on ``|f^(x) - f(x)|`` for ``f^`` the chain evaluated with unit round-off ``unit``.

    Parameters
    ----------
    layers : sequence of DenseInverse or AffineLayer
    x : array_like
        ``(m, n_in)`` inputs.
    unit : float
        The unit round-off of the evaluation (``2**-24`` for float32).
    confidence : float
        ``c`` below.

    Returns
    -------
    numpy.ndarray
        ``(m, n_out)``.

    Notes
    -----
    The input is rounded (``u |x|``). A layer turns an error ``e`` in its
    input ``h`` into

    .. math:: e_z = e |W| + \\gamma (|h| |W| + |b|), \\qquad \\gamma = c \\sqrt{n_{in} + 1}\\, u

    in ``z = h W + b``, where ``gamma`` bounds a rounded inner product except
    with probability below ``2 (n_in + 1) exp(-c^2 / 2)`` (Higham and Mary
    2019, theorem 2.4; 3e-19 for ``c = 10``). The activation moves the error
    (:meth:`nninv.activations.Activation.moved_error`); its own evaluation adds
    ``(8 + n_out + 4 max_row |z|) u |y|`` (the exponent's rounding and
    softmax's sum included).

    Examples
    --------
    >>> from nninv import DenseInverse
    >>> layers = [DenseInverse(np.eye(2), np.zeros(2), "linear")]
    >>> bool(np.all(rounding_bound(layers, np.ones((1, 2)), 2.0**-24) > 0))
    True
    """
    h = np.asarray(x, dtype=np.float64)
    error = unit * np.abs(h)
    for layer in layers:
        gamma = confidence * np.sqrt(layer.n_in + 1) * unit
        affine = layer.map if hasattr(layer, "map") else Matrix(layer.W, layer.b)  # an AffineLayer's, or W
        magnitude = affine.absolute()  # |A| and |b|, or a bound on them
        z = affine.apply(h)
        z_error = magnitude.linear(error) + gamma * magnitude.apply(np.abs(h))
        h = layer.activation.forward(z)
        moved = layer.activation.moved_error(z, z_error, h)
        error = moved + (8 + layer.n_out + 4 * np.abs(z).max(axis=1, keepdims=True, initial=0.0)) * unit * np.abs(h)
    return error


ModelRun = Callable[[np.ndarray], tuple[np.ndarray, float]]
"""A model's own evaluation: inputs ``(m, n_in)`` to its outputs ``(m, n_out)`` and its unit round-off."""


def check_against_model(run_model: ModelRun, layers: Sequence, x: np.ndarray, output: np.ndarray, *,
                        name: str = "model", precision: str = "its precision",
                        where: str = "the preimage") -> np.ndarray:
    """``run_model(x)``, once it agrees with ``output`` (the float64 chain's) within :func:`rounding_bound`.

    Parameters
    ----------
    run_model : callable
        ``x -> (model outputs, unit round-off)``, supplied by the reader of
        the model (:mod:`nninv.reader`).
    layers : sequence of DenseInverse
        The chain read from the model.
    x, output : numpy.ndarray
        The preimage and the chain's output there.
    name, precision, where : str
        The model's name, its compute precision and what ``x`` is, for the error.

    Returns
    -------
    numpy.ndarray
        The model's outputs.

    Examples
    --------
    >>> from nninv import DenseInverse
    >>> layers = [DenseInverse(np.eye(2), np.zeros(2), "linear")]
    >>> x = np.ones((1, 2))
    >>> print(check_against_model(lambda x: (x.astype(np.float32), 2.0**-24), layers, x, x))
    [[1. 1.]]
    """
    computed, unit = run_model(x)
    deviation = np.abs(computed - output)
    if np.any(deviation > rounding_bound(layers, x, unit)):
        raise NotInvertibleError(
            f"model '{name}' computes something else than the layers read from it: on {where} its "
            f"output differs from theirs by up to {deviation.max():.3g}, beyond the round-off of its "
            f"{precision} (or the model computes below that precision, as TensorFloat-32 does); "
            "pass a list of DenseInverse that describes the network"
        )
    return computed
