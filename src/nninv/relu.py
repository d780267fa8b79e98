"""Preimages of one ReLU layer ``h = max(x W + b, 0)``, by linear and quadratic programming.

ReLU is not injective, yet its preimages have a simple shape. A unit with
``h_j > 0`` (active) fixes its pre-activation, ``x W_j + b_j = h_j``; a unit
with ``h_j = 0`` (inactive) only says ``x W_j + b_j <= 0``. The preimage set
of ``h`` is therefore the polyhedron

    P(h) = {x : x W_A + b_A = h_A,  x W_I + b_I <= 0}

(``A`` the active units, ``I`` the inactive ones). Any point of it is found by
a linear programme; following Lei et al. (2019), :func:`relu_preimage` solves

    minimise eps  subject to  |x W_A + b_A - h_A| <= eps,  x W_I + b_I <= eps,  eps >= 0,

whose optimum is ``eps = 0`` exactly when ``h`` is an output of the layer, and
otherwise the smallest violation in the largest-entry norm. It is solved
scaled, and the point found is measured in float64 before it is returned. ``P(h)`` is a
single point when the active columns ``W_A`` have rank ``n_in``; then the
programme recovers the input itself. For ``x`` and ``W`` with independent
symmetric entries and ``b = 0``, each unit is active with probability 1/2,
so that needs about ``2 n_in`` units: a ReLU layer must expand to be
invertible. When ``W_A`` has lower rank, the active equations leave a
subspace of solutions and the programme returns some point of ``P(h)``, an
exact preimage that need not be the input.

*The most probable point of P(h).* Under a prior ``x ~ N(m, Sigma)``,
:func:`relu_most_probable_preimage` solves the convex quadratic programme

    minimise  1/2 (x - m) Sigma^{-1} (x - m)^T  subject to  x in P(h),

whitened (``x = m + z L^T`` with ``Sigma = L L^T``, so the objective is
``1/2 ||z||^2``) and solved by OSQP (Stellato et al. 2020), a well-kept
operator-splitting solver for exactly this form (a quadratic objective and
linear two-sided constraints, factorised once per layer and updated per
output). OSQP's answer is accurate to its tolerance only, so it is polished in
float64: the constraints it holds tight (the active units and the inactive
ones at their bound) are solved exactly for the point of least norm (where
that point breaks another bound, OSQP's own point is corrected onto the
active units' equations instead), and the result is measured: the equalities to ``tol`` and the inequalities to ``tol``
(in units of ``h``), or the output is refused.

*The output only.* Given only a later layer's output, the preimage set of a
ReLU network is a union of such polyhedra, one per activation pattern of its
hidden units. For one pattern (that of a known input, say) the most
probable point is this same convex programme; over all ``2^n`` patterns it
is a mixed-integer programme, NP-hard in general (deciding whether a ReLU
network reaches an output at all is NP-complete; Katz et al. 2017), so the
exact most probable preimage of an output is tractable only for small
networks, and the tractable question is the one answered here: given the
hidden activity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import osqp
from scipy import linalg, sparse
from scipy.optimize import linprog

from nninv.checks import as_matrix, as_rows, as_tolerance, as_vector
from nninv.prior import GaussianPrior
from nninv.verify import RANGE_TOL


@dataclass(frozen=True)
class ReluPreimage:
    """Points of the preimage polyhedra of a batch of ReLU outputs.

    ``x`` holds one point per output; ``violation`` the largest violation of
    the constraints at ``x``, in the units of ``h`` (0 up to round-off for an
    output of the layer); ``relative_violation`` the same divided by the
    output's scale ``max(max |h|, max |b|)``; ``active`` the number of active
    units; ``unique`` whether ``x`` is a preimage (``relative_violation`` at
    most ``range_tol``, or the default) and ``W_A`` has rank ``n_in``, so that
    ``x`` is the only one.
    """

    x: np.ndarray
    violation: np.ndarray
    active: np.ndarray
    unique: np.ndarray
    relative_violation: np.ndarray | None = None


def _violation(x: np.ndarray, W: np.ndarray, b: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``max(|x W_A + b_A - h_A|, max(x W_I + b_I, 0))`` per row: how far ``x`` is from the polyhedron."""
    z = x @ W + b
    return np.max(np.where(h > 0, np.abs(z - h), np.maximum(z, 0.0)), axis=1, initial=0.0)


def relu_preimage(W, b, h, *, range_tol: float | None = RANGE_TOL) -> ReluPreimage:
    """A point of the preimage polyhedron of each row of ``h`` under ``max(x W + b, 0)`` (see the module).

    Parameters
    ----------
    W : array_like
        ``n_in x n_out`` weights.
    b : array_like
        ``n_out`` biases.
    h : array_like
        One output or a batch; negative entries are refused.
    range_tol : float or None
        The largest relative violation accepted; ``None`` accepts the point
        of least violation instead of refusing an output the layer cannot
        produce.

    Returns
    -------
    ReluPreimage

    Notes
    -----
    The programme is solved scaled: with ``s = max(max |h|, max |b|)`` and
    ``w = max |W|``, it finds ``x' = x w / s`` for the layer ``(W / w, b / s)``
    and the output ``h / s``, whose entries are at most 1, so that the
    solver's absolute tolerances are relative ones. The point returned is
    then measured in float64: its violation relative to ``s``,

    .. math:: \\frac{\\max\\left(|x W_A + b_A - h_A|,\\ \\max(x W_I + b_I, 0)\\right)}{s},

    must be at most ``range_tol``, or the output is refused as not an output
    of the layer.

    Examples
    --------
    >>> W = np.array([[1.0, -1.0, 0.5], [0.0, 1.0, 1.0]])
    >>> x = np.array([0.3, 0.7])
    >>> found = relu_preimage(W, np.zeros(3), np.maximum(x @ W, 0))
    >>> bool(np.allclose(found.x, x)), bool(found.unique)
    (True, True)
    """
    W = as_matrix(W, "W")
    n_in, n_out = W.shape
    b = as_vector(b, n_out, "b")
    rows, single = as_rows(h, n_out, "ReLU output h")
    if range_tol is not None:
        range_tol = as_tolerance(range_tol, "range_tol", zero_allowed=True)
    if np.any(rows < 0):
        raise ValueError(
            f"ReLU outputs are never negative; h holds {int(np.sum(rows < 0))} negative value(s) "
            f"(min {rows.min():.3g})"
        )
    weight_scale = float(np.abs(W).max())
    if weight_scale == 0:
        weight_scale = 1.0
    W_scaled = W / weight_scale
    cost = np.r_[np.zeros(n_in), 1.0]
    bounds = [(None, None)] * n_in + [(0, None)]
    x = np.empty((len(rows), n_in))
    scale = np.empty(len(rows))
    active_count, full_rank = np.empty(len(rows), int), np.empty(len(rows), bool)
    for index, output in enumerate(rows):
        active = output > 0
        scale[index] = max(float(np.abs(output).max(initial=0.0)), float(np.abs(b).max(initial=0.0)))
        s = scale[index] if scale[index] > 0 else 1.0
        W_A, W_I = W_scaled[:, active].T, W_scaled[:, ~active].T
        target = (output[active] - b[active]) / s
        constraints = np.vstack([np.c_[W_A, -np.ones(len(W_A))], np.c_[-W_A, -np.ones(len(W_A))],
                                 np.c_[W_I, -np.ones(len(W_I))]])
        limits = np.r_[target, -target, -b[~active] / s]
        result = linprog(cost, A_ub=constraints, b_ub=limits, bounds=bounds, method="highs-ds",
                         options={"presolve": False})  # dense rows: presolve finds nothing, costs a fifth
        if result.status != 0:
            raise ValueError(
                f"the linear programme for row {index} failed (HiGHS: {result.message}); the layer's weights "
                f"(largest |entry| {weight_scale:.3g}) or its output (scale {scale[index]:.3g}) may be beyond "
                "what the solver can handle even scaled"
            )
        x[index] = result.x[:n_in] * (s / weight_scale)
        active_count[index] = int(active.sum())
        full_rank[index] = bool(active.sum() >= n_in and np.linalg.matrix_rank(W_A) == n_in)
    with np.errstate(over="ignore", invalid="ignore"):
        violation = _violation(x, W, b, rows)
    relative_violation = np.where(scale > 0, violation / np.where(scale > 0, scale, 1.0), violation)
    accepted = np.isfinite(relative_violation) & (relative_violation <= (RANGE_TOL if range_tol is None else range_tol))
    if range_tol is not None and not accepted.all():
        worst = int(np.argmax(np.where(accepted, -1.0, np.nan_to_num(relative_violation, nan=np.inf))))
        raise ValueError(
            f"h is not an output of the ReLU layer: for row {worst} the closest input found misses it by "
            f"{violation[worst]:.3g} in some unit, {relative_violation[worst]:.3g} of the output's scale "
            f"(> range_tol={range_tol}); pass range_tol=None to accept the input of least violation"
        )
    unique = full_rank & accepted
    if single:
        return ReluPreimage(x[0], violation[0], active_count[0], unique[0], relative_violation[0])
    return ReluPreimage(x, violation, active_count, unique, relative_violation)


@dataclass(frozen=True)
class ReluProbablePreimage:
    """The most probable points of the preimage polyhedra of a batch of ReLU outputs.

    ``x`` one point per output; ``objective`` ``1/2 (x - m) Sigma^{-1} (x - m)^T``;
    ``equality_error`` ``max |x W_A + b_A - h_A|`` and ``inequality_violation``
    ``max(x W_I + b_I, 0)`` per row, measured in float64; ``tight`` the number
    of inactive units held at their bound.
    """

    x: np.ndarray
    objective: np.ndarray
    equality_error: np.ndarray
    inequality_violation: np.ndarray
    tight: np.ndarray


def _measure(x, W, b, h):
    z = x @ W + b
    active = h > 0
    equality = np.max(np.where(active, np.abs(z - h), 0.0), axis=1, initial=0.0)
    inequality = np.max(np.where(active, 0.0, np.maximum(z, 0.0)), axis=1, initial=0.0)
    return equality, inequality


def relu_most_probable_preimage(W, b, h, prior: GaussianPrior, *, tol: float = 1e-9) -> ReluProbablePreimage:
    """The point of ``P(h)`` most probable under ``prior``, for each row of ``h`` (see the module).

    Parameters
    ----------
    W : array_like
        ``n_in x n_out`` weights.
    b : array_like
        ``n_out`` biases.
    h : array_like
        One output of ``max(x W + b, 0)`` or a batch; negative entries are refused.
    prior : GaussianPrior
        Over the input; positive definite.
    tol : float
        The largest ``|x W_A + b_A - h_A|`` and ``max(x W_I + b_I, 0)`` accepted.

    Returns
    -------
    ReluProbablePreimage

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W, b = rng.standard_normal((3, 4)), np.zeros(4)
    >>> h = np.maximum(rng.standard_normal((2, 3)) @ W + b, 0)
    >>> found = relu_most_probable_preimage(W, b, h, GaussianPrior(np.zeros(3), np.eye(3)))
    >>> bool(np.all(found.equality_error <= 1e-9)), bool(np.all(found.inequality_violation <= 1e-9))
    (True, True)
    """
    W = as_matrix(W, "W")
    n_in, n_out = W.shape
    b = as_vector(b, n_out, "b")
    rows, single = as_rows(h, n_out, "ReLU output h")
    tol = as_tolerance(tol, "tol", zero_allowed=False)
    if not isinstance(prior, GaussianPrior):
        raise TypeError(f"prior must be a GaussianPrior, got {type(prior).__name__}")
    prior.check_dim(n_in)
    if np.any(rows < 0):
        raise ValueError(
            f"ReLU outputs are never negative; h holds {int(np.sum(rows < 0))} negative value(s) "
            f"(min {rows.min():.3g})"
        )
    L = prior.cholesky  # refuses a singular prior by name
    B = L.T @ W  # z B = x W - m W: the layer seen from the whitened input
    offset = prior.mean @ W + b
    scale = max(float(np.abs(B).max()), 1e-300)
    solver = osqp.OSQP()
    solver.setup(P=sparse.identity(n_in, format="csc"), q=np.zeros(n_in), A=sparse.csc_matrix(B.T / scale),
                 l=-np.ones(n_out), u=np.ones(n_out), eps_abs=1e-9, eps_rel=1e-9, max_iter=20000,
                 polishing=True, verbose=False)
    x = np.empty((len(rows), n_in))
    tight = np.zeros(len(rows), dtype=int)
    for index, output in enumerate(rows):
        active = output > 0
        target = output - offset  # z B_A = target_A, z B_I <= target_I
        solver.update(l=np.where(active, target, -np.inf) / scale, u=target / scale)
        result = solver.solve(raise_error=False)
        if result.x is None or not np.all(np.isfinite(result.x)):
            raise ValueError(
                f"the quadratic programme for row {index} failed (OSQP: {result.info.status}); h may not be an "
                "output of the layer (relu_preimage measures how far it is)"
            )
        z = result.x
        held = active | (z @ B >= target - 1e-7 * (1.0 + np.abs(target)))  # the constraints held tight
        polished = linalg.lstsq(B[:, held].T, target[held], cond=None, lapack_driver="gelsy")[0]
        if not np.all(polished @ B[:, ~held] <= target[~held] + tol):  # else OSQP's, its equalities made exact
            polished = z + linalg.lstsq(B[:, active].T, target[active] - z @ B[:, active], cond=None)[0]
        z = polished
        x[index] = prior.mean + z @ L.T
        tight[index] = int(np.sum(held & ~active))
    equality, inequality = _measure(x, W, b, rows)
    bad = (equality > tol) | (inequality > tol)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(
            f"h is not an output of the ReLU layer, or not one float64 can reach: for row {row} the most probable "
            f"point found misses the active units by {equality[row]:.3g} and exceeds the inactive ones' bound by "
            f"{inequality[row]:.3g} (> tol={tol:g}); relu_preimage measures the least violation"
        )
    centred = linalg.solve_triangular(L, (x - prior.mean).T, lower=True)
    objective = 0.5 * np.sum(centred**2, axis=0)
    if single:
        return ReluProbablePreimage(x[0], objective[0], equality[0], inequality[0], tight[0])
    return ReluProbablePreimage(x, objective, equality, inequality, tight)
