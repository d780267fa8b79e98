"""The point of an affine subspace inside a box closest to a reference, by semismooth Newton on the dual.

For an orthonormal ``U`` (``d x r``), targets ``c`` and references ``x0`` (one
row each), :func:`box_projection` solves, row by row,

.. math::

    \\min_x \\|x - x_0\\|^2 \\quad \\text{subject to} \\quad x U = c, \\quad l \\le x \\le u.

For multipliers ``lam`` the box minimiser of the Lagrangian is
``x(lam) = clip(x0 + lam U^T, l, u)``; the dual is concave with gradient
``c - x(lam) U``. A semismooth Newton method with an Armijo line search on the
dual drives that gradient to zero, so the result lies in the box exactly.
"""

from __future__ import annotations

import numpy as np


class BoxNotReached(ValueError):
    """No point of the box meets the constraints to the tolerance asked for."""


def box_projection(U: np.ndarray, c: np.ndarray, x0: np.ndarray, lower: float, upper: float, *,
                   tol: float, max_iter: int, name: str = "layer") -> np.ndarray:
    """The points ``x`` in ``[lower, upper]^d`` with ``x U = c`` closest to ``x0``, one per row.

    Parameters
    ----------
    U : numpy.ndarray
        ``d x r``, orthonormal columns.
    c : numpy.ndarray
        ``(m, r)`` targets.
    x0 : numpy.ndarray
        ``(m, d)`` references.
    lower, upper : float
        The box.
    tol : float
        Stop once ``max |x U - c| <= tol (1 + max |c|)``.
    max_iter : int
        At most this many Newton steps.
    name : str
        The layer, for the error.

    Returns
    -------
    numpy.ndarray
        ``(m, d)``, inside the box.

    Raises
    ------
    BoxNotReached
        After ``max_iter`` steps, saying whether the method was still
        converging (raise ``max_iter``) or had stalled (then most likely no
        point of the box meets the constraints).

    Examples
    --------
    >>> U = np.array([[1.0], [0.0]])
    >>> print(box_projection(U, np.array([[0.5]]), np.array([[0.0, 2.0]]), 0.0, 1.0, tol=1e-12, max_iter=50))
    [[0.5 1. ]]
    """
    rank, identity = U.shape[1], np.eye(U.shape[1])

    def primal(multipliers, start):
        shifted = start + multipliers @ U.T
        return np.clip(shifted, lower, upper), (shifted > lower) & (shifted < upper)

    def dual(multipliers, x, start, target):
        return 0.5 * np.sum((x - start) ** 2, axis=1) - np.sum((x @ U - target) * multipliers, axis=1)

    lam = np.zeros_like(c)
    x, free = primal(lam, x0)
    residual = c - x @ U
    threshold = tol * (1.0 + np.abs(c).max(initial=0.0))
    before_last = np.inf
    for _ in range(max_iter):
        largest = np.abs(residual).max(axis=1, initial=0.0)
        active = largest > threshold
        if not active.any():
            return x
        before_last = largest.max(initial=0.0)
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
    left = np.abs(residual).max(initial=0.0)
    if left <= threshold:
        return x
    if rank and left < 0.5 * before_last:  # the last step still halved the residual: it was converging
        raise BoxNotReached(
            f"layer '{name}': the box-constrained preimage ran out of iterations (max_iter={max_iter} Newton "
            f"steps; largest constraint residual {left:.2e}, still falling); raise max_iter"
        )
    raise BoxNotReached(
        f"layer '{name}': no preimage inside [{lower}, {upper}] found in {max_iter} Newton steps "
        f"(the largest constraint residual stalled at {left:.2e}); no input in that box may produce this output"
    )
