"""Affine maps on flat row-major images, applied without forming their matrices.

A convolution, an average pooling, a zero padding and a per-channel scale and
shift (a batch normalisation at inference) each map an image of shape
``(height, width, channels)`` (channels last, flattened row-major into a row
vector ``x`` of ``n_in`` entries) to ``x A + b``: an affine map, whose matrix
``A`` (``n_in x n_out``) is never formed. Each :class:`AffineMap` applies
itself (:meth:`AffineMap.apply`) and the transpose of its linear part
(:meth:`AffineMap.transpose`, ``g -> g A^T``, which back-propagates a
gradient), both on batches of rows; :meth:`AffineMap.matrix` forms ``A`` when
one is wanted (to look at its rows, or to test).

*Why matrix-free.* For the book's convolutional network (``Reshape(28, 28,
1) -> Conv2D(8, 3, same) -> LeakyReLU -> AveragePooling2D(2) -> Conv2D(16, 3,
same) -> LeakyReLU -> AveragePooling2D(2) -> Flatten -> Dense(10)``) the first
convolution's matrix is ``784 x 6272`` and the pooling followed by the second
convolution ``6272 x 3136``. Measured (``python benchmarks/inversion.py
--cnn``, two cores): as matrices the steps take 188 MiB in float64 and 4 s
to form, and back-propagating ten vectors per image (one Jacobian, what each
step of :mod:`nninv.input_space` needs) takes 31 ms; matrix-free the steps
hold 0.25 MiB of kernels and the same Jacobian takes 7.5 ms (nine ``3 x 3``
shifts, each a ``c_in x c_out`` product per pixel, against
``10 (784 x 6272 + 6272 x 3136)`` multiplications per image). So
convolutions and poolings stay matrix-free; a dense layer stays a matrix,
and a pooling, a flatten and a dense layer with no activation between them
compose into one matrix (``3136 x 10`` here) by transposing the pooling onto
the dense layer's columns (:func:`compose`).

Shapes follow Keras (TensorFlow's conventions): ``padding="valid"`` uses
only whole windows, ``out = floor((in - k) / s) + 1``; ``padding="same"``
gives ``out = ceil(in / s)`` and pads ``max((out - 1) s + k - in, 0)`` zeros,
half before (rounded down) and the rest after; an average pooling with
``"same"`` padding averages only the cells inside the image.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nninv.activations import Activation, get_activation
from nninv.checks import as_rows


def _padding(size: int, window: int, stride: int, padding: str) -> tuple[int, int, int]:
    """``(out, before, after)`` along one axis, by TensorFlow's rule (see the module)."""
    if padding == "valid":
        return (size - window) // stride + 1, 0, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return out, total // 2, total - total // 2


class AffineMap:
    """``x -> x A + b`` from images of ``in_shape`` to images of ``out_shape``, on flat row vectors.

    Subclasses define :meth:`linear` (``x A``) and :meth:`transpose`
    (``g A^T``) on batches of flat rows, and ``bias``, the flat ``b``.
    """

    in_shape: tuple
    out_shape: tuple
    bias: np.ndarray

    @property
    def n_in(self) -> int:
        """The number of entries of an input."""
        return math.prod(self.in_shape)

    @property
    def n_out(self) -> int:
        """The number of entries of an output."""
        return math.prod(self.out_shape)

    def linear(self, x: np.ndarray) -> np.ndarray:
        """``x A`` for flat rows ``x`` of shape ``(m, n_in)``.

        Examples
        --------
        >>> pool = AveragePooling((2, 2, 1), (2, 2), (2, 2), "valid")
        >>> print(pool.linear(np.array([[1.0, 2.0, 3.0, 4.0]])))
        [[2.5]]
        """
        raise NotImplementedError

    def transpose(self, g: np.ndarray) -> np.ndarray:
        """``g A^T`` for flat rows ``g`` of shape ``(m, n_out)``: the gradient with respect to the input.

        Examples
        --------
        >>> pool = AveragePooling((2, 2, 1), (2, 2), (2, 2), "valid")
        >>> print(pool.transpose(np.array([[1.0]])))
        [[0.25 0.25 0.25 0.25]]
        """
        raise NotImplementedError

    def apply(self, x) -> np.ndarray:
        """``x A + b``, for one flat input or a batch of them.

        Examples
        --------
        >>> shift = ChannelAffine((1, 1, 2), np.array([2.0, 3.0]), np.array([1.0, 0.0]))
        >>> print(shift.apply([1.0, 1.0]))
        [3. 3.]
        """
        rows, single = as_rows(x, self.n_in, "input of the affine map")
        out = self.linear(rows) + self.bias
        return out[0] if single else out

    def matrix(self) -> np.ndarray:
        """``A`` itself (``n_in x n_out``), formed column block by column block from :meth:`transpose`.

        Examples
        --------
        >>> pool = AveragePooling((2, 2, 1), (2, 2), (2, 2), "valid")
        >>> print(pool.matrix().T)
        [[0.25 0.25 0.25 0.25]]
        """
        return self.transpose(np.eye(self.n_out)).T

    def absolute(self) -> "AffineMap":
        """The map with ``|A|`` and ``|b|`` entrywise (or a bound on them), for bounds on round-off.

        Examples
        --------
        >>> print(ChannelAffine((2,), np.array([-2.0, 1.0]), np.zeros(2)).absolute().apply([1.0, 1.0]))
        [2. 1.]
        """
        return self  # pooling and padding have no negative entries

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_shape} -> {self.out_shape})"


def _images(x: np.ndarray, shape: tuple) -> np.ndarray:
    return x.reshape((len(x), *shape))


class Convolution(AffineMap):
    """A 2-D convolution (Keras's ``Conv2D``): ``out[i, j] = sum_{p, q} in[s i + p, s j + q] K[p, q] + b``.

    Parameters
    ----------
    in_shape : tuple
        ``(height, width, c_in)``.
    kernel : numpy.ndarray
        ``(k_h, k_w, c_in, c_out)``, as Keras stores it (a cross-correlation).
    bias : numpy.ndarray or None
        ``c_out`` biases.
    strides : tuple
        ``(s_h, s_w)``.
    padding : {"valid", "same"}

    Examples
    --------
    >>> conv = Convolution((3, 3, 1), np.ones((2, 2, 1, 1)), None, (1, 1), "valid")
    >>> conv
    Convolution((3, 3, 1) -> (2, 2, 1))
    >>> print(conv.apply(np.arange(9.0)))
    [ 8. 12. 20. 24.]
    """

    def __init__(self, in_shape, kernel, bias, strides, padding):
        self.in_shape = tuple(int(axis) for axis in in_shape)
        self.kernel = np.asarray(kernel, dtype=np.float64)
        self.strides = tuple(int(s) for s in strides)
        self.padding = padding
        (height, width, _), (k_h, k_w, _, c_out) = self.in_shape, self.kernel.shape
        rows = _padding(height, k_h, self.strides[0], padding)
        cols = _padding(width, k_w, self.strides[1], padding)
        self.out_shape = (rows[0], cols[0], c_out)
        self.pads = ((rows[1], rows[2]), (cols[1], cols[2]))
        self.bias = np.tile(np.zeros(c_out) if bias is None else np.asarray(bias, dtype=np.float64), rows[0] * cols[0])

    def _windows(self):
        """Per kernel offset ``(p, q)``: the slices of the padded input it reads."""
        (out_h, out_w, _), (s_h, s_w) = self.out_shape, self.strides
        for p in range(self.kernel.shape[0]):
            for q in range(self.kernel.shape[1]):
                yield p, q, (slice(None), slice(p, p + s_h * (out_h - 1) + 1, s_h), slice(q, q + s_w * (out_w - 1) + 1, s_w))

    def linear(self, x):
        padded = np.pad(_images(x, self.in_shape), ((0, 0), *self.pads, (0, 0)))
        k_h, k_w, c_in, c_out = self.kernel.shape
        if c_in == 1:  # one product of every window with the kernel: per offset, outer products
            (out_h, out_w, _), (s_h, s_w) = self.out_shape, self.strides
            windows = sliding_window_view(padded[..., 0], (k_h, k_w), axis=(1, 2))
            windows = windows[:, : s_h * (out_h - 1) + 1 : s_h, : s_w * (out_w - 1) + 1 : s_w]
            return (windows.reshape(-1, k_h * k_w) @ self.kernel.reshape(k_h * k_w, c_out)).reshape(len(x), -1)
        out = np.zeros((len(x), *self.out_shape))
        for p, q, window in self._windows():
            out += padded[window] @ self.kernel[p, q]
        return out.reshape(len(x), -1)

    def transpose(self, g):
        (top, bottom), (left, right) = self.pads
        height, width, c_in = self.in_shape
        padded = np.zeros((len(g), height + top + bottom, width + left + right, c_in))
        g = _images(g, self.out_shape)
        for p, q, window in self._windows():
            padded[window] += g @ self.kernel[p, q].T
        return padded[:, top : top + height, left : left + width].reshape(len(g), -1)

    def absolute(self):
        magnitude = Convolution(self.in_shape, np.abs(self.kernel), None, self.strides, self.padding)
        magnitude.bias = np.abs(self.bias)
        return magnitude


class AveragePooling(AffineMap):
    """A 2-D average pooling (Keras's ``AveragePooling2D``), each channel alone.

    With ``padding="same"`` a window that overhangs the image averages only
    the cells inside it, as TensorFlow does.

    Examples
    --------
    >>> pool = AveragePooling((3, 3, 1), (2, 2), (2, 2), "same")
    >>> pool
    AveragePooling((3, 3, 1) -> (2, 2, 1))
    >>> print(pool.apply(np.arange(9.0)))
    [2.  3.5 6.5 8. ]
    """

    def __init__(self, in_shape, pool_size, strides, padding):
        self.in_shape = tuple(int(axis) for axis in in_shape)
        self.pool_size, self.strides, self.padding = tuple(pool_size), tuple(strides), padding
        height, width, channels = self.in_shape
        rows = _padding(height, self.pool_size[0], self.strides[0], padding)
        cols = _padding(width, self.pool_size[1], self.strides[1], padding)
        self.out_shape = (rows[0], cols[0], channels)
        self.pads = ((rows[1], rows[2]), (cols[1], cols[2]))
        self.bias = np.zeros(self.n_out)
        inside = np.pad(np.ones((1, height, width, 1)), ((0, 0), *self.pads, (0, 0)))
        self._count = sum(inside[window] for window in self._windows())  # cells inside each window

    def _windows(self):
        (out_h, out_w, _), (s_h, s_w) = self.out_shape, self.strides
        for p in range(self.pool_size[0]):
            for q in range(self.pool_size[1]):
                yield (slice(None), slice(p, p + s_h * (out_h - 1) + 1, s_h), slice(q, q + s_w * (out_w - 1) + 1, s_w))

    def linear(self, x):
        padded = np.pad(_images(x, self.in_shape), ((0, 0), *self.pads, (0, 0)))
        return (sum(padded[window] for window in self._windows()) / self._count).reshape(len(x), -1)

    def transpose(self, g):
        (top, bottom), (left, right) = self.pads
        height, width, channels = self.in_shape
        padded = np.zeros((len(g), height + top + bottom, width + left + right, channels))
        share = _images(g, self.out_shape) / self._count
        for window in self._windows():
            padded[window] += share
        return padded[:, top : top + height, left : left + width].reshape(len(g), -1)


class ZeroPadding(AffineMap):
    """Zeros around an image (Keras's ``ZeroPadding2D``): ``((top, bottom), (left, right))``.

    Examples
    --------
    >>> pad = ZeroPadding((1, 1, 1), ((0, 1), (1, 0)))
    >>> print(pad.apply([5.0]))
    [0. 5. 0. 0.]
    """

    def __init__(self, in_shape, pads):
        self.in_shape = tuple(int(axis) for axis in in_shape)
        self.pads = tuple(tuple(int(p) for p in pair) for pair in pads)
        (top, bottom), (left, right) = self.pads
        height, width, channels = self.in_shape
        self.out_shape = (height + top + bottom, width + left + right, channels)
        self.bias = np.zeros(self.n_out)

    def linear(self, x):
        return np.pad(_images(x, self.in_shape), ((0, 0), *self.pads, (0, 0))).reshape(len(x), -1)

    def transpose(self, g):
        (top, _), (left, _) = self.pads
        height, width, _ = self.in_shape
        return _images(g, self.out_shape)[:, top : top + height, left : left + width].reshape(len(g), -1)


class ChannelAffine(AffineMap):
    """``x * scale + shift`` along the last axis (a batch normalisation at inference).

    Examples
    --------
    >>> ChannelAffine((2, 2, 3), np.ones(3), np.zeros(3))
    ChannelAffine((2, 2, 3) -> (2, 2, 3))
    """

    def __init__(self, shape, scale, shift):
        self.in_shape = self.out_shape = tuple(int(axis) for axis in shape)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.shift = np.asarray(shift, dtype=np.float64)
        repeats = self.n_in // self.scale.size
        self._scale, self.bias = np.tile(self.scale, repeats), np.tile(self.shift, repeats)

    def linear(self, x):
        return x * self._scale

    def transpose(self, g):
        return g * self._scale

    def absolute(self):
        return ChannelAffine(self.in_shape, np.abs(self.scale), np.abs(self.shift))


class Matrix(AffineMap):
    """``x W + b`` with the matrix ``W`` stored: a dense layer.

    Examples
    --------
    >>> print(Matrix(np.eye(2), np.ones(2)).apply([1.0, 2.0]))
    [2. 3.]
    """

    def __init__(self, W, b, in_shape=None):
        self.W = np.asarray(W, dtype=np.float64)
        self.bias = np.asarray(b, dtype=np.float64)
        self.in_shape = (self.W.shape[0],) if in_shape is None else tuple(in_shape)
        self.out_shape = (self.W.shape[1],)

    def linear(self, x):
        return x @ self.W

    def transpose(self, g):
        return g @ self.W.T

    def matrix(self):
        return self.W

    def absolute(self):
        return Matrix(np.abs(self.W), np.abs(self.bias), self.in_shape)


class Composed(AffineMap):
    """Affine maps applied one after the other, first map first: one affine map.

    Examples
    --------
    >>> pool = AveragePooling((2, 2, 1), (2, 2), (2, 2), "valid")
    >>> both = Composed([ZeroPadding((1, 1, 1), ((0, 1), (0, 1))), pool])
    >>> print(both.apply([4.0]))
    [1.]
    """

    def __init__(self, maps):
        self.maps = tuple(maps)
        self.in_shape, self.out_shape = self.maps[0].in_shape, self.maps[-1].out_shape
        bias = np.zeros(self.maps[0].n_in)
        for part in self.maps:
            bias = part.linear(bias[np.newaxis])[0] + part.bias
        self.bias = bias

    def linear(self, x):
        for part in self.maps:
            x = part.linear(x)
        return x

    def transpose(self, g):
        for part in reversed(self.maps):
            g = part.transpose(g)
        return g

    def absolute(self):
        return Composed(part.absolute() for part in self.maps)  # |A_1 A_2| <= |A_1| |A_2| entrywise

    def __repr__(self) -> str:
        return "Composed([" + ", ".join(repr(part) for part in self.maps) + "])"


def compose(first: AffineMap, second: AffineMap) -> AffineMap:
    """``second`` after ``first`` as one affine map, folded where that is exact and small.

    A :class:`ChannelAffine` after a :class:`Convolution` or a :class:`Matrix`
    scales its kernel's output channels (``K c, b c + d``); a :class:`Matrix`
    after anything becomes one matrix ``A W`` (its columns carried back by
    ``first``'s transpose, ``(W^T A^T)^T``), whose size is that of ``first``'s
    input times ``W``'s columns; anything else is :class:`Composed`.

    Examples
    --------
    >>> pool = AveragePooling((2, 2, 1), (2, 2), (2, 2), "valid")
    >>> dense = compose(pool, Matrix(np.array([[2.0]]), np.array([1.0])))
    >>> print(dense.W.T, dense.bias)
    [[0.5 0.5 0.5 0.5]] [1.]
    """
    if isinstance(second, ChannelAffine) and isinstance(first, Convolution):
        folded = Convolution(first.in_shape, first.kernel * second.scale, None, first.strides, first.padding)
        folded.bias = first.bias * second._scale + second.bias
        return folded
    if isinstance(second, ChannelAffine) and isinstance(first, Matrix):
        return Matrix(first.W * second._scale, first.bias * second._scale + second.bias, first.in_shape)
    if isinstance(second, Matrix):
        return Matrix(first.transpose(second.W.T).T, first.bias @ second.W + second.bias, first.in_shape)
    parts = (first.maps if isinstance(first, Composed) else (first,)) + (second,)
    return Composed(parts)


class AffineLayer:
    """One step ``h -> a(h A + b)`` of a network whose affine map is an :class:`AffineMap`, not a matrix.

    It computes the network like :class:`nninv.DenseInverse` (``forward``,
    ``n_in``, ``n_out``, ``name``, ``activation``) but has no factorisation:
    the methods that factorise each layer refuse it, and
    :func:`nninv.most_probable_preimage` inverts the whole network through it.

    Examples
    --------
    >>> conv = Convolution((3, 3, 1), np.ones((2, 2, 1, 2)), None, (1, 1), "same")
    >>> layer = AffineLayer(conv, "leaky_relu", name="conv")
    >>> layer
    AffineLayer('conv': Convolution((3, 3, 1) -> (3, 3, 2)), leaky_relu)
    >>> layer.n_in, layer.n_out
    (9, 18)
    """

    def __init__(self, affine: AffineMap, activation: str | Activation = "linear", *, name: str = "layer"):
        if not isinstance(affine, AffineMap):
            raise TypeError(f"affine must be an AffineMap, got {type(affine).__name__}")
        self.map = affine
        self.activation = get_activation(activation)
        self.name = name
        self.n_in, self.n_out = affine.n_in, affine.n_out

    def __repr__(self) -> str:
        return f"AffineLayer({self.name!r}: {self.map!r}, {self.activation.name})"

    def forward(self, x) -> np.ndarray:
        """``a(x A + b)`` in float64, for one flat input or a batch.

        Examples
        --------
        >>> layer = AffineLayer(ZeroPadding((1, 1, 1), ((0, 1), (0, 0))), "linear", name="pad")
        >>> print(layer.forward([-2.0]))
        [-2.  0.]
        """
        return self.activation.forward(self.map.apply(x))
