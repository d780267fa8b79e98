"""Gaussian priors over inputs, used to choose one preimage among many."""

from __future__ import annotations

import numpy as np

from nninv.checks import as_count, as_float_array, as_matrix, as_tolerance


def _frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy: what a prior holds cannot change under the caches built from it."""
    array = array.copy()
    array.flags.writeable = False
    return array


class GaussianPrior:
    """A Gaussian ``x ~ N(mean, cov)`` over row vectors, with ``cov`` positive definite.

    The Cholesky factor ``L`` (``cov = L L^T``) is computed once; a covariance
    that has none is refused. A prior is immutable: it keeps read-only copies of
    ``mean``, ``cov`` and ``L``, so the layers that cache their gain for it never
    go stale; for another prior, make a new one.
    """

    __slots__ = ("_mean", "_cov", "_cholesky", "_shrinkage")

    def __init__(self, mean, cov, *, shrinkage: float | None = None):
        mean = as_float_array(mean, "prior mean").ravel()
        cov = as_matrix(cov, "prior covariance")
        if cov.shape != (mean.size, mean.size):
            raise ValueError(
                f"prior covariance must have shape ({mean.size}, {mean.size}) to match the mean, "
                f"got {cov.shape}"
            )
        if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12 * np.abs(cov).max()):
            raise ValueError("prior covariance must be symmetric; pass (cov + cov.T) / 2")
        try:
            cholesky = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise ValueError(
                "prior covariance is not positive definite (it has a zero or negative "
                "eigenvalue, as a sample covariance does when some inputs never vary); "
                "fit it with GaussianPrior.fit(x, shrinkage=...) or add a multiple of the identity"
            ) from None
        self._mean, self._cov, self._cholesky = _frozen(mean), _frozen(cov), _frozen(cholesky)
        self._shrinkage = shrinkage

    @property
    def mean(self) -> np.ndarray:
        return self._mean

    @property
    def cov(self) -> np.ndarray:
        return self._cov

    @property
    def cholesky(self) -> np.ndarray:
        """``L``, lower triangular with ``cov = L L^T``."""
        return self._cholesky

    @property
    def shrinkage(self) -> float | None:
        """The shrinkage ``a`` that ``fit`` applied, or what the constructor was given."""
        return self._shrinkage

    @property
    def dim(self) -> int:
        return self.mean.size

    @classmethod
    def fit(cls, x, shrinkage: float | str = "ledoit-wolf") -> "GaussianPrior":
        """Mean and shrunk covariance of the rows of ``x`` (flattened to ``(n, d)``).

        The covariance is ``(1 - a) S + a (tr S / d) I`` with ``S`` the sample
        covariance (divisor ``n``). ``shrinkage="ledoit-wolf"`` picks ``a`` by
        Ledoit and Wolf's (2004) formula,
        ``a = min(1, (sum_i ||x_i||^4 - n ||S||_F^2) / (n^2 ||S - (tr S / d) I||_F^2))``
        for centred rows ``x_i``; a number in ``(0, 1]`` fixes it. Any ``a > 0``
        makes the covariance positive definite even where pixels never vary.
        """
        x = as_float_array(x, "prior training data")
        if x.ndim < 2 or x.shape[0] < 2 or x[0].size == 0:
            raise ValueError(
                f"fitting a prior needs prior training data of shape (n, d) (or (n, ...)) with at least "
                f"two rows and one column, got shape {x.shape}; with fewer samples build "
                "GaussianPrior(mean, cov) yourself"
            )
        x = x.reshape(x.shape[0], -1)
        n, d = x.shape
        mean = x.mean(axis=0)
        centred = x - mean
        sample_cov = centred.T @ centred / n
        scale = np.trace(sample_cov) / d
        if scale == 0:
            raise ValueError("prior training data does not vary at all; a Gaussian prior needs spread")
        if shrinkage == "ledoit-wolf":
            target_gap = sample_cov - scale * np.eye(d)
            delta = np.sum(target_gap**2)
            beta = (np.sum(np.sum(centred**2, axis=1) ** 2) - n * np.sum(sample_cov**2)) / n**2
            alpha = 1.0 if delta == 0 else float(np.clip(beta / delta, 0.0, 1.0))
        elif isinstance(shrinkage, (int, float)) and 0.0 < shrinkage <= 1.0:
            alpha = float(shrinkage)
        else:
            raise ValueError(f"shrinkage must be 'ledoit-wolf' or a number in (0, 1], got {shrinkage!r}")
        cov = (1.0 - alpha) * sample_cov
        cov[np.diag_indices(d)] += alpha * scale
        return cls(mean, cov, shrinkage=alpha)

    def sample(self, n: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
        """``n`` draws ``mean + scale * g L^T`` with ``g`` standard normal, shape ``(n, d)``."""
        n, scale = as_count(n, "n"), as_tolerance(scale, "scale", zero_allowed=True)
        return self.mean + scale * rng.standard_normal((n, self.dim)) @ self.cholesky.T

    def check_dim(self, dim: int) -> None:
        if self.dim != dim:
            raise ValueError(f"prior is over {self.dim} inputs but the layer takes {dim}")
