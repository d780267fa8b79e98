"""Invertible activations, their inverses, and the domains on which the inverses exist.

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

Softmax is invariant under ``z -> z + c 1``: its preimage of ``y`` is the whole
line ``log y + c 1``. :func:`softmax_centring` turns that into an ordinary
equation: ``softmax(z) = y`` exactly when ``z C = log y - mean(log y)`` with the
centring projector ``C = I - 1 1^T / k``. The zero-mean representative returned
by ``inverse`` is therefore not an arbitrary choice of the constant: it is the
only one the centred equation needs, and :class:`nninv.DenseInverse` solves that
equation, so every constant is covered at once.

ReLU is not here on purpose: it sends every negative pre-activation to 0, so
``relu(z) = 0`` has a half-line of solutions per unit and no inverse exists.
"""

from __future__ import annotations

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

    Values outside the open interval (0, 1) have no finite logit and raise a
    ``ValueError`` that counts them. Outputs of 0 or 1 usually come from float32
    saturation (``sigmoid(z)`` rounds to exactly 1.0 in float32 once ``z > 16.6``).
    ``clip=eps`` instead moves every value into ``[eps, 1 - eps]`` first; the
    result is then the preimage of the clipped values, not of ``y``.
    """
    y = as_float_array(y, "sigmoid output")
    if clip is not None:
        if not 0.0 < clip < 0.5:
            raise ValueError(f"clip must lie strictly between 0 and 0.5, got {clip}")
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
    """An injective activation with its inverse; ``name`` is the Keras name."""

    name: ClassVar[str]

    def forward(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def inverse(self, y, *, where: str = "") -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True)
class Linear(Activation):
    name: ClassVar[str] = "linear"

    def forward(self, z):
        return np.asarray(z, dtype=np.float64)

    def inverse(self, y, *, where=""):
        return as_float_array(y, "linear output")


@dataclass(frozen=True)
class Sigmoid(Activation):
    name: ClassVar[str] = "sigmoid"

    def forward(self, z):
        return special.expit(z)

    def inverse(self, y, *, where=""):
        return logit(y, where=where)


@dataclass(frozen=True)
class Tanh(Activation):
    name: ClassVar[str] = "tanh"

    def forward(self, z):
        return np.tanh(z)

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
    """``z`` for ``z >= 0`` and ``s z`` below; invertible for every slope ``s > 0``."""

    negative_slope: float = 0.2
    name: ClassVar[str] = "leaky_relu"

    def __post_init__(self):
        slope = self.negative_slope
        if not (np.isfinite(slope) and slope > 0):
            raise NotInvertibleError(
                f"leaky_relu with negative_slope={slope} is not injective: the slope must be "
                "a finite number > 0 (slope 0 is ReLU, which forgets negative pre-activations)"
            )

    def forward(self, z):
        z = np.asarray(z, dtype=np.float64)
        return np.where(z >= 0, z, self.negative_slope * z)

    def inverse(self, y, *, where=""):
        y = as_float_array(y, "leaky_relu output")
        return np.where(y >= 0, y, y / self.negative_slope)


@dataclass(frozen=True)
class Softmax(Activation):
    """Softmax over the last axis; inverse up to the constant described in the module."""

    name: ClassVar[str] = "softmax"

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


def softmax_centring(width: int) -> np.ndarray:
    """The centring projector ``C = I - 1 1^T / k`` that removes softmax's free constant."""
    return np.eye(width) - np.full((width, width), 1.0 / width)


_BY_NAME = {"linear": Linear, "sigmoid": Sigmoid, "tanh": Tanh, "leaky_relu": LeakyReLU, "softmax": Softmax}


def get_activation(spec: str | Activation) -> Activation:
    """An :class:`Activation` from a name (Keras's spelling) or an instance.

    ``"leaky_relu"`` takes Keras's default slope for the function, 0.2; pass
    ``LeakyReLU(s)`` for another slope.
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
