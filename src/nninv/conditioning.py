"""Priors conditioned on a dense layer's output: the gains of Gaussians and of mixtures of them.

A dense layer's output fixes ``c = x U_r`` (``U_r`` an orthonormal basis of the
span of ``W``'s columns; see :mod:`nninv.inverse`). Conditioning a Gaussian
``x ~ N(m, Sigma)`` on that linear constraint gives

.. math::

    x = m + (c - m U_r) K, \\qquad K = (U_r^T \\Sigma U_r)^{-1} U_r^T \\Sigma,

and a mixture becomes the mixture of its components' conditionals, each
weighted by the likelihood of ``c`` under it. This module computes ``K`` and
those weights once per prior; :class:`nninv.DenseInverse` applies them.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from nninv.prior import GaussianPrior, MixturePrior

_EPS = np.finfo(np.float64).eps


def _shrink_advice(shrinkage: float | None) -> str:
    if shrinkage is not None and shrinkage < 1e-6:
        return (
            f"this prior was fitted with (almost) no shrinkage ({shrinkage:.2g}; Ledoit-Wolf chooses about 0 "
            "when the data give it no reason to shrink, as with very few rows); fit it again with "
            "GaussianPrior.fit(x, shrinkage=a) for some a > 0"
        )
    return "shrink its covariance towards the identity (GaussianPrior.fit(x, shrinkage=a) with a > 0)"


def conditioning_gain(basis: np.ndarray, prior: GaussianPrior, what: str, layer_name: str
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``K = (U_r^T Sigma U_r)^{-1} U_r^T Sigma`` (``r x n_in``) and the Cholesky factor of ``U_r^T Sigma U_r``.

    Parameters
    ----------
    basis : numpy.ndarray
        ``U_r``, ``n_in x r`` with orthonormal columns.
    prior : GaussianPrior
        ``N(m, Sigma)``; ``Sigma`` may be singular as long as ``U_r^T Sigma U_r`` is not.
    what, layer_name : str
        What the prior is and which layer, for the error.

    Returns
    -------
    gain, cholesky : numpy.ndarray

    Notes
    -----
    Where ``U_r^T Sigma U_r`` is singular the prior gives no spread along some
    direction the layer sees, conditioning on the output is undefined, and a
    ``ValueError`` says so.

    Examples
    --------
    >>> gain, _ = conditioning_gain(np.eye(2)[:, :1], GaussianPrior(np.zeros(2), np.eye(2)), "the prior", "l")
    >>> print(gain)
    [[1. 0.]]
    """
    sigma_u = prior.cov @ basis
    rank = basis.shape[1]
    if not rank:
        return sigma_u.T, np.zeros((0, 0))
    seen = basis.T @ sigma_u
    seen = (seen + seen.T) / 2
    eigenvalues = np.linalg.eigvalsh(seen)
    if not eigenvalues[0] > rank * _EPS * max(eigenvalues[-1], 0.0):
        raise ValueError(
            f"{what} gives (almost) no variance along the span of layer '{layer_name}''s weights: "
            f"U_r^T Sigma U_r has eigenvalues from {eigenvalues[0]:.3g} to {eigenvalues[-1]:.3g}, so "
            f"conditioning it on the layer's output is undefined; {_shrink_advice(prior.shrinkage)}"
        )
    cholesky = np.linalg.cholesky(seen)
    return linalg.cho_solve((cholesky, True), sigma_u.T), cholesky


def gaussian_gain(basis: np.ndarray, prior: GaussianPrior, layer_name: str) -> np.ndarray:
    """``[K; m - m U_r K]`` (``(r + 1) x n_in``): a preimage is then one product ``[c, 1] @ gain``.

    Examples
    --------
    >>> prior = GaussianPrior(np.ones(2), np.eye(2))
    >>> print(gaussian_gain(np.eye(2)[:, :1], prior, "l"))
    [[1. 0.]
     [0. 1.]]
    """
    gain = conditioning_gain(basis, prior, "the prior", layer_name)[0]
    return np.vstack([gain, prior.mean - (prior.mean @ basis) @ gain])


def mixture_gains(basis: np.ndarray, prior: MixturePrior, layer_name: str) -> dict[str, np.ndarray]:
    """Per component ``k``: ``K_k``, ``m_k - m_k U_r K_k``, ``m_k U_r`` and ``U_r^T Sigma_k U_r``'s Cholesky factor.

    ``"stacked"`` holds ``[K_k; m_k - m_k U_r K_k]`` for every ``k``, one
    below the other, so that a mixture's preimage is one matrix product.

    Examples
    --------
    >>> prior = MixturePrior([1.0, 1.0], np.zeros((2, 2)), np.stack([np.eye(2)] * 2))
    >>> mixture_gains(np.eye(2)[:, :1], prior, "l")["stacked"].shape
    (4, 2)
    """
    parts = {"gain": [], "offset": [], "centre": [], "cholesky": []}
    for index, component in enumerate(prior.components):
        gain, cholesky = conditioning_gain(basis, component, f"mixture component {index}", layer_name)
        centre = component.mean @ basis
        parts["gain"].append(gain)
        parts["offset"].append(component.mean - centre @ gain)
        parts["centre"].append(centre)
        parts["cholesky"].append(cholesky)
    gains = {key: np.stack(value) for key, value in parts.items()}
    gains["stacked"] = np.concatenate([gains["gain"], gains["offset"][:, np.newaxis]], axis=1).reshape(
        -1, basis.shape[0]
    )
    return gains


def mixture_posterior(c: np.ndarray, prior: MixturePrior, gains: dict[str, np.ndarray]) -> np.ndarray:
    """``P(k | x U_r = c)`` per row of ``c`` and component, shape ``(m, k)``.

    Notes
    -----
    Under component ``k`` the constraint has the likelihood
    ``N(c; m_k U_r, U_r^T Sigma_k U_r)``, a Gaussian in ``r`` dimensions:

    .. math:: P(k \\mid c) \\propto w_k\\, \\mathcal{N}(c;\\ m_k U_r,\\ U_r^T \\Sigma_k U_r).

    Examples
    --------
    >>> prior = MixturePrior([1.0, 1.0], np.array([[-1.0, 0.0], [1.0, 0.0]]), np.stack([np.eye(2)] * 2))
    >>> gains = mixture_gains(np.eye(2)[:, :1], prior, "l")
    >>> print(mixture_posterior(np.array([[0.0]]), prior, gains))
    [[0.5 0.5]]
    """
    log_p = np.empty((len(c), prior.n_components))
    rank = c.shape[1]
    for k in range(prior.n_components):
        cholesky = gains["cholesky"][k]
        if rank:
            whitened = linalg.solve_triangular(cholesky, (c - gains["centre"][k]).T, lower=True)
            log_det = 2.0 * np.sum(np.log(np.diag(cholesky)))
        else:
            whitened, log_det = np.zeros((0, len(c))), 0.0
        log_p[:, k] = np.log(prior.weights[k]) - 0.5 * log_det - 0.5 * np.sum(whitened**2, axis=0)
    log_p -= log_p.max(axis=1, keepdims=True, initial=-np.inf)
    p = np.exp(log_p)
    return p / p.sum(axis=1, keepdims=True)
