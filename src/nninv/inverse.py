"""Exact, batched, closed-form preimages of a dense layer ``y = a(x W + b)``.

Notation (row vectors, Keras's convention): ``x`` has ``n_in`` entries, ``W``
is ``n_in x n_out``, ``b`` has ``n_out``. With the thin singular value
decomposition ``W = U S V^T`` and numerical rank ``r``,

* the layer's pre-activation ``t = a^{-1}(y) - b`` is reachable exactly when
  ``t = t V_r V_r^T`` (``t`` lies in the row space of ``W``);
* then the preimage set ``{x : a(x W + b) = y}`` is the affine subspace
  ``{x : x U_r = c}`` with ``c = t V_r S_r^{-1}``, of dimension ``n_in - r``;
* its point of least norm is ``c U_r^T = t W^+`` (the Moore-Penrose
  pseudo-inverse, Penrose 1955), and ``x W W^+ = x U_r U_r^T`` is the orthogonal
  projection of ``x`` onto the span of ``W``'s columns.

The numerical rank counts singular values above
``max(n_in, n_out) * eps * s_max`` (the rule of ``numpy.linalg.matrix_rank``);
directions below it are treated as exact zeros and show up in ``rank``.

Exactness is measured, not assumed: every preimage method hands the ``x`` it
is about to return to :func:`nninv.verify.check_layer`, which refuses it,
naming the cause, unless ``||x W + b - z|| <= range_tol ||z||`` up to the
round-off of ``x W`` itself. ``range_tol=None`` skips the check and returns
the least-squares preimage as computed.
"""

from __future__ import annotations

import functools
from functools import cached_property

import numpy as np

from nninv.activations import Activation, get_activation
from nninv.box import box_projection
from nninv.checks import as_count, as_matrix, as_rows, as_tolerance, as_vector
from nninv.conditioning import gaussian_gain, mixture_gains, mixture_posterior
from nninv.prior import GaussianPrior, MixturePrior
from nninv.verify import RANGE_TOL, check_layer, layer_residuals, relative, row_norms

__all__ = ["RANGE_TOL", "DenseInverse", "row_space_basis", "row_space_projector"]

_EPS = np.finfo(np.float64).eps


def _overflow_refused(method):
    """Run a preimage method with float64 overflow left to :func:`nninv.verify.check_layer`, which refuses it by name."""

    @functools.wraps(method)
    def guarded(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore"):
            return method(*args, **kwargs)

    return guarded


def _read_only(array: np.ndarray) -> np.ndarray:
    copy = np.array(array, dtype=np.float64)
    copy.flags.writeable = False
    return copy


def _svd(W: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The thin SVD ``W = U diag(s) V^T`` and the numerical rank, refusing what float64 cannot factorise."""
    with np.errstate(all="ignore"):
        try:
            U, s, Vt = np.linalg.svd(W, full_matrices=False)
        except np.linalg.LinAlgError as error:
            raise ValueError(
                f"{what} cannot be factorised in float64 (the SVD failed: {error}); "
                "rescale W so that its entries are of moderate size"
            ) from None
        rank = int(np.sum(s > max(W.shape) * _EPS * s[0]))
        finite = all(np.isfinite(part).all() for part in (W, U, s, Vt, 1.0 / s[:rank]))
    if not finite:
        raise ValueError(
            f"{what} cannot be factorised in float64: its singular values (largest {s[0]:.3g}) or "
            f"their reciprocals overflow (largest |entry| {np.abs(W).max():.3g}); rescale W so that "
            "its entries are of moderate size"
        )
    return U, s, Vt, rank


def row_space_basis(W) -> np.ndarray:
    """An orthonormal basis ``U_r`` (``n_in x r``) of the span of ``W``'s columns.

    Parameters
    ----------
    W : array_like
        ``n_in x n_out`` weights.

    Returns
    -------
    numpy.ndarray
        ``n_in x rank(W)`` with orthonormal columns.

    Examples
    --------
    >>> row_space_basis(np.array([[1.0], [1.0]])).shape
    (2, 1)
    """
    U, _, _, rank = _svd(as_matrix(W, "W"), "W")
    return U[:, :rank]


def row_space_projector(W) -> np.ndarray:
    """The orthogonal projector ``P = U_r U_r^T = W W^+`` onto the span of ``W``'s columns.

    Notes
    -----
    ``P`` is ``n_in x n_in``, symmetric, idempotent, with trace ``rank(W)``; for
    a row vector ``x``, ``x P`` is the point of that span closest to ``x``.

    Examples
    --------
    >>> print(row_space_projector(np.array([[1.0], [1.0]])).round(6))
    [[0.5 0.5]
     [0.5 0.5]]
    """
    basis = row_space_basis(W)
    return basis @ basis.T


class DenseInverse:
    """The preimages of one dense layer, factorised once and applied to batches.

    Parameters
    ----------
    W : array_like
        ``n_in x n_out`` weights.
    b : array_like
        ``n_out`` biases.
    activation : str or Activation
        A name (``"linear"``, ``"sigmoid"``, ``"tanh"``, ``"leaky_relu"``,
        ``"softmax"``) or an :class:`nninv.activations.Activation`.
    name : str
        Labels the layer in error messages.

    Notes
    -----
    The layer solves ``x W' + b' = a^{-1}(y)`` with ``(W', b')`` from
    :meth:`nninv.activations.Activation.solved_form` (``W C, b C`` for softmax,
    which describes every preimage exactly). Weights whose SVD overflows
    float64 are refused here.

    Examples
    --------
    >>> layer = DenseInverse(np.eye(3)[:, :2], np.zeros(2), "tanh", name="l")
    >>> layer
    DenseInverse('l': 3 -> 2, tanh, rank 2)
    >>> print(layer.min_norm(layer.forward([0.1, 0.2, 0.3])).round(6))
    [0.1 0.2 0. ]
    """

    def __init__(self, W, b, activation: str | Activation = "sigmoid", *, name: str = "layer"):
        # Read-only copies: a caller changing its own arrays later cannot make the factorisation stale.
        self.W = _read_only(as_matrix(W, f"{name} weights W"))
        self.n_in, self.n_out = self.W.shape
        self.b = _read_only(as_vector(b, self.n_out, f"{name} bias b"))
        self.activation = get_activation(activation)
        self.name = name
        self._W_solve, self._b_solve = self.activation.solved_form(self.W, self.b)
        U, s, Vt, self.rank = _svd(self._W_solve, f"layer '{name}' weights W")
        self.singular_values = s
        self._U = _read_only(U[:, : self.rank])
        self._V = Vt[: self.rank].T
        self._V_scaled = self._V / s[: self.rank]
        self._pinv = _read_only(self._V_scaled @ self._U.T)
        frobenius = s[0] * np.linalg.norm(s / s[0]) if s[0] > 0 else 0.0  # scaled: ||W||_F cannot overflow
        self.round_off = float(self.n_in * _EPS * frobenius)
        """``n_in eps ||W||_F``: the round-off of ``x W`` per unit of ``||x||``."""
        self._gain_for: tuple[GaussianPrior, np.ndarray] | None = None
        self._mixture_for: tuple[MixturePrior, dict[str, np.ndarray]] | None = None

    _COMPUTED_ON_USE = ("_gain_for", "_mixture_for", "null_space")

    def __getstate__(self) -> dict:
        """What defines the layer, for pickling and cache keys: the gains and null space computed on use are left out.

        So a layer hashes the same before and after it has inverted under a prior.
        """
        return {name: value for name, value in self.__dict__.items() if name not in self._COMPUTED_ON_USE}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._gain_for = self._mixture_for = None

    def __repr__(self) -> str:
        return (
            f"DenseInverse({self.name!r}: {self.n_in} -> {self.n_out}, "
            f"{self.activation.name}, rank {self.rank})"
        )

    # What the layer is.

    @property
    def pinv(self) -> np.ndarray:
        """``W^+`` (``n_out x n_in``), the matrix the question's recipe multiplies by."""
        return self._pinv

    @property
    def row_basis(self) -> np.ndarray:
        """``U_r`` (``n_in x rank``): an orthonormal basis of the span of the solved weights' columns.

        Every preimage of an output ``y`` has the same coordinates ``x U_r``.
        """
        return self._U

    @property
    def solve_weights(self) -> np.ndarray:
        """The ``W'`` of the equation ``x W' + b' = a^{-1}(y)`` the layer solves (``W`` but for softmax)."""
        return self._W_solve

    @property
    def condition_number(self) -> float:
        """``s_max / s_min`` over all ``min(n_in, n_out)`` singular values; inf below full rank."""
        s = self.singular_values
        return float(s[0] / s[-1]) if self.rank == s.size else float("inf")

    @property
    def condition_number_on_row_space(self) -> float:
        """``s_max / s_r``: the condition number of ``W`` restricted to its row space."""
        s = self.singular_values
        return float(s[0] / s[max(self.rank, 1) - 1])

    @cached_property
    def null_space(self) -> np.ndarray:
        """An orthonormal basis ``N`` (``n_in x (n_in - rank)``) of ``{v : v W = 0}``."""
        U_full = np.linalg.svd(self._W_solve, full_matrices=True)[0]
        return _read_only(U_full[:, self.rank :])

    # The layer and its inverse, elementwise.

    def forward(self, x) -> np.ndarray:
        """The layer itself in float64: ``a(x W + b)`` for ``x`` of shape ``(n, n_in)`` or ``(n_in,)``.

        Examples
        --------
        >>> print(DenseInverse(np.eye(2), np.ones(2), "linear").forward([1.0, 2.0]))
        [2. 3.]
        """
        rows, single = as_rows(x, self.n_in, f"input of {self.name}")
        y = self.activation.forward(rows @ self.W + self.b)
        return y[0] if single else y

    def _target(self, y) -> tuple[np.ndarray, np.ndarray, bool]:
        """``t = z - b`` and ``||z||`` per row, ``z = a^{-1}(y)`` centred for softmax; whether ``y`` was one row."""
        rows, single = as_rows(y, self.n_out, f"output of {self.name}")
        z = self.activation.inverse(rows, where=f"layer '{self.name}'")
        return z - self._b_solve, row_norms(z), single

    def preactivation(self, y) -> np.ndarray:
        """``a^{-1}(y)`` elementwise (centred for softmax), refusing values outside ``a``'s range.

        Examples
        --------
        >>> print(DenseInverse(np.eye(2), np.zeros(2), "sigmoid").preactivation([0.5, 0.5]))
        [0. 0.]
        """
        rows, single = as_rows(y, self.n_out, f"output of {self.name}")
        z = self.activation.inverse(rows, where=f"layer '{self.name}'")
        return z[0] if single else z

    def range_distance(self, t: np.ndarray) -> np.ndarray:
        """Per row of ``t`` (``(m, n_out)``), ``||t - t V_r V_r^T||``: its distance from the row space.

        Examples
        --------
        >>> layer = DenseInverse(np.array([[1.0, 0.0]]), np.zeros(2), "linear")
        >>> print(layer.range_distance(np.array([[3.0, 4.0]])).round(6))
        [4.]
        """
        return row_norms(t - (t @ self._V) @ self._V.T)

    def range_residual(self, y) -> np.ndarray:
        """Per row, ``||t - t V_r V_r^T|| / ||z||``: 0 when ``y`` is an output of the layer.

        The distance from ``z = a^{-1}(y)`` to the pre-activations the layer can
        produce, relative to ``||z||``; no preimage has a smaller relative residual.

        Examples
        --------
        >>> layer = DenseInverse(np.array([[1.0, 1.0]]), np.zeros(2), "linear")
        >>> print(layer.range_residual(np.array([[1.0, 1.0], [1.0, -1.0]])).round(6))
        [0. 1.]
        """
        t, size, single = self._target(y)
        residual = relative(self.range_distance(t), size)
        return residual[0] if single else residual

    def verify(self, x, y, range_tol: float | None = RANGE_TOL) -> np.ndarray:
        """The relative residual ``||x W + b - z|| / ||z||`` of ``x`` as a preimage of ``y``, per row.

        Raises the ``ValueError`` of :func:`nninv.verify.check_layer` for a row
        that breaks the contract every preimage method keeps;
        ``range_tol=None`` only measures.

        Examples
        --------
        >>> layer = DenseInverse(np.eye(2), np.zeros(2), "linear")
        >>> print(layer.verify([1.0, 2.0], [1.0, 2.0]))
        0.0
        """
        t, size, single = self._target(y)
        rows = as_rows(x, self.n_in, f"preimage of {self.name}")[0]
        if len(rows) != len(t):
            raise ValueError(f"x must have one row per row of y ({len(t)} rows), got {len(rows)} rows")
        check_layer(self, rows, t, size, range_tol)
        residual = layer_residuals(self, rows, t, size)[1]
        return residual[0] if single else residual

    def _checked(self, x: np.ndarray, t, size, single: bool, range_tol: float | None) -> np.ndarray:
        """``x`` (its first row when ``single``) once :func:`nninv.verify.check_layer` accepts it."""
        x = check_layer(self, x, t, size, range_tol)
        return x[0] if single else x

    # Preimages.

    @_overflow_refused
    def min_norm(self, y, *, range_tol: float | None = RANGE_TOL) -> np.ndarray:
        """The least-norm preimage: the question's recipe, batched and verified.

        Parameters
        ----------
        y : array_like
            One output ``(n_out,)`` or a batch ``(m, n_out)``.
        range_tol : float or None
            The relative residual allowed (see :mod:`nninv.verify`); ``None``
            returns the least-squares preimage of any ``y`` in the range of
            the activation.

        Returns
        -------
        numpy.ndarray
            ``(n_in,)`` or ``(m, n_in)``.

        Notes
        -----
        .. math:: x = (a^{-1}(y) - b)\\, W^{+}

        Examples
        --------
        >>> layer = DenseInverse(np.array([[1.0], [1.0]]), np.zeros(1), "linear")
        >>> print(layer.min_norm([2.0]).round(6))
        [1. 1.]
        """
        t, size, single = self._target(y)
        return self._checked(t @ self._pinv, t, size, single, range_tol)

    def _gain(self, prior: GaussianPrior) -> np.ndarray:
        """``[K; m - m U_r K]`` of :func:`nninv.conditioning.gaussian_gain`, cached for the last prior used."""
        if not isinstance(prior, GaussianPrior):
            hint = "; for a MixturePrior call mixture(y, prior)" if isinstance(prior, MixturePrior) else ""
            raise TypeError(
                "prior must be a GaussianPrior (GaussianPrior.fit(x) or GaussianPrior(mean, cov)), "
                f"got {type(prior).__name__}{hint}; for the least-norm preimage call min_norm(y)"
            )
        if self._gain_for is None or self._gain_for[0] is not prior:  # priors are immutable
            prior.check_dim(self.n_in)
            self._gain_for = (prior, gaussian_gain(self._U, prior, self.name))
        return self._gain_for[1]

    @_overflow_refused
    def gaussian(self, y, prior: GaussianPrior, *, range_tol: float | None = RANGE_TOL) -> np.ndarray:
        """The preimage most probable under ``x ~ N(m, Sigma)``: exact, and verified like ``min_norm``.

        Parameters
        ----------
        y : array_like
            One output or a batch.
        prior : GaussianPrior
        range_tol : float or None

        Returns
        -------
        numpy.ndarray

        Notes
        -----
        Conditioning the Gaussian on the linear constraint ``x U_r = c`` gives

        .. math:: x = m + (c - m U_r) K, \\qquad K = (U_r^T \\Sigma U_r)^{-1} U_r^T \\Sigma,

        both the conditional mean and the point of the preimage set closest
        to ``m`` in the Mahalanobis distance of ``Sigma``. With ``Sigma = I``
        it is the preimage closest to ``m``; with ``m = 0`` as well,
        ``min_norm``. ``Sigma`` may be singular, as a sample covariance is,
        provided ``U_r^T Sigma U_r`` is invertible; then ``x - m`` lies in the
        range of ``Sigma``. It equals ``nearest(y, m, prior)``.

        Examples
        --------
        >>> layer = DenseInverse(np.array([[1.0], [0.0]]), np.zeros(1), "linear")
        >>> print(layer.gaussian([2.0], GaussianPrior(np.ones(2), np.eye(2))).round(6))
        [2. 1.]
        """
        gain = self._gain(prior)
        t, size, single = self._target(y)
        x = np.hstack([t @ self._V_scaled, np.ones((len(t), 1))]) @ gain
        return self._checked(x, t, size, single, range_tol)

    def _references(self, reference, count: int) -> np.ndarray:
        r = as_rows(reference, self.n_in, "reference")[0]
        if len(r) not in (1, count):
            raise ValueError(f"reference must be one input or one per output ({count} rows), got {len(r)} rows")
        return r

    @_overflow_refused
    def nearest(self, y, reference, prior: GaussianPrior | None = None, *,
                range_tol: float | None = RANGE_TOL) -> np.ndarray:
        """The exact preimage closest to ``reference``: Euclidean, or in the metric of ``prior``'s covariance.

        Parameters
        ----------
        y : array_like
            One output or a batch.
        reference : array_like
            One input, or one per output.
        prior : GaussianPrior, optional
            Measure distance in the Mahalanobis metric of its covariance.
        range_tol : float or None

        Returns
        -------
        numpy.ndarray

        Notes
        -----
        The orthogonal projection of ``r = reference`` onto the affine
        preimage set ``{x : x U_r = c}``:

        .. math:: x = r + (c - r U_r) U_r^T,

        and with a prior ``x = r + (c - r U_r) K`` as in :meth:`gaussian`
        (which is ``nearest(y, m, prior)``); for a singular ``Sigma``,
        ``x - r`` lies in its range. A point of the preimage set is its own
        nearest point.

        Examples
        --------
        >>> layer = DenseInverse(np.array([[1.0], [0.0]]), np.zeros(1), "linear")
        >>> print(layer.nearest([2.0], [0.0, 5.0]).round(6))
        [2. 5.]
        """
        t, size, single = self._target(y)
        c = t @ self._V_scaled
        r = self._references(reference, len(c))
        gain = self._U.T if prior is None else self._gain(prior)[:-1]
        x = r + (c - r @ self._U) @ gain
        return self._checked(x, t, size, single, range_tol)

    def _mixture_gains(self, prior: MixturePrior) -> dict[str, np.ndarray]:
        """:func:`nninv.conditioning.mixture_gains`, cached for the last prior used."""
        if not isinstance(prior, MixturePrior):
            raise TypeError(
                f"prior must be a MixturePrior (MixturePrior(weights, means, covs)), got {type(prior).__name__}; "
                "for a GaussianPrior call gaussian(y, prior)"
            )
        if self._mixture_for is None or self._mixture_for[0] is not prior:
            prior.check_dim(self.n_in)
            self._mixture_for = (prior, mixture_gains(self._U, prior, self.name))
        return self._mixture_for[1]

    def mixture_posterior(self, y, prior: MixturePrior) -> np.ndarray:
        """The probability of each component of ``prior`` given the output: shape ``(m, k)``, or ``(k,)``.

        Notes
        -----
        See :func:`nninv.conditioning.mixture_posterior`: nothing but ``y`` is used.

        Examples
        --------
        >>> prior = MixturePrior([1.0, 1.0], np.array([[-1.0, 0.0], [1.0, 0.0]]), np.stack([np.eye(2)] * 2))
        >>> layer = DenseInverse(np.array([[1.0], [0.0]]), np.zeros(1), "linear")
        >>> print(layer.mixture_posterior([0.0], prior))
        [0.5 0.5]
        """
        gains = self._mixture_gains(prior)
        t, _, single = self._target(y)
        p = mixture_posterior(t @ self._V_scaled, prior, gains)
        return p[0] if single else p

    @_overflow_refused
    def mixture(self, y, prior: MixturePrior, *, range_tol: float | None = RANGE_TOL) -> np.ndarray:
        """The conditional mean of a Gaussian mixture prior given the output: exact, and verified like ``min_norm``.

        Notes
        -----
        Given ``x U_r = c``, the mixture ``sum_k w_k N(m_k, Sigma_k)`` becomes
        the mixture of its components' conditionals, with weights ``P(k | c)``
        (:meth:`mixture_posterior`). Its mean is

        .. math:: x = \\sum_k P(k \\mid c) \\left[m_k + (c - m_k U_r) K_k\\right].

        Each bracket lies in the affine preimage set and the weights sum to 1,
        so ``x`` lies in it too: the preimage is exact in closed form. (It is
        the mean, not the mode, of the conditioned mixture.)

        Examples
        --------
        >>> prior = MixturePrior([1.0, 1.0], np.array([[0.0, -1.0], [0.0, 1.0]]), np.stack([np.eye(2)] * 2))
        >>> layer = DenseInverse(np.array([[1.0], [0.0]]), np.zeros(1), "linear")
        >>> print(layer.mixture([2.0], prior).round(6))
        [2. 0.]
        """
        gains = self._mixture_gains(prior)
        t, size, single = self._target(y)
        c = t @ self._V_scaled
        p = mixture_posterior(c, prior, gains)
        x = np.empty((len(c), self.n_in))
        for rows in np.array_split(np.arange(len(c)), max(1, len(c) // 2048)):
            extended = np.hstack([c[rows], np.ones((len(rows), 1))])  # [c, 1]
            weighted = (p[rows, :, np.newaxis] * extended[:, np.newaxis, :]).reshape(len(rows), gains["stacked"].shape[0])
            x[rows] = weighted @ gains["stacked"]  # sum_k P(k | c) [c, 1] [K_k; m_k - m_k U_r K_k]
        return self._checked(x, t, size, single, range_tol)

    @_overflow_refused
    def box_constrained(
        self,
        y,
        reference,
        lower: float = 0.0,
        upper: float = 1.0,
        *,
        tol: float = 1e-13,
        max_iter: int = 100,
        range_tol: float | None = RANGE_TOL,
    ) -> np.ndarray:
        """The exact preimage inside the box ``lower <= x <= upper`` closest to ``reference``.

        Parameters
        ----------
        y : array_like
            One output or a batch.
        reference : array_like
            One input, or one per output.
        lower, upper : float
            The box, ``lower < upper``.
        tol : float
            ``> 0``: the constraints hold to ``tol (1 + max |c|)``.
        max_iter : int
            ``>= 1`` Newton steps at most.
        range_tol : float or None

        Returns
        -------
        numpy.ndarray

        Notes
        -----
        Solves ``min ||x - x0||^2`` subject to ``x U_r = c`` and the box by
        :func:`nninv.box.box_projection`, so the result lies in the box
        exactly; it is then verified like ``min_norm``. Raises a
        ``ValueError`` when no such point is found in ``max_iter`` steps,
        saying whether the method ran out of steps or stalled (which happens
        when no input inside the box produces ``y``).

        Examples
        --------
        >>> layer = DenseInverse(np.array([[1.0], [1.0]]), np.zeros(1), "linear")
        >>> print(layer.box_constrained([1.5], [0.0, 0.0]).round(6))
        [0.75 0.75]
        """
        tol = as_tolerance(tol, "tol", zero_allowed=False)
        max_iter = as_count(max_iter, "max_iter")
        for bound, name in ((lower, "lower"), (upper, "upper")):
            if isinstance(bound, bool) or not isinstance(bound, (int, float, np.number)) or np.isnan(bound):
                raise ValueError(f"the box's {name} bound must be a number, got {bound!r}")
        if not lower < upper:
            raise ValueError(f"the box needs lower < upper, got [{lower}, {upper}]")
        t, size, single = self._target(y)
        c = t @ self._V_scaled
        x0 = np.broadcast_to(self._references(reference, len(c)), (len(c), self.n_in))
        x = np.empty((len(c), self.n_in))
        for rows in np.array_split(np.arange(len(c)), max(1, len(c) // 1024)):
            x[rows] = box_projection(self._U, c[rows], x0[rows], lower, upper, tol=tol, max_iter=max_iter,
                                     name=self.name)
        return self._checked(x, t, size, single, range_tol)

    @_overflow_refused
    def sample(
        self,
        y,
        n: int,
        rng: np.random.Generator,
        scale: float = 1.0,
        prior: GaussianPrior | None = None,
        *,
        range_tol: float | None = RANGE_TOL,
    ) -> np.ndarray:
        """``n`` random exact preimages of each output: shape ``(n, n_in)``, or ``(m, n, n_in)`` for a batch.

        Parameters
        ----------
        y : array_like
            One output or a batch.
        n : int
            Samples per output, ``>= 1``.
        rng : numpy.random.Generator
        scale : float
            ``>= 0``: the spread of the draws.
        prior : GaussianPrior, optional
        range_tol : float or None

        Returns
        -------
        numpy.ndarray

        Notes
        -----
        Without a prior: ``min_norm(y) + scale * g (I - U_r U_r^T)`` with ``g``
        standard normal, a standard normal on the null space scaled by
        ``scale``. With a prior: draws ``x0 ~ N(m, scale^2 Sigma)`` and moves
        each onto the preimage set, ``x0 + (c - x0 U_r) K``; for ``scale = 1``
        these are exact samples of the prior conditioned on ``f(x) = y``
        (Matheron's rule). Every sample is verified like ``min_norm``.

        Examples
        --------
        >>> layer = DenseInverse(np.array([[1.0], [0.0]]), np.zeros(1), "linear")
        >>> samples = layer.sample([2.0], 3, np.random.default_rng(0))
        >>> samples.shape, bool(np.allclose(samples[:, 0], 2.0))
        ((3, 2), True)
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
        n, scale = as_count(n, "n (the number of samples)"), as_tolerance(scale, "scale", zero_allowed=True)
        gain = None if prior is None else self._gain(prior)[:-1]
        t, size, single = self._target(y)
        c = t @ self._V_scaled
        if gain is None:
            g = rng.standard_normal((len(c), n, self.n_in))
            x = (c @ self._U.T)[:, np.newaxis, :] + scale * (g - (g @ self._U) @ self._U.T)
        else:
            x0 = prior.sample(len(c) * n, rng, scale).reshape(len(c), n, self.n_in) if len(c) else np.empty(
                (0, n, self.n_in)
            )
            x = x0 + (c[:, np.newaxis, :] - x0 @ self._U) @ gain
        return self._checked(x, t, size, single, range_tol)
