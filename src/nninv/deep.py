"""The most probable exact preimage of a whole network under a Gaussian prior over its input.

A network ``f = f_L o ... o f_1`` with ``f_i(h) = a_i(h W_i + b_i)`` maps the
input ``x = h_0`` through hidden activities ``h_1, ..., h_{L-1}`` to
``y = h_L``; ``u_i = h_{i-1} W_i + b_i`` is layer ``i``'s pre-activation.
Given ``y`` and a prior ``x ~ N(m, Sigma)``, :func:`most_probable_preimage`
solves

    minimise  J(x) = 1/2 (x - m) Sigma^{-1} (x - m)^T   subject to  f(x) = y,

the preimage of largest prior density, in two steps that are exact.

*The input layer.* Among the inputs with a given first pre-activation
``u_1``, the most probable is the conditional mean of the prior given
``x W_1 = u_1 - b_1`` (:meth:`nninv.DenseInverse.gaussian`), and its value of
``J`` is ``1/2 (u_1 - mu_1) S_1^{-1} (u_1 - mu_1)^T`` with ``mu_1 = m W_1 + b_1``
and ``S_1 = W_1^T Sigma W_1``: the prior pushed forward through the layer,
``u_1 ~ N(mu_1, S_1)``. So the problem becomes one over ``u_1`` alone, in
``n_1`` dimensions instead of ``n_0``.

*The hidden layers.* Going back from ``y``, the activities a contracting layer
``i`` maps exactly to ``u_i`` form an affine set,
``h_{i-1} = (u_i - b_i) W_i^+ + z_i N_i^T`` with ``N_i`` an orthonormal basis
of ``{v : v W_i = 0}``, and ``u_{i-1} = a_{i-1}^{-1}(h_{i-1})``. Every choice
of the free coordinates ``z = (z_L, ..., z_2)`` gives hidden activities that
the layers above map exactly to ``y``, so every candidate is an exact
preimage, and ``J`` becomes a function of ``z`` alone:
``J(z) = 1/2 ||(u_1(z) - mu_1) C^{-T}||^2`` with ``S_1 = C C^T``. A bounded
activation (sigmoid, tanh) adds one condition: every ``h_i`` must lie inside
its open range; ``J = +inf`` outside it, and no step ever goes there.

*The search.* :func:`most_probable_preimage` minimises ``J(z)`` by Gauss-Newton
steps with a backtracking (Armijo) line search, row by row and in one batch.
Linearised at the current point, the exact activities move ``u_1`` within a
plane ``E^T du_1 = 0``, where the ``r`` columns of ``E`` are the derivatives
of the last layer's ``r`` independent constraints with respect to ``u_1``;
the point of that plane most probable under ``N(mu_1, S_1)`` is
``mu_1 + S_1 E lam`` with ``(E^T S_1 E) lam = E^T (u_1 - mu_1)``, an
``r x r`` system per row (``r = 10`` for ten outputs), and the step towards it
is carried back to ``z`` through the linearised layers. For Leaky ReLU,
``a^{-1}`` is linear on each sign pattern of the activities, so ``J`` is a
piecewise quadratic and the step goes straight to its minimum over the
current pattern; for sigmoid and tanh, ``J`` is smooth. A step is taken only
when it lowers ``J`` by a fixed share of what it promises, so ``J`` decreases
at every step and the result is never less probable than the start. ``J``
need not be convex (Leaky ReLU's inverse bends at 0), so the result is a
local minimum, which may sit on such a bend; there steps only shrink, and a
row stops once a shortened step gains at most ``ftol J``.

*The start.* ``start="prior_mean"`` (the default) begins at the prior mean's
pre-activation ``u_1 = mu_1`` and moves it towards the exact activities by
Newton's method on the last layer's constraints (each step the change of least
``S_1^{-1}`` norm); the activities reached are then given coordinates, which
makes them exact.
``start="least_norm"`` begins from ``z = 0``, the hidden activities of
:func:`nninv.invert_sequential` with ``method="layerwise_gaussian"``, so the
result is never less probable than that method's preimage (where ``z = 0``
lies outside a bounded activation's range, those rows start as for
``"prior_mean"``).

This is ``method="coordinates"`` of :func:`most_probable_preimage`; a
network whose hidden layers expand, or a convolutional one, is searched in
its input instead (``method="input"``, :mod:`nninv.input_space`), which
``method="auto"`` chooses where the coordinates do not apply.

Requirements: every layer but the last must have full column rank (it reaches
every pre-activation, so each ``u_i`` the search produces has preimages), and
the input layer's ``S_1`` must be positive definite. Like every preimage in
the package, the result is verified on the network before it is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import linalg

from nninv.chain import Chain, as_chain
from nninv.checks import as_count, as_float_array, as_rows, as_tolerance
from nninv.input_space import input_space_preimage, solve_each
from nninv.inverse import DenseInverse
from nninv.prior import GaussianPrior
from nninv.verify import RANGE_TOL, check_network


@dataclass(frozen=True)
class ProbablePreimage:
    """The most probable exact preimage found, with the evidence of the search.

    ``objective`` and ``start_objective`` are ``J`` per row, at the result and
    at the start (``J`` of the result equals ``1/2 (x - m) Sigma^{-1} (x - m)^T``
    for the returned ``x``); ``iterations`` counts accepted steps per row and
    ``converged`` says whether a row stopped by one of the two tolerances of
    :func:`most_probable_preimage` rather than at ``max_iter`` or where no
    shorter step lowered ``J``. ``hidden`` holds the hidden activities
    ``h_1, ..., h_{L-1}`` chosen, input side first (exact by construction; the
    layers reproduce them from ``x`` up to round-off).
    ``output_max_abs_error`` is ``max |f(x) - y|`` in float64 (over the
    rows not refused). ``refused`` maps each row that the input-space search
    could not make exact to the reason (only with ``on_inexact="report"``;
    such a row's ``x`` is the closest found, not a preimage).
    """

    x: np.ndarray
    hidden: tuple[np.ndarray, ...]
    objective: np.ndarray
    start_objective: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    output_max_abs_error: float
    refused: dict = field(default_factory=dict)


STARTS = ("prior_mean", "least_norm")
METHODS = ("auto", "coordinates", "input")
ON_INEXACT = ("raise", "report")


class _Coordinates:
    """The coordinates ``z`` of the exact preimages of a batch of outputs, and ``J`` as a function of them."""

    def __init__(self, layers: Chain, prior: GaussianPrior, y: np.ndarray, range_tol):
        for layer in layers:
            if not isinstance(layer, DenseInverse):
                raise ValueError(
                    f"layer '{layer.name}' applies {layer.map!r} without its matrix, so the search over hidden "
                    "coordinates (which factorises each layer) cannot take it; use method='input' or 'auto'"
                )
        for layer in layers[:-1]:
            if not layer.activation.elementwise:
                raise ValueError(
                    f"layer '{layer.name}' is a hidden {layer.activation.name} layer, which acts on whole rows; "
                    "only the last layer may be"
                )
            if layer.rank < layer.n_out:
                raise ValueError(
                    f"layer '{layer.name}' ({layer.n_in} -> {layer.n_out}) has rank {layer.rank} < {layer.n_out}: "
                    "it cannot reach every pre-activation, so the preimages through it have no coordinates "
                    "here; only the last layer may be expanding or rank-deficient"
                )
        first, last = layers[0], layers[-1]
        prior.check_dim(first.n_in)
        spread = first.W.T @ prior.cov @ first.W
        self.spread = (spread + spread.T) / 2  # S_1
        try:
            cholesky = np.linalg.cholesky(self.spread)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"the prior pushed through layer '{first.name}' has a singular covariance W^T Sigma W: "
                "the prior gives no spread to some direction that the layer reads"
            ) from None
        self.layers = layers
        self.below = list(reversed(layers[:-1]))  # the layers that produced h_{L-1}, h_{L-2}, ..., h_1
        self.mean = prior.mean @ first.W + first.b  # mu_1
        self.cholesky = cholesky  # C, with S_1 = C C^T
        self.whiten = linalg.solve_triangular(cholesky, np.eye(first.n_out), lower=True)  # C^{-1}
        self.top = last.min_norm(y, range_tol=range_tol)  # refuses a y that the last layer cannot produce
        self.constraints = last.row_basis  # h_{L-1} U_L = c: the last layer's independent constraints
        self.blocks = [last.null_space] + [layer.null_space for layer in self.below[:-1]]
        self.sizes = [block.shape[1] for block in self.blocks]
        self.dim = int(sum(self.sizes))

    def evaluate(self, z: np.ndarray, rows):
        """For coordinates ``z`` of the given rows: ``h_{L-1}, ..., h_1``, the slopes of ``a^{-1}`` there,
        ``u_1``, and per row whether every activity lies in its activation's range."""
        parts = np.split(z, np.cumsum(self.sizes)[:-1], axis=1)
        h = self.top[rows] + parts[0] @ self.blocks[0].T
        hidden, slopes, feasible = [], [], np.ones(len(z), dtype=bool)
        for step, layer in enumerate(self.below):
            hidden.append(h)
            if layer.activation.open_range is not None:  # out of range: J = inf, and a placeholder inside
                feasible &= layer.activation.inside(h)
                h = np.where(feasible[:, np.newaxis], h, layer.activation.interior)
            u, slope = layer.activation.inverse_and_slope(h)
            slopes.append(slope)
            if step + 1 < len(self.below):
                h = (u - layer.b) @ layer.pinv + parts[step + 1] @ self.blocks[step + 1].T
        return hidden, slopes, u, feasible

    def coordinates(self, hidden: list[np.ndarray], rows) -> np.ndarray:
        """``z`` of the exact activities nearest to ``hidden`` (``h_{L-1}, ..., h_1``), level by level."""
        parts, particular = [], self.top[rows]
        for step, layer in enumerate(self.below):
            parts.append((hidden[step] - particular) @ self.blocks[step])
            if step + 1 < len(self.below):
                exact = particular + parts[-1] @ self.blocks[step].T
                inside = layer.activation.inside(exact)
                u = layer.activation.inverse_and_slope(np.where(inside[:, np.newaxis], exact, layer.activation.interior))[0]
                particular = (u - layer.b) @ layer.pinv
        return np.concatenate(parts, axis=1)

    def objective(self, u: np.ndarray, feasible: np.ndarray) -> np.ndarray:
        """``J = 1/2 (u_1 - mu_1) S_1^{-1} (u_1 - mu_1)^T`` per row, ``inf`` where out of range."""
        residual = (u - self.mean) @ self.whiten.T
        return np.where(feasible, 0.5 * np.sum(residual**2, axis=1), np.inf)

    def gradient(self, z: np.ndarray, rows) -> np.ndarray:
        """``dJ/dz``, by the chain rule backwards through :meth:`evaluate` (rows in range only)."""
        _, slopes, u, _ = self.evaluate(z, rows)
        grad_u = ((u - self.mean) @ self.whiten.T) @ self.whiten  # (u_1 - mu_1) S_1^{-1}
        grads = [None] * len(self.blocks)
        for step in range(len(self.below) - 1, -1, -1):  # from h_1 back up to h_{L-1}
            grad_h = grad_u * slopes[step]
            grads[step] = grad_h @ self.blocks[step]
            if step > 0:
                grad_u = grad_h @ self.below[step - 1].pinv.T
        return np.concatenate(grads, axis=1)

    def _projection(self, derivatives, u: np.ndarray, residual: np.ndarray, toward_mean: bool = True) -> np.ndarray:
        """``du_1`` with ``E^T du_1 = -residual`` closest to ``mu_1 - u_1`` in ``S_1^{-1}``, per row.

        ``E`` holds the derivatives of the last layer's constraints
        ``h_{L-1} U_L`` with respect to ``u_1`` (one column per constraint),
        from ``a'(u)`` of every hidden layer (``derivatives``, ``h_{L-1}``'s
        first). The answer is ``du_1 = mu_1 - u_1 + S_1 E lam`` with
        ``(E^T S_1 E) lam = E^T (u_1 - mu_1) - residual``: one small system
        per row, of the size of the last layer's rank. With ``toward_mean=False``,
        the ``du_1`` of least ``S_1^{-1}`` norm: ``S_1 E lam`` with
        ``(E^T S_1 E) lam = -residual``.
        """
        n, r = len(u), self.constraints.shape[1]
        E = np.broadcast_to(self.constraints.T, (n, r, self.constraints.shape[0]))  # E^T, one row per constraint
        for step, layer in enumerate(self.below):
            E = E * derivatives[step][:, np.newaxis, :]  # d/du of the layer's pre-activation
            if step + 1 < len(self.below):
                E = (E.reshape(n * r, -1) @ layer.W.T).reshape(n, r, -1)  # d/dh of its input
        spread_E = (E.reshape(n * r, -1) @ self.spread).reshape(n, r, -1)  # (S_1 E)^T
        gram = E @ np.swapaxes(spread_E, 1, 2)
        if not toward_mean:
            return np.einsum("nri,nr->ni", spread_E, solve_each(gram, -residual))
        multipliers = solve_each(gram, np.einsum("nri,ni->nr", E, u - self.mean) - residual)
        return (self.mean - u) + np.einsum("nri,nr->ni", spread_E, multipliers)

    def step(self, slopes: list[np.ndarray], u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The Gauss-Newton step ``dz`` and the decrease ``||du_1||^2_{S_1^{-1}}`` it promises, per row.

        Linearised at the current point, the coordinates move ``u_1`` within
        the plane ``E^T du_1 = 0``; the step goes to the point of that plane
        closest to ``mu_1`` (:meth:`_projection`), carried back up to ``dz``
        through the linearised layers. For Leaky ReLU the linearisation is
        exact on the current sign pattern, so the step goes to the minimum of
        ``J`` over the whole pattern.
        """
        du = self._projection([1.0 / slope for slope in slopes], u, np.zeros((len(u), self.constraints.shape[1])))
        decrease = np.sum((du @ self.whiten.T) ** 2, axis=1)
        dh, parts = du / slopes[-1], [None] * len(self.blocks)
        for step in range(len(self.below) - 1, -1, -1):
            parts[step] = dh @ self.blocks[step]
            if step > 0:
                dh = (dh @ self.below[step - 1].W) / slopes[step - 1]
        return np.concatenate(parts, axis=1), decrease

    def forward(self, u: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """From ``u_1`` up: ``h_{L-1}, ..., h_1`` and ``a'(u)`` at each, ``h_{L-1}``'s first."""
        hidden, derivatives = [], []
        for step, layer in enumerate(reversed(self.below)):
            if step:
                u = hidden[-1] @ layer.W + layer.b
            h, derivative = layer.activation.forward_and_derivative(u)
            hidden.append(h)
            derivatives.append(derivative)
        return hidden[::-1], derivatives[::-1]


def _restore(chain: _Coordinates, u: np.ndarray, rows, *, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of exact activities near those ``u_1`` leads to, and the relative miss left before snapping.

    From ``u_1``, the layers give ``h_{L-1}``, which misses the constraints by
    ``h_{L-1} U_L - c``. Each step moves ``u_1`` by the change of least
    ``S_1^{-1}`` norm that cancels the miss to first order
    (``_Coordinates._projection``), halved until the miss shrinks; it stops at
    round-off or where no step shrinks the miss (a kink of Leaky ReLU). The
    activities then become coordinates (``_Coordinates.coordinates``), which makes
    them exact; only a bounded activation can then find them out of range.
    """
    target = chain.top[rows] @ chain.constraints
    scale = 1.0 + np.linalg.norm(target, axis=1)
    hidden, derivatives = chain.forward(u)
    miss = hidden[0] @ chain.constraints - target
    size = np.linalg.norm(miss, axis=1)
    stuck = np.zeros(len(u), dtype=bool)
    for _ in range(max_iter):
        pending = np.flatnonzero((size > 1e-12 * scale) & ~stuck)
        if pending.size == 0:
            break
        du = chain._projection([d[pending] for d in derivatives], u[pending], miss[pending], toward_mean=False)
        step, left = np.ones(pending.size), np.arange(pending.size)
        for _ in range(40):
            trial = u[pending[left]] + step[left, np.newaxis] * du[left]
            trial_hidden, trial_derivatives = chain.forward(trial)
            trial_miss = trial_hidden[0] @ chain.constraints - target[pending[left]]
            trial_size = np.linalg.norm(trial_miss, axis=1)
            better = trial_size < (1 - 1e-4 * step[left]) * size[pending[left]]
            taken = pending[left[better]]
            u[taken], miss[taken], size[taken] = trial[better], trial_miss[better], trial_size[better]
            for level in range(len(hidden)):
                hidden[level][taken] = trial_hidden[level][better]
                derivatives[level][taken] = trial_derivatives[level][better]
            left = left[~better]
            if left.size == 0:
                break
            step[left] /= 2
        stuck[pending[left]] = True
    return chain.coordinates(hidden, rows), size / scale


def _start(chain: _Coordinates, start: str, restarts: int = 20) -> np.ndarray:
    """The coordinates to start from: ``"least_norm"`` (``z = 0``) or ``"prior_mean"`` (see the module).

    Newton's method can stall on a kink of Leaky ReLU before it reaches the
    exact activities, and the nearest exact ones may then leave a bounded
    activation's range. Such rows start Newton's method again from up to
    ``restarts`` draws of the pushed-forward prior ``N(mu_1, S_1)`` (from a
    fixed seed, so that results repeat).
    """
    n = len(chain.top)
    z, miss = np.zeros((n, chain.dim)), np.zeros(n)
    rows = np.arange(n) if start == "prior_mean" else np.flatnonzero(~chain.evaluate(z, slice(None))[3])
    if rows.size:
        z[rows], miss[rows] = _restore(chain, np.repeat(chain.mean[np.newaxis], rows.size, axis=0), rows)
    outside = ~chain.evaluate(z, slice(None))[3]
    draws = np.random.default_rng(0)
    for _ in range(restarts):
        retry = np.flatnonzero(outside)
        if retry.size == 0:
            break
        u = chain.mean + draws.standard_normal((retry.size, chain.mean.size)) @ chain.cholesky.T
        z_retry, miss_retry = _restore(chain, u, retry)
        inside = chain.evaluate(z_retry, retry)[3]
        z[retry[inside]], miss[retry[inside]] = z_retry[inside], miss_retry[inside]
        outside[retry[inside]] = False
    if outside.any():
        hidden = chain.evaluate(z, slice(None))[0]
        for h, layer in zip(hidden, chain.below):
            out = ~layer.activation.inside(h) & outside
            if out.any():
                row = int(np.argmax(out))
                raise ValueError(
                    f"no activities of layer '{layer.name}' inside its activation's range lead to y "
                    f"(row {row}: the closest found misses the output by {miss[row]:.3g} relative); y is not "
                    "an output of the network, or saturates a bounded activation beyond what float64 can invert"
                )
    return z


def _descend(chain: _Coordinates, z: np.ndarray, *, max_iter: int, tol: float, ftol: float):
    """Gauss-Newton steps with backtracking, row by row in one batch: ``J`` decreases at every step taken.

    A step ``dz`` (:meth:`_Coordinates.step`) promises the decrease
    ``d = ||du_1||^2_{S_1^{-1}}``, and ``-d`` is the slope of ``J`` along it. It
    is taken with a step size ``a`` for which ``J(z + a dz) <= J(z) - 1e-4 a d``
    (Armijo), trying first ``a = min(1, 4 a_prev)`` (``a_prev`` the row's last
    accepted size, 1 at first) and then
    the minimum of the parabola through ``J(0)``, the slope and the last
    ``J(a)`` (kept within ``[a/10, a/2]``), so every step lowers ``J``; a point
    out of an activation's range has ``J = inf`` and is never taken. A
    row stops, converged, when ``d <= tol max(J, 1)`` (a stationary point) or
    when a step lowers ``J`` by at most ``ftol J`` (at a kink of Leaky ReLU's
    inverse, where the step can only shrink); it stops unconverged after
    ``max_iter`` steps, or when 50 reductions of ``a`` find no decrease.
    """
    n = len(z)
    z = z.copy()
    _, _, u, feasible = chain.evaluate(z, slice(None))
    value = chain.objective(u, feasible)
    start = value.copy()
    iterations, converged = np.zeros(n, dtype=int), np.zeros(n, dtype=bool)
    active, last_size = np.full(n, chain.dim > 0), np.ones(n)
    converged[~active] = True
    for _ in range(max_iter):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        _, slopes, u, _ = chain.evaluate(z[rows], rows)
        direction, decrease = chain.step(slopes, u)
        stationary = decrease <= tol * np.maximum(value[rows], 1.0)
        converged[rows[stationary]], active[rows[stationary]] = True, False
        rows, direction, decrease = rows[~stationary], direction[~stationary], decrease[~stationary]
        before = value[rows]
        size, pending = np.minimum(1.0, 4 * last_size[rows]), np.arange(rows.size)
        blocked = np.zeros(rows.size, dtype=bool)  # whether the first size tried was refused
        for _ in range(50):
            candidate = z[rows[pending]] + size[pending, np.newaxis] * direction[pending]
            _, _, u, feasible = chain.evaluate(candidate, rows[pending])
            candidate_value = chain.objective(u, feasible)
            accepted = candidate_value <= before[pending] - 1e-4 * size[pending] * decrease[pending]
            taken = rows[pending[accepted]]
            z[taken], value[taken] = candidate[accepted], candidate_value[accepted]
            last_size[taken] = size[pending[accepted]]
            refused, tried = pending[~accepted], candidate_value[~accepted]
            blocked[refused] = True
            pending = refused
            if pending.size == 0:
                break
            # the minimum of the parabola through J(0), its slope and J(a), kept within [a/10, a/2]
            a, slope = size[pending], -decrease[pending]
            curvature = (tried - before[pending] - slope * a) / a**2
            with np.errstate(invalid="ignore", over="ignore"):
                guess = np.where(np.isfinite(tried) & (curvature > 0), -slope / (2 * curvature), a / 2)
            size[pending] = np.clip(guess, a / 10, a / 2)
        moved = np.ones(rows.size, dtype=bool)
        moved[pending] = False
        iterations[rows[moved]] += 1
        settled = moved & (blocked | (size == 1)) & (before - value[rows] <= ftol * before)
        converged[rows[settled]] = True
        active[rows[settled | ~moved]] = False  # settled, or no decrease found along the step
    return z, value, start, iterations, converged


def most_probable_preimage(
    layers,
    y,
    prior: GaussianPrior,
    *,
    start: str = "prior_mean",
    max_iter: int = 100,
    tol: float = 1e-12,
    ftol: float = 1e-6,
    range_tol: float | None = RANGE_TOL,
    method: str = "auto",
    output_tol: float = 1e-9,
    on_inexact: str = "raise",
) -> ProbablePreimage:
    """The most probable exact preimage of ``y`` under ``x ~ prior``, through every layer (see the module).

    Parameters
    ----------
    layers : Chain or list of DenseInverse
        Input side first; a chain read from a convolutional model holds
        :class:`nninv.operators.AffineLayer` steps too.
    y : array_like
        One output or a batch (an empty batch gives an empty result).
    prior : GaussianPrior
        Over the network's input.
    start : {"prior_mean", "least_norm"}
        Where the search over hidden coordinates starts (``method="coordinates"``).
    max_iter : int
        Steps per row at most.
    tol, ftol : float
        ``method="coordinates"``: a row stops, converged, when the decrease a
        step promises is at most ``tol J`` or when a shortened step lowers
        ``J`` by at most ``ftol J``.
    range_tol : float or None
        As for every preimage of the package (:mod:`nninv.verify`);
        ``method="coordinates"``.
    method : {"auto", "coordinates", "input"}
        ``"coordinates"`` searches the free coordinates of the hidden
        activities (this module; every hidden layer a dense layer of full
        column rank, i.e. contracting); ``"input"`` searches the input itself
        (:mod:`nninv.input_space`; for expanding hidden layers and
        convolutional networks). ``"auto"`` takes ``"coordinates"`` where it
        applies and ``"input"`` otherwise.
    output_tol : float
        ``method="input"``: the largest ``max |f(x) - y|`` accepted per row.
    on_inexact : {"raise", "report"}
        ``method="input"``: a row that misses ``y`` by more than
        ``output_tol`` raises a ``ValueError`` naming it, or, with
        ``"report"``, is listed in ``refused`` with its reason.

    Returns
    -------
    ProbablePreimage
        With ``method="input"``, ``start_objective`` equals ``objective``
        (the search starts at the prior mean, outside the preimage set),
        ``iterations`` counts closed-form and Newton steps, and ``converged``
        says whether the last closed-form step promised at most ``ftol J``.

    Notes
    -----
    .. math:: \\min_x \\tfrac12 (x - m) \\Sigma^{-1} (x - m)^T \\quad \\text{subject to} \\quad f(x) = y

    With ``method="coordinates"`` every step lowers ``J`` and the result is
    verified like every preimage of the package: the input layer with
    ``range_tol``, then the whole network. An output the last layer cannot
    produce, or one that no hidden activities inside a bounded activation's
    range produce, raises a ``ValueError`` that names the layer. With
    ``method="input"`` every row returned has ``max |f(x) - y| <= output_tol``
    in float64, or is refused by row and reason.

    Examples
    --------
    >>> from nninv import DenseInverse, GaussianPrior, network_forward
    >>> rng = np.random.default_rng(0)
    >>> layers = [DenseInverse(rng.standard_normal((4, 3)) / 2, np.zeros(3), "tanh", name="h"),
    ...           DenseInverse(rng.standard_normal((3, 2)) / 2, np.zeros(2), "linear", name="out")]
    >>> prior = GaussianPrior(np.zeros(4), np.eye(4))
    >>> y = network_forward(layers, rng.standard_normal((2, 4)) / 4)
    >>> found = most_probable_preimage(layers, y, prior)
    >>> bool(np.allclose(network_forward(layers, found.x), y)), bool(np.all(found.objective <= found.start_objective))
    (True, True)
    >>> wide = [DenseInverse(rng.standard_normal((3, 8)), np.zeros(8), "leaky_relu", name="up"),
    ...         DenseInverse(rng.standard_normal((8, 2)), np.zeros(2), "linear", name="out")]
    >>> y = network_forward(wide, rng.standard_normal((5, 3)))
    >>> found = most_probable_preimage(wide, y, GaussianPrior(np.zeros(3), np.eye(3)))
    >>> found.output_max_abs_error <= 1e-9, found.refused
    (True, {})
    """
    if not isinstance(layers, (Chain, list, tuple)):
        raise TypeError(
            "layers must be a Chain or a list of DenseInverse, got "
            f"{type(layers).__name__}; for a Keras model use invert_sequential or nninv.layer_inverses(model)"
        )
    layers = as_chain(layers)
    if not isinstance(prior, GaussianPrior):
        raise TypeError(f"prior must be a GaussianPrior, got {type(prior).__name__}")
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS}, got {start!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    max_iter, tol = as_count(max_iter, "max_iter"), as_tolerance(tol, "tol", zero_allowed=True)
    ftol = as_tolerance(ftol, "ftol", zero_allowed=True)
    prior.check_dim(layers.n_in)
    y_rows, single = as_rows(y, layers[-1].n_out, "network output y")
    if method == "input" or (method == "auto" and not _coordinates_apply(layers)):
        means = np.broadcast_to(prior.mean, (len(y_rows), layers.n_in))
        whiten = (linalg.solve_triangular(prior.cholesky, np.eye(prior.dim), lower=True) if prior.positive_definite
                  else np.linalg.pinv(prior.factor))
        return _input_result(layers, y_rows, single, means, prior.cov, whiten, max_iter=max_iter, ftol=ftol,
                             output_tol=output_tol, on_inexact=on_inexact)
    if not len(y_rows):
        return _empty(layers, single)
    if len(layers) == 1:
        x = layers[0].gaussian(y_rows, prior, range_tol=range_tol)
        value = _objective(x, prior)
        result = ProbablePreimage(x, (), value, value, np.zeros(len(x), int), np.ones(len(x), bool), 0.0)
    else:
        chain = _Coordinates(layers, prior, y_rows, range_tol)
        z, value, initial, iterations, converged = _descend(
            chain, _start(chain, start), max_iter=max_iter, tol=tol, ftol=ftol
        )
        hidden = chain.evaluate(z, slice(None))[0][::-1]
        x = layers[0].gaussian(hidden[0], prior, range_tol=range_tol)
        result = ProbablePreimage(x, tuple(hidden), value, initial, iterations, converged, 0.0)
    error = float(np.max(np.abs(check_network(layers, result.x, y_rows, range_tol) - y_rows)))
    return _shaped(ProbablePreimage(result.x, result.hidden, result.objective, result.start_objective,
                                    result.iterations, result.converged, error), single)


def nearest_preimage(layers, y, x0, *, max_iter: int = 30, output_tol: float = 1e-9,
                     on_inexact: str = "raise") -> ProbablePreimage:
    """The exact preimage of each row of ``y`` nearest to the matching row of ``x0`` (Euclidean norm).

    The projection of a guess ``x0`` (a learned decoder's output, say) onto
    the preimage set ``{x : f(x) = y}``: ``minimise 1/2 ||x - x0||^2`` subject
    to ``f(x) = y``, by the input-space search of :mod:`nninv.input_space`
    with ``Sigma = I`` and each row's own centre ``x0``; a local minimum, as
    there.

    Parameters
    ----------
    layers : Chain or list of DenseInverse
    y : array_like
        One output or a batch.
    x0 : array_like
        One starting input per row of ``y``, of the same shape.
    max_iter, output_tol, on_inexact
        As for :func:`most_probable_preimage` with ``method="input"``.

    Returns
    -------
    ProbablePreimage
        ``objective`` is ``1/2 ||x - x0||^2`` per row.

    Examples
    --------
    >>> from nninv import DenseInverse, network_forward
    >>> rng = np.random.default_rng(1)
    >>> layers = [DenseInverse(rng.standard_normal((4, 6)), np.zeros(6), "leaky_relu", name="up"),
    ...           DenseInverse(rng.standard_normal((6, 2)), np.zeros(2), "linear", name="out")]
    >>> x = rng.standard_normal((3, 4))
    >>> found = nearest_preimage(layers, network_forward(layers, x), x + 0.01)
    >>> found.output_max_abs_error <= 1e-9, bool(np.all(np.linalg.norm(found.x - x - 0.01, axis=1) <= 0.02))
    (True, True)
    """
    layers = as_chain(layers)
    y_rows, single = as_rows(y, layers[-1].n_out, "network output y")
    centres = as_float_array(x0, "x0").reshape(-1, layers.n_in) if np.size(x0) else np.zeros((0, layers.n_in))
    if centres.shape != (len(y_rows), layers.n_in):
        raise ValueError(
            f"x0 must hold one input of {layers.n_in} entries per row of y ({len(y_rows)} rows), "
            f"got shape {np.shape(x0)}"
        )
    max_iter = as_count(max_iter, "max_iter")
    return _input_result(layers, y_rows, single, centres, None, None, max_iter=max_iter, ftol=1e-6,
                         output_tol=output_tol, on_inexact=on_inexact)


def _coordinates_apply(layers: Chain) -> bool:
    """Whether the search over hidden coordinates applies: dense layers, every hidden one of full column rank."""
    return all(isinstance(layer, DenseInverse) for layer in layers) and all(
        layer.activation.elementwise and layer.rank == layer.n_out for layer in layers[:-1])


def _input_result(layers: Chain, y_rows, single: bool, means, cov, whiten, *, max_iter: int, ftol: float,
                  output_tol, on_inexact: str) -> ProbablePreimage:
    """:func:`nninv.input_space.input_space_preimage` as a :class:`ProbablePreimage`, refusing inexact rows."""
    output_tol = as_tolerance(output_tol, "output_tol", zero_allowed=False)
    if on_inexact not in ON_INEXACT:
        raise ValueError(f"on_inexact must be one of {ON_INEXACT}, got {on_inexact!r}")
    if not len(y_rows):
        return _empty(layers, single)
    means = np.asarray(means, dtype=np.float64)
    found = input_space_preimage(layers, y_rows, means, cov, whiten, max_iter=max_iter, output_tol=output_tol,
                                 ftol=ftol)
    if found.refused and on_inexact == "raise":
        raise ValueError(
            f"{len(found.refused)} of {len(y_rows)} row(s) could not be made exact; "
            f"{next(iter(found.refused.values()))}. Pass on_inexact='report' to keep the exact rows"
        )
    hidden, h = [], found.x
    for layer in layers[:-1]:
        h = layer.forward(h)
        hidden.append(h)
    exact = np.ones(len(y_rows), dtype=bool)
    exact[list(found.refused)] = False
    centred = found.x - means
    value = 0.5 * np.sum((centred if whiten is None else centred @ whiten.T) ** 2, axis=1)
    error = float(found.output_error[exact].max(initial=0.0))
    result = ProbablePreimage(found.x, tuple(hidden), value, value, found.iterations + found.newton,
                              found.converged, error, found.refused)
    return _shaped(result, single)


def _shaped(result: ProbablePreimage, single: bool) -> ProbablePreimage:
    """``result`` with its one row unwrapped where one output was given."""
    if not single:
        return result
    return ProbablePreimage(
        result.x[0], tuple(part[0] for part in result.hidden), result.objective[0], result.start_objective[0],
        result.iterations[0], result.converged[0], result.output_max_abs_error, result.refused,
    )


def _objective(x: np.ndarray, prior: GaussianPrior) -> np.ndarray:
    """``1/2 (x - m) Sigma^+ (x - m)^T`` per row."""
    centred = x - prior.mean
    return 0.5 * np.sum(centred * np.linalg.lstsq(prior.cov, centred.T, rcond=None)[0].T, axis=1)


def _empty(layers: Chain, single: bool) -> ProbablePreimage:
    """The result for an empty batch: no rows, of the widths of the network."""
    none = np.zeros(0)
    hidden = tuple(np.zeros((0, layer.n_in)) for layer in layers[1:])
    return ProbablePreimage(np.zeros((0, layers.n_in)), hidden, none, none, np.zeros(0, int), np.zeros(0, bool), 0.0)
