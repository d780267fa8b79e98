"""Preimages of one ReLU layer ``h = max(x W + b, 0)``, by linear programming.

ReLU is not injective, yet its preimages have a simple shape. A unit with
``h_j > 0`` (active) fixes its pre-activation, ``x W_j + b_j = h_j``; a unit
with ``h_j = 0`` (inactive) only says ``x W_j + b_j <= 0``. The preimage set
of ``h`` is therefore the polyhedron

    P(h) = {x : x W_A + b_A = h_A,  x W_I + b_I <= 0}

(``A`` the active units, ``I`` the inactive ones). Any point of it is found by
a linear programme; following Lei et al. (2019), :func:`relu_preimage` solves

    minimise eps  subject to  |x W_A + b_A - h_A| <= eps,  x W_I + b_I <= eps,  eps >= 0,

whose optimum is ``eps = 0`` exactly when ``h`` is an output of the layer, and
otherwise the smallest violation in the largest-entry norm. ``P(h)`` is a
single point when the active columns ``W_A`` have rank ``n_in``; then the
programme recovers the input itself. For ``x`` and ``W`` with independent
symmetric entries and ``b = 0``, each unit is active with probability 1/2,
so that needs about ``2 n_in`` units: a ReLU layer must expand to be
invertible. When ``W_A`` has lower rank, the active equations leave a
subspace of solutions and the programme returns some point of ``P(h)``, an
exact preimage that need not be the input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from nninv.checks import as_matrix, as_rows, as_vector
from nninv.verify import RANGE_TOL


@dataclass(frozen=True)
class ReluPreimage:
    """Points of the preimage polyhedra of a batch of ReLU outputs.

    ``x`` holds one point per output; ``violation`` the programme's ``eps``
    per output (0 up to the solver's tolerance for an output of the layer);
    ``active`` the number of active units; ``unique`` whether ``W_A`` has rank
    ``n_in``, so that ``x`` is the only preimage.
    """

    x: np.ndarray
    violation: np.ndarray
    active: np.ndarray
    unique: np.ndarray


def relu_preimage(W, b, h, *, range_tol: float | None = RANGE_TOL) -> ReluPreimage:
    """A point of the preimage polyhedron of each row of ``h`` under ``max(x W + b, 0)`` (see the module).

    ``W`` is ``n_in x n_out``, ``b`` has ``n_out`` entries, ``h`` is one output
    or a batch of them. Negative entries are refused. An output whose
    programme ends with ``eps > range_tol (1 + max |h|)`` is not an output of
    the layer and raises a ``ValueError``; ``range_tol=None`` accepts the
    point of least violation instead.
    """
    W = as_matrix(W, "W")
    n_in, n_out = W.shape
    b = as_vector(b, n_out, "b")
    rows, single = as_rows(h, n_out, "ReLU output h")
    if np.any(rows < 0):
        raise ValueError(
            f"ReLU outputs are never negative; h holds {int(np.sum(rows < 0))} negative value(s) "
            f"(min {rows.min():.3g})"
        )
    cost = np.r_[np.zeros(n_in), 1.0]
    bounds = [(None, None)] * n_in + [(0, None)]
    x = np.empty((len(rows), n_in))
    violation, active_count, unique = np.empty(len(rows)), np.empty(len(rows), int), np.empty(len(rows), bool)
    for index, output in enumerate(rows):
        active = output > 0
        W_A, W_I, one_A, one_I = W[:, active].T, W[:, ~active].T, np.ones(active.sum()), np.ones((~active).sum())
        target = output[active] - b[active]
        constraints = np.vstack([np.c_[W_A, -one_A], np.c_[-W_A, -one_A], np.c_[W_I, -one_I]])
        limits = np.r_[target, -target, -b[~active]]
        result = linprog(cost, A_ub=constraints, b_ub=limits, bounds=bounds, method="highs")
        if result.status != 0:
            raise ValueError(f"the linear programme for row {index} failed: {result.message}")
        x[index], violation[index] = result.x[:n_in], result.x[n_in]
        active_count[index] = int(active.sum())
        unique[index] = bool(active.sum() >= n_in and np.linalg.matrix_rank(W_A) == n_in)
    if range_tol is not None:
        allowed = range_tol * (1.0 + np.abs(rows).max(axis=1))
        refused = violation > allowed
        if refused.any():
            worst = int(np.argmax(np.where(refused, violation / allowed, -1.0)))
            raise ValueError(
                f"h is not an output of the ReLU layer: for row {worst} every input misses it by at least "
                f"{violation[worst]:.3g} in some unit (> range_tol={range_tol} scaled by 1 + max |h|); "
                "pass range_tol=None to accept the input of least violation"
            )
    if single:
        return ReluPreimage(x[0], violation[0], active_count[0], unique[0])
    return ReluPreimage(x, violation, active_count, unique)
