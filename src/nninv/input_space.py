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

*Why it is exact.* With Leaky ReLU (and linear, pooling and convolution
steps) ``f`` is affine on each region where the sign pattern of every hidden
pre-activation is fixed. Once a step stays in the region it starts from,
``f(x_{k+1}) = y`` exactly (to round-off), and ``x_{k+1}`` is the most
probable preimage within that region; the next step then does not move, and
the row has converged. A row whose pattern keeps changing after ``max_iter``
steps is finished by Newton steps on ``f(x) = y`` alone, each the change of
least ``Sigma^{-1}`` norm that cancels the residual to first order
(``x + lam J Sigma`` with ``(J Sigma J^T) lam^T = (t - u(x))^T``), halved
while the residual grows; each step crosses only the kinks near ``x``, so the
residual falls to round-off within a few steps. For smooth activations
(sigmoid, tanh) both steps are Newton's method. A row whose output still
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
    ``iterations`` the steps of the closed form taken, ``newton`` the
    feasibility steps after them; ``converged`` whether the closed form
    stopped moving (a local minimum within one region of the activation
    pattern); ``refused`` maps each row whose output error exceeds
    ``output_tol`` to the reason.
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
            g = affine.transpose(g) * np.repeat(derivative, r, axis=0)
        return self.maps[0].transpose(g).reshape(count, r, -1)


def _step(J: np.ndarray, cov: np.ndarray | None, rhs: np.ndarray) -> np.ndarray:
    """``lam J Sigma`` per row with ``(J Sigma J^T) lam^T = rhs^T`` (``Sigma = I`` when ``cov`` is None)."""
    spread = J if cov is None else (J.reshape(-1, J.shape[2]) @ cov).reshape(J.shape)
    gram = J @ np.swapaxes(spread, 1, 2)
    return np.einsum("nr,nri->ni", solve_each(gram, rhs), spread)


def _search_rows(net: _Linearised, target, means, cov, x, *, max_iter: int, output_tol: float, newton_iter: int):
    """:func:`input_space_preimage` on one chunk of rows (see the module)."""
    n = len(x)
    iterations, newton = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    converged = np.zeros(n, dtype=bool)
    active = np.arange(n)
    for _ in range(max_iter):
        if active.size == 0:
            break
        u, derivatives = net.value(x[active])
        J = net.jacobian(derivatives, active.size)
        residual = target[active] - u
        rhs = residual + np.einsum("nri,ni->nr", J, x[active] - means[active])
        moved = means[active] + _step(J, cov, rhs)
        size = np.linalg.norm(moved - x[active], axis=1)
        still = (size <= 1e-12 * (1.0 + np.linalg.norm(x[active], axis=1))) & (
            np.abs(residual).max(axis=1) <= output_tol)
        converged[active[still]] = True
        x[active[~still]] = moved[~still]
        iterations[active[~still]] += 1
        active = active[~still]
    u = net.value(x)[0]
    error = np.abs(target - u).max(axis=1)
    pending = np.flatnonzero(error > output_tol)
    for _ in range(newton_iter):
        if pending.size == 0:
            break
        u, derivatives = net.value(x[pending])
        correction = _step(net.jacobian(derivatives, pending.size), cov, target[pending] - u)
        size, left = np.ones(pending.size), np.arange(pending.size)
        for _ in range(30):  # halve a step while it does not lower the residual
            trial = x[pending[left]] + size[left, np.newaxis] * correction[left]
            trial_error = np.abs(target[pending[left]] - net.value(trial)[0]).max(axis=1)
            better = trial_error < error[pending[left]]
            x[pending[left[better]]], error[pending[left[better]]] = trial[better], trial_error[better]
            left = left[~better]
            if left.size == 0:
                break
            size[left] /= 2
        newton[pending] += 1
        stuck = np.zeros(pending.size, dtype=bool)
        stuck[left] = True
        pending = pending[(error[pending] > output_tol) & ~stuck]
    return x, iterations, newton, converged


def input_space_preimage(layers: Chain, y_rows: np.ndarray, means: np.ndarray, cov: np.ndarray | None, *,
                         max_iter: int = 30, output_tol: float = 1e-9, newton_iter: int = 30) -> InputSearch:
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
        ``n_in x n_in`` prior covariance; ``None`` for the identity.
    max_iter : int
        Steps of the closed form per row at most, before the Newton steps.
    output_tol : float
        The largest ``|f(x) - y|`` accepted.
    newton_iter : int
        Newton steps on ``f(x) = y`` at most.

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
            net, target[rows], means[rows], cov, x[rows], max_iter=max_iter, output_tol=output_tol,
            newton_iter=newton_iter)
    output = layers.forward(x)
    with np.errstate(invalid="ignore"):
        error = np.abs(output - y_rows).max(axis=1)
    refused = {
        int(row): (
            f"row {int(row)}: the closest input found misses the output by {error[row]:.3g} "
            f"(> output_tol={output_tol:g}) after {iterations[row]} steps of the closed form and "
            f"{newton[row]} Newton steps; y may not be an output of the network, or its Jacobian is "
            "rank-deficient there"
        )
        for row in np.flatnonzero(~(error <= output_tol))
    }
    return InputSearch(x, error, iterations, newton, converged, refused)
