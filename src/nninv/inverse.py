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
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from scipy import linalg

from nninv.activations import Activation, Softmax, get_activation, softmax_centring
from nninv.checks import as_matrix, as_rows, as_vector
from nninv.prior import GaussianPrior


def _rank_tolerance(W: np.ndarray, singular_values: np.ndarray) -> float:
    largest = singular_values[0] if singular_values.size else 0.0
    return max(W.shape) * np.finfo(np.float64).eps * largest


def row_space_basis(W) -> np.ndarray:
    """An orthonormal basis ``U_r`` (``n_in x r``) of the span of ``W``'s columns."""
    W = as_matrix(W, "W")
    U, s, _ = np.linalg.svd(W, full_matrices=False)
    return U[:, : int(np.sum(s > _rank_tolerance(W, s)))]


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
    :mod:`nninv.activations`), which describes every preimage exactly.
    """

    def __init__(self, W, b, activation: str | Activation = "sigmoid", *, name: str = "layer"):
        self.W = as_matrix(W, f"{name} weights W")
        self.n_in, self.n_out = self.W.shape
        self.b = as_vector(b, self.n_out, f"{name} bias b")
        self.activation = get_activation(activation)
        self.name = name
        if isinstance(self.activation, Softmax):
            centring = softmax_centring(self.n_out)
            self._W_solve, self._b_solve = self.W @ centring, self.b @ centring
        else:
            self._W_solve, self._b_solve = self.W, self.b
        U, s, Vt = np.linalg.svd(self._W_solve, full_matrices=False)
        self.singular_values = s
        self.rank = int(np.sum(s > _rank_tolerance(self._W_solve, s)))
        self._U = U[:, : self.rank]
        self._V = Vt[: self.rank].T
        self._V_scaled = self._V / s[: self.rank]
        self._pinv = self._V_scaled @ self._U.T
        self._gain_for: tuple[GaussianPrior, np.ndarray] | None = None

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

    def _target(self, y) -> tuple[np.ndarray, bool]:
        """``t = a^{-1}(y) - b`` as rows (centred for softmax), and whether ``y`` was one row."""
        z, single = self._preactivation_rows(y)
        return z - self._b_solve, single

    def _coordinates(self, y) -> tuple[np.ndarray, bool]:
        """``c = t V_r S_r^{-1}``: every preimage of ``y`` satisfies ``x U_r = c``."""
        t, single = self._target(y)
        return t @ self._V_scaled, single

    def range_residual(self, y) -> np.ndarray:
        """Per row, ``||t - t V_r V_r^T|| / ||t||``: 0 when ``y`` is an output of the layer.

        A positive value means no input reproduces ``y`` exactly; ``min_norm``
        then returns the least-squares preimage.
        """
        t, single = self._target(y)
        miss = np.linalg.norm(t - (t @ self._V) @ self._V.T, axis=1)
        size = np.linalg.norm(t, axis=1)
        residual = np.divide(miss, size, out=np.zeros_like(miss), where=size > 0)
        return residual[0] if single else residual

    def min_norm(self, y) -> np.ndarray:
        """The least-norm preimage ``(a^{-1}(y) - b) W^+``: the question's recipe, batched."""
        t, single = self._target(y)
        x = t @ self._pinv
        return x[0] if single else x

    def _gain(self, prior: GaussianPrior) -> np.ndarray:
        """``[K; m - m U_r K]`` (``(r + 1) x n_in``), cached for the last prior used.

        ``K = (U_r^T Sigma U_r)^{-1} U_r^T Sigma``; the extra row folds the prior
        mean in, so that a preimage is one matrix product ``[c, 1] @ gain``.
        """
        if self._gain_for is None or self._gain_for[0] is not prior:
            prior.check_dim(self.n_in)
            sigma_u = prior.cov @ self._U
            gain = linalg.solve(self._U.T @ sigma_u, sigma_u.T, assume_a="pos") if self.rank else sigma_u.T
            offset = prior.mean - (prior.mean @ self._U) @ gain
            self._gain_for = (prior, np.vstack([gain, offset]))
        return self._gain_for[1]

    def gaussian(self, y, prior: GaussianPrior) -> np.ndarray:
        """The preimage most probable under ``x ~ N(m, Sigma)``: still exact.

        Conditioning the Gaussian on the linear constraint ``x U_r = c`` gives
        ``x = m + (c - m U_r) K`` with ``K = (U_r^T Sigma U_r)^{-1} U_r^T Sigma``;
        this is both the conditional mean and the point of the preimage set
        closest to ``m`` in the Mahalanobis distance of ``Sigma``. With
        ``Sigma = I`` it is the preimage closest to ``m``; with ``m = 0`` as
        well, ``min_norm``.
        """
        gain = self._gain(prior)
        c, single = self._coordinates(y)
        x = np.hstack([c, np.ones((c.shape[0], 1))]) @ gain
        return x[0] if single else x

    def box_constrained(
        self, y, reference, lower: float = 0.0, upper: float = 1.0, *, tol: float = 1e-13, max_iter: int = 100
    ) -> np.ndarray:
        """The exact preimage inside the box ``lower <= x <= upper`` closest to ``reference``.

        Solves ``min ||x - x0||^2`` subject to ``x U_r = c`` and the box, for
        every row at once, through its dual: for multipliers ``lam`` the box
        minimiser of the Lagrangian is ``x(lam) = clip(x0 + lam U_r^T)``, and the
        dual is concave with gradient ``c - x(lam) U_r``. A semismooth Newton
        method with an Armijo line search on the dual drives that gradient to
        zero (``max |x U_r - c| <= tol (1 + max |c|)``), so the result lies in
        the box exactly and reproduces ``y`` to round-off. Raises a
        ``ValueError`` when no such point is found, which happens when no input
        inside the box produces ``y``.
        """
        if not lower < upper:
            raise ValueError(f"the box needs lower < upper, got [{lower}, {upper}]")
        c, single = self._coordinates(y)
        x0 = as_rows(reference, self.n_in, "reference")[0]
        if len(x0) not in (1, len(c)):
            raise ValueError(f"reference must be one input or one per output ({len(c)} rows), got {len(x0)} rows")
        x0 = np.broadcast_to(x0, (len(c), self.n_in))
        x = np.empty((c.shape[0], self.n_in))
        for rows in np.array_split(np.arange(c.shape[0]), max(1, c.shape[0] // 1024)):
            x[rows] = self._box_newton(c[rows], x0[rows], lower, upper, tol, max_iter)
        return x[0] if single else x

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
            active = np.abs(residual).max(axis=1) > threshold
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
            for _ in range(60):  # halve each row's step until its dual rises or its residual falls
                trial = a_lam + step[:, np.newaxis] * direction
                trial_x = primal(trial, a_x0)[0]
                accepted = (dual(trial, trial_x, a_x0, a_c) >= current + 1e-4 * step * slope) | (
                    np.linalg.norm(a_c - trial_x @ U, axis=1) < (1 - 1e-4 * step) * size
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
    ) -> np.ndarray:
        """``n`` random exact preimages of each output: shape ``(n, n_in)``, or ``(m, n, n_in)`` for a batch.

        Without a prior: ``min_norm(y) + scale * g (I - U_r U_r^T)`` with ``g``
        standard normal, a standard normal on the null space scaled by
        ``scale``. With a prior: draws ``x0 ~ N(m, scale^2 Sigma)`` and moves
        each onto the preimage set, ``x0 + (c - x0 U_r) K``; for ``scale = 1``
        these are exact samples of the prior conditioned on ``f(x) = y``
        (Matheron's rule).
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
        if int(n) != n or n < 1:
            raise ValueError(f"n must be a positive whole number of samples, got {n!r}")
        c, single = self._coordinates(y)
        m = c.shape[0]
        if prior is None:
            g = rng.standard_normal((m, int(n), self.n_in))
            x = (c @ self._U.T)[:, np.newaxis, :] + scale * (g - (g @ self._U) @ self._U.T)
        else:
            gain = self._gain(prior)[:-1]
            x0 = prior.sample(m * int(n), rng, scale).reshape(m, int(n), self.n_in)
            x = x0 + (c[:, np.newaxis, :] - x0 @ self._U) @ gain
        return x[0] if single else x
