"""Invertible activations: each one object that knows its map, inverse, derivatives and range.

An activation ``a`` maps pre-activations ``z`` to outputs ``y = a(z)``. Each one
here is injective, so ``a^{-1}(y)`` is defined on the range of ``a`` and is
refused, with a count of the offending values, everywhere else:

=============  =====================================  =========================
activation     inverse                                range of ``a``
=============  =====================================  =========================
linear         ``z = y``                              all of R
sigmoid        ``z = log(y / (1 - y))`` (logit)       ``0 < y < 1``
tanh           ``z = artanh(y)``                      ``-1 < y < 1``
leaky_relu     ``z = y`` if ``y >= 0`` else ``y / s``  all of R (slope ``s > 0``)
softmax        ``z = log y - mean(log y)``            ``y > 0``, rows sum to 1
=============  =====================================  =========================

Every other module asks the activation object and never its type: the
forward map and its derivative (:meth:`Activation.forward_and_derivative`),
the inverse with its range check (:meth:`Activation.inverse`) and without it,
with its slope (:meth:`Activation.inverse_and_slope`), the open range
(:meth:`Activation.inside`, :attr:`Activation.interior`), the linear system a
dense layer solves (:meth:`Activation.solved_form`) and how a rounding error
in ``z`` moves ``a(z)`` (:meth:`Activation.moved_error`).

Softmax is invariant under ``z -> z + c 1``: its preimage of ``y`` is the whole
line ``log y + c 1``. :func:`softmax_centring` turns that into an ordinary
equation: ``softmax(z) = y`` exactly when ``z C = log y - mean(log y)`` with the
centring projector ``C = I - 1 1^T / k``. The zero-mean representative returned
by ``inverse`` is therefore not an arbitrary choice of the constant: it is the
only one the centred equation needs, and :class:`nninv.DenseInverse` solves that
equation, so every constant is covered at once.

ReLU is not here on purpose: it sends every negative pre-activation to 0, so
``relu(z) = 0`` has a half-line of solutions per unit and no inverse exists
(:func:`nninv.relu_preimage` describes its preimages instead).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import special

from nninv.checks import as_float_array


class NotInvertibleError(ValueError):
    """A layer or activation that is not injective, so no inverse exists."""


SOFTMAX_SUM_TOLERANCE = 1e-6
"""How far a softmax output row may sum from 1 (float32 outputs sum to 1 within ~1e-7)."""


def _outside(y: np.ndarray, bad: np.ndarray, what: str, advice: str, where: str) -> ValueError:
    prefix = f"{where}: " if where else ""
    return ValueError(
        f"{prefix}{what}; {int(bad.sum())} of {y.size} values are not "
        f"(min {y.min():.17g}, max {y.max():.17g}). {advice}"
    )


def logit(y, clip: float | None = None, *, where: str = "") -> np.ndarray:
    """The inverse of the sigmoid, ``log(y / (1 - y))``, in float64.

    Parameters
    ----------
    y : array_like
        Sigmoid outputs, each strictly between 0 and 1.
    clip : float, optional
        ``eps`` in ``(0, 0.5)``: move every value into ``[eps, 1 - eps]`` first.
        The result is then the preimage of the clipped values, not of ``y``.
    where : str
        What to name in an error (a layer), if anything.

    Returns
    -------
    numpy.ndarray
        ``z`` with ``sigmoid(z) = y``.

    Notes
    -----
    .. math:: \\operatorname{logit}(y) = \\log \\frac{y}{1 - y}

    Values outside the open interval (0, 1) have no finite logit and raise a
    ``ValueError`` that counts them. Outputs of 0 or 1 usually come from float32
    saturation (``sigmoid(z)`` rounds to exactly 1.0 in float32 once ``z > 16.6``).

    Examples
    --------
    >>> logit([0.5, 0.75]).round(6)
    array([0.      , 1.098612])
    """
    y = as_float_array(y, "sigmoid output")
    if clip is not None:
        number = isinstance(clip, numbers.Real) and not isinstance(clip, bool)
        if not (number and 0.0 < clip < 0.5):
            raise ValueError(f"clip must lie strictly between 0 and 0.5 (a number), got {clip!r}")
        y = np.clip(y, clip, 1.0 - clip)
    bad = (y <= 0.0) | (y >= 1.0)
    if bad.any():
        raise _outside(
            y,
            bad,
            "sigmoid outputs must lie strictly between 0 and 1",
            "An output of exactly 0 or 1 has no finite logit: compute the outputs in "
            "float64 (DenseInverse.forward), or pass clip=eps to invert clipped values.",
            where,
        )
    return special.logit(y)


class Activation:
    """An injective activation with its inverse, derivatives and range; ``name`` is the Keras name.

    Subclasses define :meth:`forward_and_derivative`, :meth:`inverse_and_slope`
    and :meth:`inverse`; an activation with a bounded range sets
    ``open_range = (low, high)``. Elementwise activations act on each entry
    alone; softmax (``elementwise = False``) acts on rows.
    """

    name: ClassVar[str]
    open_range: ClassVar[tuple[float, float] | None] = None
    elementwise: ClassVar[bool] = True

    def forward(self, z) -> np.ndarray:
        """``a(z)`` in float64.

        Examples
        --------
        >>> print(get_activation("tanh").forward([0.0]))
        [0.]
        """
        return self.forward_and_derivative(np.asarray(z, dtype=np.float64))[0]

    def forward_and_derivative(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``a(z)`` and ``a'(z)`` elementwise (elementwise activations only).

        Examples
        --------
        >>> h, derivative = get_activation("tanh").forward_and_derivative(np.zeros(1))
        >>> print(h, derivative)
        [0.] [1.]
        """
        raise NotImplementedError

    def inverse_and_slope(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``a^{-1}(h)`` and its derivative ``1 / a'(a^{-1}(h))`` for ``h`` inside the range, unchecked.

        Examples
        --------
        >>> z, slope = get_activation("sigmoid").inverse_and_slope(np.array([0.5]))
        >>> print(z, slope)
        [0.] [4.]
        """
        raise NotImplementedError

    def inverse(self, y, *, where: str = "") -> np.ndarray:
        """``a^{-1}(y)``, refusing values outside the range of ``a`` (naming ``where``).

        Examples
        --------
        >>> print(get_activation("tanh").inverse([0.0]))
        [0.]
        >>> get_activation("tanh").inverse([1.0], where="layer 'h'")
        Traceback (most recent call last):
        ...
        ValueError: layer 'h': tanh outputs must lie strictly between -1 and 1; ...
        """
        raise NotImplementedError

    def inside(self, h) -> np.ndarray:
        """Per row, whether every entry of ``h`` lies in the open range of ``a``.

        Examples
        --------
        >>> get_activation("tanh").inside(np.array([[0.5, -0.2], [1.0, 0.0]]))
        array([ True, False])
        """
        h = np.asarray(h, dtype=np.float64)
        if self.open_range is None:
            return np.ones(h.shape[:-1], dtype=bool)
        low, high = self.open_range
        return np.all((h > low) & (h < high), axis=-1)

    @property
    def interior(self) -> float:
        """A point inside the range of ``a`` (the middle of a bounded range, else 0).

        Examples
        --------
        >>> get_activation("sigmoid").interior
        0.5
        """
        return 0.0 if self.open_range is None else 0.5 * (self.open_range[0] + self.open_range[1])

    def solved_form(self, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The weights and bias of the linear equation ``x W' + b' = a^{-1}(y)`` a dense layer solves.

        ``(W, b)`` itself, except for softmax (centred; see the module).

        Examples
        --------
        >>> W, b = get_activation("linear").solved_form(np.eye(2), np.zeros(2))
        >>> print(W.tolist())
        [[1.0, 0.0], [0.0, 1.0]]
        """
        return W, b

    def moved_error(self, z: np.ndarray, z_error: np.ndarray, h: np.ndarray) -> np.ndarray:
        """A bound on ``|a(z + e) - a(z)|`` for ``|e| <= z_error``, with ``h = a(z)``.

        A monotone elementwise activation moves the error to the larger of
        ``|a(z +- e) - a(z)|``.

        Examples
        --------
        >>> a = get_activation("linear")
        >>> print(a.moved_error(np.zeros(1), np.full(1, 0.5), np.zeros(1)))
        [0.5]
        """
        return np.maximum(np.abs(self.forward(z + z_error) - h), np.abs(self.forward(z - z_error) - h))

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Linear(Activation):
    """The identity, ``a(z) = z``."""

    name: ClassVar[str] = "linear"

    def forward_and_derivative(self, z):
        return z, np.ones_like(z)

    def inverse_and_slope(self, h):
        return h, np.ones_like(h)

    def inverse(self, y, *, where=""):
        return as_float_array(y, "linear output")


@dataclass(frozen=True)
class Sigmoid(Activation):
    """``a(z) = 1 / (1 + exp(-z))``, with range ``(0, 1)``."""

    name: ClassVar[str] = "sigmoid"
    open_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    def forward_and_derivative(self, z):
        h = special.expit(z)
        return h, h * (1.0 - h)

    def inverse_and_slope(self, h):
        return np.log(h) - np.log1p(-h), 1.0 / (h * (1.0 - h))

    def inverse(self, y, *, where=""):
        return logit(y, where=where)


@dataclass(frozen=True)
class Tanh(Activation):
    """``a(z) = tanh(z)``, with range ``(-1, 1)``."""

    name: ClassVar[str] = "tanh"
    open_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)

    def forward_and_derivative(self, z):
        h = np.tanh(z)
        return h, (1.0 - h) * (1.0 + h)

    def inverse_and_slope(self, h):
        return np.arctanh(h), 1.0 / ((1.0 - h) * (1.0 + h))

    def inverse(self, y, *, where=""):
        y = as_float_array(y, "tanh output")
        bad = np.abs(y) >= 1.0
        if bad.any():
            raise _outside(
                y,
                bad,
                "tanh outputs must lie strictly between -1 and 1",
                "Compute the outputs in float64; float32 rounds tanh(z) to +-1 once |z| > 9.",
                where,
            )
        return np.arctanh(y)


@dataclass(frozen=True)
class LeakyReLU(Activation):
    """``z`` for ``z >= 0`` and ``s z`` below; invertible for every slope ``s > 0``.

    Examples
    --------
    >>> print(LeakyReLU(0.5).forward([-2.0, 3.0]))
    [-1.  3.]
    """

    negative_slope: float = 0.2
    name: ClassVar[str] = "leaky_relu"

    def __post_init__(self):
        slope = self.negative_slope
        if isinstance(slope, bool) or not isinstance(slope, numbers.Real):
            raise ValueError(f"leaky_relu's negative_slope must be a number, got {type(slope).__name__} {slope!r}")
        if not (np.isfinite(slope) and slope > 0):
            raise NotInvertibleError(
                f"leaky_relu with negative_slope={slope} is not injective: the slope must be "
                "a finite number > 0 (slope 0 is ReLU, which forgets negative pre-activations)"
            )

    def forward(self, z):
        z = np.asarray(z, dtype=np.float64)
        return np.where(z >= 0, z, self.negative_slope * z)

    def forward_and_derivative(self, z):
        return self.forward(z), np.where(z >= 0, 1.0, self.negative_slope)

    def inverse_and_slope(self, h):
        slope = np.where(h >= 0, 1.0, 1.0 / self.negative_slope)
        return h * slope, slope

    def inverse(self, y, *, where=""):
        y = as_float_array(y, "leaky_relu output")
        return self.inverse_and_slope(y)[0]


@dataclass(frozen=True)
class Softmax(Activation):
    """Softmax over the last axis; inverse up to the constant described in the module."""

    name: ClassVar[str] = "softmax"
    elementwise: ClassVar[bool] = False

    def forward(self, z):
        return special.softmax(np.asarray(z, dtype=np.float64), axis=-1)

    def inverse(self, y, *, where=""):
        y = as_float_array(y, "softmax output")
        bad = y <= 0.0
        if bad.any():
            raise _outside(
                y,
                bad,
                "softmax outputs must be strictly positive",
                "A zero probability has no finite log: compute the outputs in float64.",
                where,
            )
        drift = np.abs(y.sum(axis=-1) - 1.0)
        if (drift > SOFTMAX_SUM_TOLERANCE).any():
            prefix = f"{where}: " if where else ""
            raise ValueError(
                f"{prefix}softmax output rows must sum to 1; {int((drift > SOFTMAX_SUM_TOLERANCE).sum())} "
                f"row(s) miss by more than {SOFTMAX_SUM_TOLERANCE} (worst {drift.max():.3g}). "
                "Pass the probabilities the layer produced, not scores or a subset of classes."
            )
        log_y = np.log(y)
        return log_y - log_y.mean(axis=-1, keepdims=True)

    def solved_form(self, W, b):
        centring = softmax_centring(W.shape[1])
        with np.errstate(all="ignore"):  # an overflow is refused where the weights are factorised
            return W @ centring, b @ centring

    def moved_error(self, z, z_error, h):
        # Softmax's Jacobian has rows whose entries sum to at most 1/2 in absolute value.
        return 0.5 * z_error.max(axis=-1, keepdims=True)


def softmax_centring(width: int) -> np.ndarray:
    """The centring projector ``C = I - 1 1^T / k`` that removes softmax's free constant.

    Examples
    --------
    >>> print(softmax_centring(2))
    [[ 0.5 -0.5]
     [-0.5  0.5]]
    """
    return np.eye(width) - np.full((width, width), 1.0 / width)


_BY_NAME = {"linear": Linear, "sigmoid": Sigmoid, "tanh": Tanh, "leaky_relu": LeakyReLU, "softmax": Softmax}


def get_activation(spec: str | Activation) -> Activation:
    """An :class:`Activation` from a name (Keras's spelling) or an instance.

    Parameters
    ----------
    spec : str or Activation
        ``"linear"``, ``"sigmoid"``, ``"tanh"``, ``"leaky_relu"`` (Keras's
        default slope for the function, 0.2; pass ``LeakyReLU(s)`` for another)
        or ``"softmax"``; an instance is returned as it is.

    Returns
    -------
    Activation

    Examples
    --------
    >>> get_activation("leaky_relu")
    LeakyReLU(negative_slope=0.2)
    """
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str):
        raise TypeError(
            f"activation must be a name ({', '.join(_BY_NAME)}) or an nninv.activations.Activation, "
            f"got {type(spec).__name__} {spec!r}"
        )
    if spec in ("relu", "relu6"):
        raise NotInvertibleError(
            f"activation '{spec}' is not injective: it sends every negative pre-activation "
            "to 0, so the pre-activation cannot be recovered; use leaky_relu instead"
        )
    if spec not in _BY_NAME:
        raise NotInvertibleError(
            f"activation {spec!r} is not supported for inversion; supported: {', '.join(_BY_NAME)}"
        )
    return _BY_NAME[spec]()
