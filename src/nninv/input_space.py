"""Exact preimages of a whole network searched in its input: for networks whose hidden layers expand.

A network ``f`` whose hidden layers do not lose information (a convolution
with more outputs than inputs, a dense layer of full row rank, each followed
by an invertible activation) fixes every hidden activity once its input
``x`` is known: the activities are functions of ``x``, and the free
variables of the preimage set ``{x : f(x) = y}`` live in the input alone.
:func:`input_space_preimage` solves

    minimise  J(x) = 1/2 (x - m) Sigma^{-1} (x - m)^T   subject to  f(x) = y

over ``x`` directly (``m`` may differ per row; :func:`nninv.nearest_preimage`
takes ``Sigma = I`` and ``m = x0``, the nearest exact preimage to ``x0``).

*Each step* is the single-layer Gaussian closed form applied to the network
linearised at the current ``x_k``. With ``u(x)`` the last layer's
pre-activation, ``t = a^{-1}(y)`` its target and
``u(x) ~ u(x_k) + (x - x_k) J^T`` (``J``, ``r x n_in``, computed by
back-propagating ``r`` unit vectors through the layers, one per output,
never by forming a layer's matrix),

    x_{k+1} = m + lam J Sigma,   lam (J Sigma J^T) = t - u(x_k) + (x_k - m) J^T,

the most probable point of the linearised preimage set: ``r`` equations per
row, ``r = 10`` for ten outputs.

*The search.* It starts from an exact preimage: ten steps of the closed
form from the prior mean (which bring ``x`` near the preimage set, off the
kinks where the mean may sit), then Newton steps on ``u(x) = t`` alone,
each the change of least
``Sigma^{-1}`` norm that cancels the residual to first order
(``x + lam J Sigma`` with ``lam (J Sigma J^T) = t - u(x)``), halved while the
residual does not fall. From an exact ``x``, the closed form's point
``x_s`` promises ``J(x) - J(x_s) >= 0``; the search tries ``x + a (x_s - x)``
for ``a = 1, 1/4, 1/16``, brings each trial back onto ``f(x) = y`` by chord
steps (Newton steps with the Jacobian at ``x``, forward passes only) and
takes the first that is exact and lowers ``J`` by ``1e-4 a`` of the
promise. So every iterate is an exact preimage, ``J`` falls at every step,
and a row stops, converged, once the promise is at most ``ftol J``, or
unconverged where no trial lowers ``J`` (a kink) or after ``max_iter`` steps.
Undamped, the closed form alone cycles between activation patterns on a
trained network's kinks; the search above cannot.

*Why it is exact.* With Leaky ReLU (and linear, pooling and convolution
steps) ``f`` is affine on each region where the sign pattern of every hidden
pre-activation is fixed, so a Newton step that crosses no kink lands on
``f(x) = y`` to round-off, and one that crosses a few leaves a residual
of the size of the crossings; the residual falls to round-off within a
few steps. For smooth activations (sigmoid, tanh) these are Newton's method.
Every row returned is then measured in float64 through the layers: one that
misses ``y`` by more than ``output_tol`` is refused, by row and reason; a
result is never a near miss.

*What it covers exactly.* Every chain of affine steps (dense, convolution,
pooling, padding, batch normalisation) with elementwise invertible
activations (Leaky ReLU, linear, sigmoid, tanh) whose Jacobian ``J`` has full
row rank ``r`` at the points visited, which an expansive or square network
with ten outputs has except on a set of measure zero; its result is a local
minimum of ``J`` over the preimage set (the objective is not convex across
patterns). ReLU (whose preimages are polyhedra, :mod:`nninv.relu`) and a
softmax output (invert its logits) are outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nninv.activations import Linear
from nninv.chain import Chain
from nninv.inverse import DenseInverse
from nninv.operators import AffineLayer, AffineMap, Matrix

WORKSPACE = 2**26
"""Bytes of back-propagated vectors a batch may hold at once (64 MB): rows are processed in chunks of it."""


def solve_each(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``gram^{-1} rhs`` per row, by least squares where ``gram`` is singular.

    Examples
    --------
    >>> print(solve_each(np.array([[[2.0]], [[0.0]]]), np.array([[4.0], [1.0]])))
    [[2.]
     [0.]]
    """
    try:
        return np.linalg.solve(gram, rhs[..., np.newaxis])[..., 0]
    except np.linalg.LinAlgError:
        return np.stack([np.linalg.lstsq(g, r, rcond=None)[0] for g, r in zip(gram, rhs)])


@dataclass(frozen=True)
class InputSearch:
    """What :func:`input_space_preimage` found, per row.

    ``x`` holds the preimages; ``output_error`` ``max |f(x) - y|`` per row;
    ``iterations`` the steps of the closed form taken from an exact
    preimage, ``newton`` the Newton steps (to the first exact preimage and
    to round-off at the end); ``converged`` whether the closed form's step
    promised at most ``ftol J`` (a stationary point); ``refused`` maps each
    row whose output error exceeds ``output_tol`` to the reason.
    """

    x: np.ndarray
    output_error: np.ndarray
    iterations: np.ndarray
    newton: np.ndarray
    converged: np.ndarray
    refused: dict


class _Linearised:
    """The chain as affine maps and activations, with its value and Jacobian at a batch of inputs."""

    def __init__(self, layers: Chain):
        self.maps: list[AffineMap] = []
        self.activations = []
        for index, layer in enumerate(layers):
            last = index == len(layers) - 1
            if not layer.activation.elementwise:
                raise ValueError(
                    f"layer '{layer.name}' applies {layer.activation.name}, which acts on whole rows: the input-space "
                    "search needs elementwise activations; read the model up to the logits (without the softmax)"
                )
            if isinstance(layer, DenseInverse):
                self.maps.append(Matrix(layer.W, layer.b))
            elif isinstance(layer, AffineLayer):
                self.maps.append(layer.map)
            self.activations.append(None if last else layer.activation)
        self.last = layers[-1]
        self.width = max(part.n_out for part in self.maps)

    def value(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The last pre-activation at ``x`` and each hidden activation's derivative there."""
        derivatives, h = [], x
        for affine, activation in zip(self.maps[:-1], self.activations[:-1]):
            h, derivative = activation.forward_and_derivative(affine.apply(h))
            derivatives.append(derivative)
        return self.maps[-1].apply(h), derivatives

    def jacobian(self, derivatives: list[np.ndarray], count: int) -> np.ndarray:
        """``J`` (``count x r x n_in``): ``r`` unit vectors back-propagated per row."""
        r = self.maps[-1].n_out
        g = np.tile(np.eye(r), (count, 1))
        for affine, derivative in zip(self.maps[:0:-1], derivatives[::-1]):
            g = (affine.transpose(g).reshape(count, r, -1) * derivative[:, np.newaxis, :]).reshape(count * r, -1)
        return self.maps[0].transpose(g).reshape(count, r, -1)


class _Projector:
    """For a batch of Jacobians ``J``: ``lam J Sigma`` with ``lam (J Sigma J^T) = rhs``, the change of least
    ``Sigma^{-1}`` norm that moves the linearised pre-activation by ``rhs`` (``Sigma = I`` when ``cov`` is None)."""

    def __init__(self, J: np.ndarray, cov: np.ndarray | None):
        self.J = J
        self.spread = J if cov is None else (J.reshape(-1, J.shape[2]) @ cov).reshape(J.shape)
        self.gram = J @ np.swapaxes(self.spread, 1, 2)

    def step(self, rhs: np.ndarray, rows=slice(None)) -> np.ndarray:
        return np.einsum("nr,nri->ni", solve_each(self.gram[rows], rhs), self.spread[rows])

    def rows(self, index) -> "_Projector":
        part = _Projector.__new__(_Projector)
        part.J, part.spread, part.gram = self.J[index], self.spread[index], self.gram[index]
        return part


def _closed_form(net: _Linearised, target, means, cov, x) -> tuple[np.ndarray, _Projector]:
    """``x_s - m`` of the closed form on the network linearised at ``x`` (see the module), and its projector."""
    u, derivatives = net.value(x)
    projector = _Projector(net.jacobian(derivatives, len(x)), cov)
    return projector.step(target - u + np.einsum("nri,ni->nr", projector.J, x - means)), projector


def _newton(net: _Linearised, target, x, cov, error, *, output_tol: float, steps: int, projector=None):
    """Newton steps on ``u(x) = t`` (each the least-norm change of :class:`_Projector`), halved while the
    residual does not fall; with ``projector``, its fixed Jacobian (chord steps, forward passes only).
    Returns ``x``, the error per row and the number of steps taken per row."""
    taken = np.zeros(len(x), dtype=int)
    pending = np.flatnonzero(error > output_tol)
    for _ in range(steps):
        if pending.size == 0:
            break
        u, derivatives = net.value(x[pending])
        if projector is None:
            correction = _Projector(net.jacobian(derivatives, pending.size), cov).step(target[pending] - u)
        else:
            correction = projector.step(target[pending] - u, pending)
        size, left = np.ones(pending.size), np.arange(pending.size)
        for _ in range(1 if projector is not None else 30):  # halve a step while it does not lower the residual
            trial = x[pending[left]] + size[left, np.newaxis] * correction[left]
            trial_error = np.abs(target[pending[left]] - net.value(trial)[0]).max(axis=1)
            better = trial_error < error[pending[left]]
            x[pending[left[better]]], error[pending[left[better]]] = trial[better], trial_error[better]
            left = left[~better]
            if left.size == 0:
                break
            size[left] /= 2
        taken[pending] += 1
        stuck = np.zeros(pending.size, dtype=bool)
        stuck[left] = True
        pending = pending[(error[pending] > output_tol) & ~stuck]
    return x, error, taken


def _search_rows(net: _Linearised, target, means, cov, whiten, x, *, max_iter: int, output_tol: float,
                 newton_iter: int, ftol: float, start_steps: int = 10):
    """:func:`input_space_preimage` on one chunk of rows (see the module)."""
    n = len(x)

    def objective(points, rows):
        centred = points - means[rows]
        return 0.5 * np.sum((centred if whiten is None else centred @ whiten.T) ** 2, axis=1)

    def error_at(points, rows):
        return np.abs(target[rows] - net.value(points)[0]).max(axis=1)

    polish = min(output_tol, 1e-12 * (1.0 + float(np.abs(target).max(initial=0.0))))  # round-off, if reached
    for _ in range(start_steps):  # the closed form, undamped: near the preimage set, off the kinks of the mean
        x = means + _closed_form(net, target, means, cov, x)[0]
    x, error, newton = _newton(net, target, x, cov, error_at(x, slice(None)), output_tol=polish, steps=newton_iter)
    iterations, converged = np.zeros(n, dtype=int), np.zeros(n, dtype=bool)
    value = objective(x, slice(None))
    active = np.flatnonzero(error <= output_tol)
    for _ in range(max_iter):
        if active.size == 0:
            break
        step, projector = _closed_form(net, target[active], means[active], cov, x[active])
        direction = means[active] + step - x[active]
        promised = value[active] - objective(x[active] + direction, active)  # >= 0: x is feasible for the step
        still = promised <= ftol * np.maximum(value[active], 1e-300)
        converged[active[still]] = True
        size, pending = np.ones(active.size), np.flatnonzero(~still)
        moved = np.zeros(active.size, dtype=bool)
        for _ in range(3):  # a shorter step, restored onto f(x) = y by chord steps, until J falls
            if pending.size == 0:
                break
            rows = active[pending]
            trial = x[rows] + size[pending, np.newaxis] * direction[pending]
            sub = projector.rows(pending)
            trial, trial_error, _ = _newton(net, target[rows], trial, cov, error_at(trial, rows),
                                            output_tol=polish, steps=6, projector=sub)
            trial_value = objective(trial, rows)
            better = (trial_error <= output_tol) & (
                trial_value <= value[rows] - 1e-4 * size[pending] * promised[pending])
            x[rows[better]], value[rows[better]], error[rows[better]] = trial[better], trial_value[better], \
                trial_error[better]
            moved[pending[better]] = True
            pending = pending[~better]
            size[pending] /= 4
        iterations[active[moved]] += 1
        active = active[moved]
    x, _, last = _newton(net, target, x, cov, error, output_tol=polish, steps=newton_iter)  # to round-off
    return x, iterations, newton + last, converged


def input_space_preimage(layers: Chain, y_rows: np.ndarray, means: np.ndarray, cov: np.ndarray | None,
                         whiten: np.ndarray | None = None, *, max_iter: int = 30, output_tol: float = 1e-9,
                         newton_iter: int = 30, ftol: float = 1e-6) -> InputSearch:
    """The most probable exact preimage of each row of ``y_rows`` under ``N(means[i], cov)``, searched in ``x``.

    Parameters
    ----------
    layers : Chain
        Elementwise activations only (see the module).
    y_rows : numpy.ndarray
        ``(n, n_out)`` outputs.
    means : numpy.ndarray
        ``(n, n_in)``: each row's prior mean (or the point to be nearest to).
    cov : numpy.ndarray or None
        ``n_in x n_in`` prior covariance ``Sigma``; ``None`` for the identity.
    whiten : numpy.ndarray or None
        ``C^{-1}`` for ``Sigma = C C^T`` (so that ``J = 1/2 ||(x - m) C^{-T}||^2``);
        ``None`` with ``cov=None``.
    max_iter : int
        Steps of the closed form per row at most.
    output_tol : float
        The largest ``|u(x) - t|`` accepted (the last pre-activation's miss).
    newton_iter : int
        Newton steps on ``f(x) = y`` at most, to the first exact preimage.
    ftol : float
        A row stops, converged, once the closed form's step promises to lower
        ``J`` by at most ``ftol J``.

    Returns
    -------
    InputSearch

    Examples
    --------
    >>> from nninv import DenseInverse, network_forward
    >>> rng = np.random.default_rng(0)
    >>> layers = Chain([DenseInverse(rng.standard_normal((3, 6)), np.zeros(6), "leaky_relu", name="up"),
    ...                 DenseInverse(rng.standard_normal((6, 2)), np.zeros(2), "linear", name="out")])
    >>> y = network_forward(layers, rng.standard_normal((4, 3)))
    >>> found = input_space_preimage(layers, y, np.zeros((4, 3)), None)
    >>> bool(np.abs(network_forward(layers, found.x) - y).max() <= 1e-9), found.refused
    (True, {})
    """
    net = _Linearised(layers)
    target = net.last.activation.inverse(y_rows, where=f"layer '{net.last.name}'")
    x = np.array(means, dtype=np.float64)
    chunk = max(1, WORKSPACE // (8 * net.maps[-1].n_out * net.width))
    iterations, newton = np.zeros(len(x), dtype=int), np.zeros(len(x), dtype=int)
    converged = np.zeros(len(x), dtype=bool)
    for start in range(0, len(x), chunk):
        rows = slice(start, start + chunk)
        x[rows], iterations[rows], newton[rows], converged[rows] = _search_rows(
            net, target[rows], means[rows], cov, whiten, x[rows], max_iter=max_iter, output_tol=output_tol,
            newton_iter=newton_iter, ftol=ftol)
    output = layers.forward(x)
    with np.errstate(invalid="ignore"):
        error = np.abs(output - y_rows).max(axis=1)
    refused = {
        int(row): (
            f"row {int(row)}: the closest input found misses the output by {error[row]:.3g} "
            f"(> output_tol={output_tol:g}) after {newton[row]} Newton steps; y may not "
            "be an output of the network, or its Jacobian is rank-deficient there"
        )
        for row in np.flatnonzero(~(error <= output_tol))
    }
    return InputSearch(x, error, iterations, newton, converged, refused)
