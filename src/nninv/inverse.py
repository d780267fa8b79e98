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

Exactness is measured, not assumed. Every preimage method evaluates, row by
row, on the ``x`` it is about to return, the residual ``||x W + b - z||`` of the
pre-activation ``z = a^{-1}(y)`` (centred for softmax) and raises a
``ValueError`` unless ``||x W + b - z|| <= range_tol ||z|| + n_in eps ||x|| ||W||_F``;
the last term is the round-off of evaluating ``x W`` itself (Higham 2002,
eq. 3.5). An output the layer cannot produce (``t`` outside the row space) and
precision lost to an ill-conditioned ``W`` are refused alike, and the message
says which. ``range_tol=None`` skips the check and returns the least-squares
preimage as computed.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from scipy import linalg

from nninv.activations import Activation, Softmax, get_activation, softmax_centring
from nninv.checks import as_count, as_matrix, as_rows, as_tolerance, as_vector
from nninv.prior import GaussianPrior, MixturePrior

RANGE_TOL = 1e-6
"""The default relative residual a preimage may have (see the module's last paragraph)."""

_EPS = np.finfo(np.float64).eps
_SQRT_EPS = float(np.sqrt(_EPS))


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
    """An orthonormal basis ``U_r`` (``n_in x r``) of the span of ``W``'s columns."""
    U, _, _, rank = _svd(as_matrix(W, "W"), "W")
    return U[:, :rank]


def row_space_projector(W) -> np.ndarray:
    """The orthogonal projector ``P = U_r U_r^T = W W^+`` onto the span of ``W``'s columns.

    ``P`` is ``n_in x n_in``, symmetric, idempotent, with trace ``rank(W)``; for
    a row vector ``x``, ``x P`` is the point of that span closest to ``x``.
    """
    basis = row_space_basis(W)
    return basis @ basis.T


class DenseInverse:
    """The preimages of one dense layer, factorised once and applied to batches.

    ``activation`` is a name (``"linear"``, ``"sigmoid"``, ``"tanh"``,
    ``"leaky_relu"``, ``"softmax"``) or an :class:`nninv.activations.Activation`;
    ``name`` labels the layer in error messages. For softmax the layer is solved
    through its centred form ``x (W C) + b C = a^{-1}(y)`` (see
    :mod:`nninv.activations`), which describes every preimage exactly. Weights
    whose SVD overflows float64 are refused here.
    """

    def __init__(self, W, b, activation: str | Activation = "sigmoid", *, name: str = "layer"):
        # Read-only copies: a caller changing its own arrays later cannot make the factorisation stale.
        self.W = _read_only(as_matrix(W, f"{name} weights W"))
        self.n_in, self.n_out = self.W.shape
        self.b = _read_only(as_vector(b, self.n_out, f"{name} bias b"))
        self.activation = get_activation(activation)
        self.name = name
        if isinstance(self.activation, Softmax):
            centring = softmax_centring(self.n_out)
            with np.errstate(all="ignore"):  # an overflow is refused by _svd
                self._W_solve, self._b_solve = self.W @ centring, self.b @ centring
        else:
            self._W_solve, self._b_solve = self.W, self.b
        U, s, Vt, self.rank = _svd(self._W_solve, f"layer '{name}' weights W")
        self.singular_values = s
        self._U = U[:, : self.rank]
        self._V = Vt[: self.rank].T
        self._V_scaled = self._V / s[: self.rank]
        self._pinv = self._V_scaled @ self._U.T
        frobenius = s[0] * np.linalg.norm(s / s[0]) if s[0] > 0 else 0.0  # scaled: ||W||_F cannot overflow
        self._round_off = self.n_in * _EPS * frobenius
        self._gain_for: tuple[GaussianPrior, np.ndarray] | None = None
        self._mixture_for: tuple[MixturePrior, dict[str, np.ndarray]] | None = None

    def __repr__(self) -> str:
        return (
            f"DenseInverse({self.name!r}: {self.n_in} -> {self.n_out}, "
            f"{self.activation.name}, rank {self.rank})"
        )

    @property
    def pinv(self) -> np.ndarray:
        """``W^+`` (``n_out x n_in``), the matrix the question's recipe multiplies by."""
        return self._pinv

    @property
    def condition_number(self) -> float:
        """``s_max / s_min`` over all ``min(n_in, n_out)`` singular values; inf below full rank."""
        s = self.singular_values
        return float(s[0] / s[-1]) if self.rank == s.size else float("inf")

    @cached_property
    def null_space(self) -> np.ndarray:
        """An orthonormal basis ``N`` (``n_in x (n_in - rank)``) of ``{v : v W = 0}``."""
        U_full = np.linalg.svd(self._W_solve, full_matrices=True)[0]
        return U_full[:, self.rank :]

    def forward(self, x) -> np.ndarray:
        """The layer itself in float64: ``a(x W + b)`` for ``x`` of shape ``(n, n_in)`` or ``(n_in,)``."""
        rows, single = as_rows(x, self.n_in, f"input of {self.name}")
        y = self.activation.forward(rows @ self.W + self.b)
        return y[0] if single else y

    def _preactivation_rows(self, y) -> tuple[np.ndarray, bool]:
        """``a^{-1}(y)`` as rows, and whether ``y`` was one row."""
        rows, single = as_rows(y, self.n_out, f"output of {self.name}")
        return self.activation.inverse(rows, where=f"layer '{self.name}'"), single

    def preactivation(self, y) -> np.ndarray:
        """``a^{-1}(y)`` elementwise (centred for softmax), refusing values outside ``a``'s range."""
        z, single = self._preactivation_rows(y)
        return z[0] if single else z

    def _target(self, y) -> tuple[np.ndarray, np.ndarray, bool]:
        """``t = z - b`` and ``||z||`` per row, ``z = a^{-1}(y)`` centred for softmax; whether ``y`` was one row."""
        z, single = self._preactivation_rows(y)
        return z - self._b_solve, np.linalg.norm(z, axis=1), single

    @staticmethod
    def _relative(miss: np.ndarray, size: np.ndarray) -> np.ndarray:
        """``miss / size`` with ``0 / 0 = 0`` and ``miss / 0 = inf``."""
        return np.divide(miss, size, out=np.where(miss > 0, np.inf, 0.0), where=size > 0)

    def range_residual(self, y) -> np.ndarray:
        """Per row, ``||t - t V_r V_r^T|| / ||z||``: 0 when ``y`` is an output of the layer.

        The distance from ``z = a^{-1}(y)`` to the pre-activations the layer can
        produce, relative to ``||z||``; no preimage has a smaller relative residual.
        """
        t, size, single = self._target(y)
        residual = self._relative(np.linalg.norm(t - (t @ self._V) @ self._V.T, axis=1), size)
        return residual[0] if single else residual

    def verify(self, x, y, range_tol: float | None = RANGE_TOL) -> np.ndarray:
        """The relative residual ``||x W + b - z|| / ||z||`` of ``x`` as a preimage of ``y``, per row.

        Raises a ``ValueError`` for any row where ``||x W + b - z||`` exceeds
        ``range_tol ||z|| + n_in eps ||x|| ||W||_F``, the contract every
        preimage method keeps; ``range_tol=None`` only measures.
        """
        t, size, single = self._target(y)
        rows = as_rows(x, self.n_in, f"preimage of {self.name}")[0]
        if len(rows) != len(t):
            raise ValueError(f"x must have one row per row of y ({len(t)} rows), got {len(rows)} rows")
        residual, refused = self._measure(rows, t, size, range_tol)
        if refused.any():
            worst = int(np.argmax(np.where(refused, residual, -1.0)))
            raise ValueError(
                f"x is not a preimage of y under layer '{self.name}': relative residual "
                f"||x W + b - a^-1(y)|| / ||a^-1(y)|| = {residual[worst]:.3g} > range_tol={range_tol} (row {worst})"
            )
        return residual[0] if single else residual

    def _measure(self, x, t, size, range_tol: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Relative residuals of ``x`` (``(m, n_in)``, or ``(m, k, n_in)``: ``k`` rows per ``t``) and where they fail."""
        expand = (slice(None), np.newaxis) if x.ndim == 3 else (slice(None),)
        miss = np.linalg.norm(x @ self._W_solve - t[expand], axis=-1)
        residual = self._relative(miss, size[expand])
        if range_tol is None:
            return residual, np.zeros(residual.shape, dtype=bool)
        range_tol = as_tolerance(range_tol, "range_tol", zero_allowed=True)
        # The round-off of computing x W itself, but never more than sqrt(eps) of the target's size:
        # an x so large that float64 cannot reproduce y to that is refused, not called exact.
        norms = np.sqrt(np.einsum("...i,...i->...", x, x))  # ||x|| per row, without an x-sized temporary
        round_off = np.minimum(self._round_off * norms, _SQRT_EPS * size[expand])
        allowed = range_tol * size[expand] + round_off
        return residual, ~(np.isfinite(miss) & (miss <= allowed))

    def _checked(self, x: np.ndarray, t, size, single: bool, range_tol: float | None) -> np.ndarray:
        """``x`` (its first row when ``single``) once it keeps the contract; otherwise the error that says why."""
        if range_tol is None:  # the caller asked for the least-squares result as it is
            return x[0] if single else x
        residual, refused = self._measure(x, t, size, range_tol)
        if refused.any():
            raise self._refusal(t, size, residual, refused, range_tol)
        return x[0] if single else x

    def _refusal(self, t, size, residual, refused, range_tol: float) -> ValueError:
        """The error for a preimage that misses: ``y`` is out of range, or round-off ate the preimage."""
        worst = np.unravel_index(np.argmax(np.where(refused, residual, -1.0)), residual.shape)
        row = t[worst[0]]
        out_of_range = self._relative(np.linalg.norm(row - (row @ self._V) @ self._V.T), size[worst[0]])
        head = f"layer '{self.name}' ({self.n_in} -> {self.n_out}, rank {self.rank})"
        if out_of_range > range_tol:
            cause = (
                f"{head} cannot produce its given output: a^-1(y) lies at relative distance "
                f"{out_of_range:.3g} from the pre-activations the layer can produce"
            )
            advice = (
                "y is not an output of this layer (or was rounded, as float32 outputs of a saturated "
                "sigmoid or tanh are); pass range_tol=None to accept the least-squares preimage"
            )
        else:
            s = self.singular_values
            cause = (
                f"{head} loses its preimage to round-off: y is in range (relative distance "
                f"{out_of_range:.2g}) but W has condition number {s[0] / s[max(self.rank, 1) - 1]:.3g} "
                "on its row space"
            )
            advice = "Pass range_tol=None to accept this preimage as it is, or rescale or regularise W"
        return ValueError(
            f"{cause}; the preimage misses by relative residual ||x W + b - a^-1(y)|| / ||a^-1(y)|| = "
            f"{residual[worst]:.3g} > range_tol={range_tol} (row {worst[0]}). {advice}."
        )

    def min_norm(self, y, *, range_tol: float | None = RANGE_TOL) -> np.ndarray:
        """The least-norm preimage ``(a^{-1}(y) - b) W^+``: the question's recipe, batched and verified.

        Refused, per the module's contract, when it does not reproduce
        ``a^{-1}(y)`` to ``range_tol``; with ``range_tol=None`` it is the
        least-squares preimage of any ``y`` in the activation's range.
        """
        t, size, single = self._target(y)
        x = t @ self._pinv
        return self._checked(x, t, size, single, range_tol)

    def _conditioning(self, cov: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
        """``K = (U_r^T Sigma U_r)^{-1} U_r^T Sigma`` (``r x n_in``) and the Cholesky factor of ``U_r^T Sigma U_r``.

        ``Sigma`` may be singular (positive semi-definite) as long as
        ``U_r^T Sigma U_r`` is not: otherwise the prior gives no spread along
        some direction the layer sees, conditioning on the output is undefined,
        and a ``ValueError`` says so.
        """
        sigma_u = cov @ self._U
        if not self.rank:
            return sigma_u.T, np.zeros((0, 0))
        seen = self._U.T @ sigma_u
        seen = (seen + seen.T) / 2
        eigenvalues = np.linalg.eigvalsh(seen)
        if not eigenvalues[0] > self.rank * _EPS * max(eigenvalues[-1], 0.0):
            raise ValueError(
                f"{what} gives (almost) no variance along the span of layer '{self.name}''s weights: "
                f"U_r^T Sigma U_r has eigenvalues from {eigenvalues[0]:.3g} to {eigenvalues[-1]:.3g}, so "
                "conditioning it on the layer's output is undefined; shrink its covariance towards the "
                "identity (GaussianPrior.fit shrinks by default)"
            )
        cholesky = np.linalg.cholesky(seen)
        gain = linalg.cho_solve((cholesky, True), sigma_u.T)
        return gain, cholesky

    def _gain(self, prior: GaussianPrior) -> np.ndarray:
        """``[K; m - m U_r K]`` (``(r + 1) x n_in``), cached for the last prior used (priors are immutable).

        ``K = (U_r^T Sigma U_r)^{-1} U_r^T Sigma``; the extra row folds the prior
        mean in, so that a preimage is one matrix product ``[c, 1] @ gain``.
        """
        if not isinstance(prior, GaussianPrior):
            hint = "; for a MixturePrior call mixture(y, prior)" if isinstance(prior, MixturePrior) else ""
            raise TypeError(
                "prior must be a GaussianPrior (GaussianPrior.fit(x) or GaussianPrior(mean, cov)), "
                f"got {type(prior).__name__}{hint}; for the least-norm preimage call min_norm(y)"
            )
        if self._gain_for is None or self._gain_for[0] is not prior:
            prior.check_dim(self.n_in)
            gain = self._conditioning(prior.cov, "the prior")[0]
            offset = prior.mean - (prior.mean @ self._U) @ gain
            self._gain_for = (prior, np.vstack([gain, offset]))
        return self._gain_for[1]

    def gaussian(self, y, prior: GaussianPrior, *, range_tol: float | None = RANGE_TOL) -> np.ndarray:
        """The preimage most probable under ``x ~ N(m, Sigma)``: exact, and verified like ``min_norm``.

        Conditioning the Gaussian on the linear constraint ``x U_r = c`` gives
        ``x = m + (c - m U_r) K`` with ``K = (U_r^T Sigma U_r)^{-1} U_r^T Sigma``;
        this is both the conditional mean and the point of the preimage set
        closest to ``m`` in the Mahalanobis distance of ``Sigma``. With
        ``Sigma = I`` it is the preimage closest to ``m``; with ``m = 0`` as
        well, ``min_norm``. ``Sigma`` may be singular, as a sample covariance
        is, provided ``U_r^T Sigma U_r`` is invertible; then ``x - m`` lies in
        the range of ``Sigma``. It equals ``nearest(y, m, prior)``.
        """
        gain = self._gain(prior)
        t, size, single = self._target(y)
        x = np.hstack([t @ self._V_scaled, np.ones((len(t), 1))]) @ gain
        return self._checked(x, t, size, single, range_tol)

    def nearest(self, y, reference, prior: GaussianPrior | None = None, *,
                range_tol: float | None = RANGE_TOL) -> np.ndarray:
        """The exact preimage closest to ``reference``: Euclidean, or in the metric of ``prior``'s covariance.

        The orthogonal projection of ``r = reference`` onto the affine preimage
        set ``{x : x U_r = c}``: ``x = r + (c - r U_r) U_r^T``. With a
        :class:`GaussianPrior` the distance is the Mahalanobis distance
        ``(x - r) Sigma^{-1} (x - r)^T`` and ``x = r + (c - r U_r) K`` with
        ``K = (U_r^T Sigma U_r)^{-1} U_r^T Sigma``, as in :meth:`gaussian`
        (which is ``nearest(y, m, prior)``); for a singular ``Sigma``, ``x - r``
        lies in its range. ``reference`` is one input or one per output.
        A point of the preimage set is its own nearest point. Verified like
        ``min_norm``.
        """
        t, size, single = self._target(y)
        c = t @ self._V_scaled
        r = as_rows(reference, self.n_in, "reference")[0]
        if len(r) not in (1, len(c)):
            raise ValueError(f"reference must be one input or one per output ({len(c)} rows), got {len(r)} rows")
        gain = self._U.T if prior is None else self._gain(prior)[:-1]
        x = r + (c - r @ self._U) @ gain
        return self._checked(x, t, size, single, range_tol)

    def _mixture_gains(self, prior: MixturePrior) -> dict[str, np.ndarray]:
        """Per component ``k``: ``K_k``, ``m_k - m_k U_r K_k``, ``m_k U_r``, and ``U_r^T Sigma_k U_r``'s Cholesky factor."""
        if not isinstance(prior, MixturePrior):
            raise TypeError(
                f"prior must be a MixturePrior (MixturePrior(weights, means, covs)), got {type(prior).__name__}; "
                "for a GaussianPrior call gaussian(y, prior)"
            )
        if self._mixture_for is None or self._mixture_for[0] is not prior:
            prior.check_dim(self.n_in)
            parts = {"gain": [], "offset": [], "centre": [], "cholesky": []}
            for index, component in enumerate(prior.components):
                gain, cholesky = self._conditioning(component.cov, f"mixture component {index}")
                centre = component.mean @ self._U
                parts["gain"].append(gain)
                parts["offset"].append(component.mean - centre @ gain)
                parts["centre"].append(centre)
                parts["cholesky"].append(cholesky)
            gains = {key: np.stack(value) for key, value in parts.items()}
            # [K_k; m_k - m_k U_r K_k] for every k, stacked: a preimage is then one matrix product.
            gains["stacked"] = np.concatenate([gains["gain"], gains["offset"][:, np.newaxis]], axis=1).reshape(
                -1, self.n_in
            )
            self._mixture_for = (prior, gains)
        return self._mixture_for[1]

    def _mixture_posterior(self, c: np.ndarray, prior: MixturePrior, gains: dict) -> np.ndarray:
        """``P(k | x U_r = c)`` per row of ``c`` and component: ``w_k N(c; m_k U_r, U_r^T Sigma_k U_r)``, normalised."""
        log_p = np.empty((len(c), prior.n_components))
        for k in range(prior.n_components):
            cholesky = gains["cholesky"][k]
            if self.rank:
                whitened = linalg.solve_triangular(cholesky, (c - gains["centre"][k]).T, lower=True)
                log_det = 2.0 * np.sum(np.log(np.diag(cholesky)))
            else:
                whitened, log_det = np.zeros((0, len(c))), 0.0
            log_p[:, k] = np.log(prior.weights[k]) - 0.5 * log_det - 0.5 * np.sum(whitened**2, axis=0)
        log_p -= log_p.max(axis=1, keepdims=True)
        p = np.exp(log_p)
        return p / p.sum(axis=1, keepdims=True)

    def mixture_posterior(self, y, prior: MixturePrior) -> np.ndarray:
        """The probability of each component of ``prior`` given the output: shape ``(m, k)``, or ``(k,)``.

        The constraint ``x U_r = c`` that ``y`` imposes has, under component
        ``k``, the likelihood ``N(c; m_k U_r, U_r^T Sigma_k U_r)`` (a Gaussian
        in ``rank`` dimensions); times ``w_k`` and normalised, this is
        ``P(k | f(x) = y)``. Nothing but ``y`` is used.
        """
        gains = self._mixture_gains(prior)
        t, _, single = self._target(y)
        p = self._mixture_posterior(t @ self._V_scaled, prior, gains)
        return p[0] if single else p

    def mixture(self, y, prior: MixturePrior, *, range_tol: float | None = RANGE_TOL) -> np.ndarray:
        """The conditional mean of a Gaussian mixture prior given the output: exact, and verified like ``min_norm``.

        Given ``x U_r = c``, the mixture ``sum_k w_k N(m_k, Sigma_k)`` becomes
        the mixture of its components' conditionals, with weights
        ``P(k | c)`` (:meth:`mixture_posterior`). Its mean is
        ``x = sum_k P(k | c) [m_k + (c - m_k U_r) K_k]`` with
        ``K_k = (U_r^T Sigma_k U_r)^{-1} U_r^T Sigma_k``. Each bracket lies in
        the affine preimage set ``{x : x U_r = c}`` and the weights sum to 1,
        so ``x`` lies in it too: the preimage is exact in closed form. (It is
        the mean, not the mode, of the conditioned mixture.)
        """
        gains = self._mixture_gains(prior)
        t, size, single = self._target(y)
        c = t @ self._V_scaled
        p = self._mixture_posterior(c, prior, gains)
        x = np.empty((len(c), self.n_in))
        for rows in np.array_split(np.arange(len(c)), max(1, len(c) // 2048)):
            extended = np.hstack([c[rows], np.ones((len(rows), 1))])  # [c, 1]
            weighted = (p[rows, :, np.newaxis] * extended[:, np.newaxis, :]).reshape(len(rows), -1)
            x[rows] = weighted @ gains["stacked"]  # sum_k P(k | c) [c, 1] [K_k; m_k - m_k U_r K_k]
        return self._checked(x, t, size, single, range_tol)

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

        Solves ``min ||x - x0||^2`` subject to ``x U_r = c`` and the box, for
        every row at once, through its dual: for multipliers ``lam`` the box
        minimiser of the Lagrangian is ``x(lam) = clip(x0 + lam U_r^T)``, and the
        dual is concave with gradient ``c - x(lam) U_r``. A semismooth Newton
        method with an Armijo line search on the dual drives that gradient to
        zero (``max |x U_r - c| <= tol (1 + max |c|)``, ``tol > 0``, in at most
        ``max_iter >= 1`` steps), so the result lies in the box exactly; it is
        then verified like ``min_norm``. Raises a ``ValueError`` when no such
        point is found in ``max_iter`` steps, which happens when no input inside
        the box produces ``y``.
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
        x0 = as_rows(reference, self.n_in, "reference")[0]
        if len(x0) not in (1, len(c)):
            raise ValueError(f"reference must be one input or one per output ({len(c)} rows), got {len(x0)} rows")
        x0 = np.broadcast_to(x0, (len(c), self.n_in))
        x = np.empty((c.shape[0], self.n_in))
        for rows in np.array_split(np.arange(c.shape[0]), max(1, c.shape[0] // 1024)):
            x[rows] = self._box_newton(c[rows], x0[rows], lower, upper, tol, max_iter)
        return self._checked(x, t, size, single, range_tol)

    def _box_newton(self, c, x0, lower, upper, tol, max_iter) -> np.ndarray:
        """Semismooth Newton on the dual of the box-constrained projection (see ``box_constrained``)."""
        U, identity = self._U, np.eye(self.rank)

        def primal(multipliers, start):
            shifted = start + multipliers @ U.T
            return np.clip(shifted, lower, upper), (shifted > lower) & (shifted < upper)

        def dual(multipliers, x, start, target):
            return 0.5 * np.sum((x - start) ** 2, axis=1) - np.sum((x @ U - target) * multipliers, axis=1)

        lam = np.zeros_like(c)
        x, free = primal(lam, x0)
        residual = c - x @ U
        threshold = tol * (1.0 + np.abs(c).max(initial=0.0))
        for _ in range(max_iter):
            active = np.abs(residual).max(axis=1, initial=0.0) > threshold
            if not active.any():
                return x
            a_lam, a_x0, a_c, a_res = lam[active], x0[active], c[active], residual[active]
            hessian = np.einsum("nd,dk,dj->nkj", free[active].astype(np.float64), U, U, optimize=True)
            size = np.linalg.norm(a_res, axis=1)
            # Levenberg-Marquardt damping ~ |residual|^2: a direction even where every pixel is
            # clipped (zero Hessian), and full Newton steps as the residual vanishes.
            damping = np.minimum(1.0, size**2)[:, np.newaxis, np.newaxis] * identity
            direction = np.linalg.solve(hessian + damping, a_res[..., np.newaxis])[..., 0]
            current, slope = dual(a_lam, x[active], a_x0, a_c), np.sum(a_res * direction, axis=1)
            step = np.ones(len(a_c))
            for _ in range(60):  # halve each row's step until its dual rises or its residual falls enough
                trial = a_lam + step[:, np.newaxis] * direction
                trial_x = primal(trial, a_x0)[0]
                # "Enough" is a fixed share of the step: a step that jumps from one clipped face of the
                # box to the opposite one barely changes the residual and would otherwise oscillate.
                accepted = (dual(trial, trial_x, a_x0, a_c) >= current + 1e-4 * step * slope) | (
                    np.linalg.norm(a_c - trial_x @ U, axis=1) < (1 - 0.5 * step) * size
                )
                if accepted.all():
                    break
                step = np.where(accepted, step, step / 2)
            lam[active] = a_lam + step[:, np.newaxis] * direction
            x[active], free[active] = primal(lam[active], a_x0)
            residual[active] = a_c - x[active] @ U
        raise ValueError(
            f"layer '{self.name}': no preimage inside [{lower}, {upper}] found in {max_iter} Newton steps "
            f"(largest constraint residual {np.abs(residual).max():.2e}); no input in that box may produce this output"
        )

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

        Without a prior: ``min_norm(y) + scale * g (I - U_r U_r^T)`` with ``g``
        standard normal, a standard normal on the null space scaled by
        ``scale >= 0``. With a prior: draws ``x0 ~ N(m, scale^2 Sigma)`` and moves
        each onto the preimage set, ``x0 + (c - x0 U_r) K``; for ``scale = 1``
        these are exact samples of the prior conditioned on ``f(x) = y``
        (Matheron's rule). Every sample is verified like ``min_norm``.
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
            x0 = prior.sample(len(c) * n, rng, scale).reshape(len(c), n, self.n_in)
            x = x0 + (c[:, np.newaxis, :] - x0 @ self._U) @ gain
        return self._checked(x, t, size, single, range_tol)
