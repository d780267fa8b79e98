"""Priors over inputs, used to choose one preimage among many: Gaussians and mixtures of them."""

from __future__ import annotations

import numpy as np

from nninv.checks import as_count, as_float_array, as_matrix, as_tolerance

_EPS = np.finfo(np.float64).eps


def _frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy: what a prior holds cannot change under the caches built from it."""
    array = array.copy()
    array.flags.writeable = False
    return array


def _psd_tolerance(largest: float, dim: int) -> float:
    """How far below 0 an eigenvalue of a covariance may lie and still count as round-off of 0.

    ``dim * sqrt(dim) * eps * lambda_max``: a sample covariance computed in
    float64 from data that does not vary along some direction has an
    eigenvalue of that order there, of either sign.
    """
    return dim * np.sqrt(dim) * _EPS * max(largest, 0.0)


class GaussianPrior:
    """A Gaussian ``x ~ N(mean, cov)`` over row vectors, ``cov`` symmetric positive semi-definite.

    A singular covariance is accepted: a sample covariance is singular where
    some inputs never vary (MNIST's border pixels), and the preimages of
    :class:`nninv.DenseInverse` need only ``cov`` itself, provided
    ``U_r^T cov U_r`` is invertible for the layer's row-space basis ``U_r``
    (the layer checks this and says so when it is not). A covariance with an
    eigenvalue below ``-dim^1.5 eps lambda_max`` is refused.

    Sampling needs a factor ``L`` with ``cov = L L^T`` (:attr:`factor`): the
    Cholesky factor when ``cov`` is positive definite, otherwise
    ``Q diag(sqrt(lambda))`` from the eigendecomposition
    ``cov = Q diag(lambda) Q^T``, with eigenvalues within round-off of 0 set
    to 0, so that draws stay in ``mean`` plus the range of ``cov``. It is computed at the first draw, so that
    a prior holds one ``d x d`` matrix until it is sampled.

    A prior is immutable: it keeps read-only copies of ``mean``, ``cov`` and
    its factor, so the layers that cache their gain for it never go stale;
    for another prior, make a new one.
    """

    __slots__ = ("_mean", "_cov", "_factor", "_positive_definite", "_shrinkage")

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
            np.linalg.cholesky(cov)
            positive_definite = True
        except np.linalg.LinAlgError:
            positive_definite = False
            eigenvalues = np.linalg.eigvalsh(cov)
            if eigenvalues[0] < -_psd_tolerance(eigenvalues[-1], mean.size):
                raise ValueError(
                    "prior covariance is not positive semi-definite: its smallest eigenvalue is "
                    f"{eigenvalues[0]:.3g} (largest {eigenvalues[-1]:.3g}), beyond round-off of 0; "
                    "a covariance matrix has no negative variance along any direction"
                ) from None
        self._mean, self._cov = _frozen(mean), _frozen(cov)
        self._positive_definite = positive_definite
        self._factor = None  # computed at the first draw, so that a prior costs one d x d matrix
        self._shrinkage = shrinkage

    def __getstate__(self) -> dict:
        """What defines the prior, for pickling and cache keys: the factor, computed at the first draw, is left out.

        So a prior hashes the same before and after it is sampled.
        """
        return {name: getattr(self, name) for name in self.__slots__ if name != "_factor"}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self._factor = None

    @property
    def mean(self) -> np.ndarray:
        return self._mean

    @property
    def cov(self) -> np.ndarray:
        return self._cov

    @property
    def positive_definite(self) -> bool:
        """Whether ``cov`` has a Cholesky factor (every eigenvalue > 0 in float64)."""
        return self._positive_definite

    @property
    def factor(self) -> np.ndarray:
        """``L`` with ``cov = L L^T`` (to round-off): Cholesky when positive definite, else from ``eigh``."""
        if self._factor is None:
            if self._positive_definite:
                factor = np.linalg.cholesky(self._cov)
            else:
                eigenvalues, eigenvectors = np.linalg.eigh(self._cov)
                zero = eigenvalues <= _psd_tolerance(eigenvalues[-1], self.dim)  # round-off of 0, either sign
                factor = eigenvectors * np.sqrt(np.where(zero, 0.0, eigenvalues))
            self._factor = _frozen(factor)
        return self._factor

    @property
    def cholesky(self) -> np.ndarray:
        """``L``, lower triangular with ``cov = L L^T``; refused when ``cov`` is singular (use :attr:`factor`)."""
        if not self._positive_definite:
            raise ValueError(
                "prior covariance is singular (positive semi-definite only), so it has no Cholesky "
                "factor; use prior.factor, a square root from its eigendecomposition"
            )
        return self.factor

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
        for centred rows ``x_i``; a number in ``[0, 1]`` fixes it. Any ``a > 0``
        makes the covariance positive definite even where pixels never vary;
        ``a = 0`` keeps the sample covariance itself, singular when some
        inputs never vary or ``n <= d``.
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
        size = float(np.abs(x).max())
        unit = size if size > 0 else 1.0  # the data are fitted in units of their largest entry: no overflow
        mean = (x / unit).mean(axis=0)
        centred = x / unit - mean
        sample_cov = centred.T @ centred / n
        scale = np.trace(sample_cov) / d
        if scale == 0:
            raise ValueError("prior training data does not vary at all; a Gaussian prior needs spread")
        with np.errstate(over="ignore"):
            overflows = not np.isfinite(np.float64(unit) ** 2 * np.abs(sample_cov).max())
        if overflows:
            raise ValueError(
                f"prior training data has entries up to {size:.3g}: their covariance (of the order of their "
                "squares) overflows float64; rescale the data to moderate sizes before fitting a prior"
            )
        if shrinkage == "ledoit-wolf":
            target_gap = sample_cov - scale * np.eye(d)
            delta = np.sum(target_gap**2)
            beta = (np.sum(np.sum(centred**2, axis=1) ** 2) - n * np.sum(sample_cov**2)) / n**2
            alpha = 1.0 if delta == 0 else float(np.clip(beta / delta, 0.0, 1.0))
        elif isinstance(shrinkage, (int, float)) and not isinstance(shrinkage, bool) and 0.0 <= shrinkage <= 1.0:
            alpha = float(shrinkage)
        else:
            raise ValueError(f"shrinkage must be 'ledoit-wolf' or a number in [0, 1], got {shrinkage!r}")
        cov = (1.0 - alpha) * sample_cov
        cov[np.diag_indices(d)] += alpha * scale
        return cls(mean * unit, cov * unit**2, shrinkage=alpha)

    def sample(self, n: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
        """``n`` draws ``mean + scale * g L^T`` with ``g`` standard normal and ``L`` the :attr:`factor`, shape ``(n, d)``.

        Examples
        --------
        >>> GaussianPrior(np.zeros(3), np.eye(3)).sample(5, np.random.default_rng(0)).shape
        (5, 3)
        """
        n, scale = as_count(n, "n"), as_tolerance(scale, "scale", zero_allowed=True)
        return self.mean + scale * rng.standard_normal((n, self.dim)) @ self.factor.T

    def check_dim(self, dim: int) -> None:
        """Refuse a prior over another number of inputs than ``dim``.

        Examples
        --------
        >>> GaussianPrior(np.zeros(2), np.eye(2)).check_dim(3)
        Traceback (most recent call last):
        ...
        ValueError: prior is over 2 inputs but the layer takes 3
        """
        if self.dim != dim:
            raise ValueError(f"prior is over {self.dim} inputs but the layer takes {dim}")


class MixturePrior:
    """A mixture of Gaussians ``p(x) = sum_k w_k N(x; m_k, Sigma_k)`` over row vectors.

    ``weights`` (``k``) must be positive; they are divided by their sum.
    ``means`` is ``k x d`` and ``covs`` ``k x d x d``, each covariance
    symmetric positive semi-definite (see :class:`GaussianPrior`, which holds
    each component). :meth:`nninv.DenseInverse.mixture` conditions it on a
    layer's output. The prior is immutable, like a :class:`GaussianPrior`.
    """

    __slots__ = ("_weights", "_components")

    def __init__(self, weights, means, covs):
        weights = as_float_array(weights, "mixture weights")
        means = as_float_array(means, "mixture means")
        covs = as_float_array(covs, "mixture covariances")
        if weights.ndim != 1 or weights.size == 0:
            raise ValueError(f"mixture weights must be a non-empty vector, got shape {weights.shape}")
        k = weights.size
        if means.ndim != 2 or means.shape[0] != k or means.shape[1] == 0:
            raise ValueError(f"mixture means must have shape ({k}, d), one row per weight, got {means.shape}")
        d = means.shape[1]
        if covs.shape != (k, d, d):
            raise ValueError(f"mixture covariances must have shape ({k}, {d}, {d}), got {covs.shape}")
        if np.any(weights <= 0):
            raise ValueError("mixture weights must all be > 0; drop a component instead of giving it weight 0")
        scaled = weights / weights.max()  # first, so that the sum cannot overflow
        self._weights = _frozen(scaled / scaled.sum())
        components = []
        for index in range(k):
            try:
                components.append(GaussianPrior(means[index], covs[index]))
            except ValueError as error:
                raise ValueError(f"mixture component {index}: {error}") from None
        self._components = tuple(components)

    @property
    def weights(self) -> np.ndarray:
        """``w_k``, summing to 1."""
        return self._weights

    @property
    def components(self) -> tuple[GaussianPrior, ...]:
        """One :class:`GaussianPrior` per component."""
        return self._components

    @property
    def n_components(self) -> int:
        return len(self._components)

    @property
    def dim(self) -> int:
        return self._components[0].dim

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws: a component ``k`` with probability ``w_k``, then a draw of ``N(m_k, Sigma_k)``.

        Examples
        --------
        >>> prior = MixturePrior([1.0, 1.0], np.zeros((2, 3)), np.stack([np.eye(3)] * 2))
        >>> prior.sample(4, np.random.default_rng(0)).shape
        (4, 3)
        """
        n = as_count(n, "n")
        chosen = rng.choice(self.n_components, size=n, p=self._weights)
        x = np.empty((n, self.dim))
        for index in np.unique(chosen):
            rows = chosen == index
            x[rows] = self._components[index].sample(int(rows.sum()), rng)
        return x

    def check_dim(self, dim: int) -> None:
        """Refuse a mixture over another number of inputs than ``dim``.

        Examples
        --------
        >>> MixturePrior([1.0], np.zeros((1, 2)), np.eye(2)[np.newaxis]).check_dim(2)
        """
        if self.dim != dim:
            raise ValueError(f"prior is over {self.dim} inputs but the layer takes {dim}")
