"""Weighted multinomial logistic regression, the fit behind the linear heads.

Both heads that sit beside the network are this regression: the beats-table
head (:mod:`ecgtool.ml.table_head`, AAMI classes from a beats table's
measures) and the symbol head (:mod:`ecgtool.ml.symbols`, MIT-BIH symbols
from the frozen encoder's features). The loss is convex, so L-BFGS
(``optax.lbfgs``) reaches its minimum from zeros in well under the default
200 iterations, with no seed or learning rate to pick.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtool.errors import EcgToolError


@dataclass
class LinearFit:
    """Scores ``((x - mean) / scale) @ kernel + bias``.

    Attributes
    ----------
    kernel, bias : numpy.ndarray
        ``(n_features, n_classes)`` and ``(n_classes,)``, on standardised inputs.
    mean, scale : numpy.ndarray
        The standardisation learnt on the training rows.
    counts : numpy.ndarray
        Training rows per class; a class without any scores ``-1e9`` in the fit.
    """

    kernel: np.ndarray
    bias: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    counts: np.ndarray

    def folded(self) -> tuple[np.ndarray, np.ndarray]:
        """``(kernel, bias)`` that give the same scores on the raw features,
        ``x @ kernel + bias`` (:func:`linear_scores`): the standardisation
        folded in, and a class without training rows at ``-1e9``.

        Examples
        --------
        >>> fit = LinearFit(np.eye(2), np.zeros(2), np.array([1.0, 2.0]), np.array([2.0, 4.0]),
        ...                 np.array([3, 0]))
        >>> k, b = fit.folded()
        >>> s = linear_scores(np.array([[3.0, 6.0]]), k, b)
        >>> float(s[0, 0]), bool(s[0, 1] < -1e8)
        (1.0, True)
        """
        kernel = self.kernel / self.scale[:, None]
        return kernel, np.where(np.asarray(self.counts) > 0, self.bias - self.mean @ kernel, -1e9)


def linear_scores(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``x @ kernel + bias`` in float64, computed by numpy's own loops.

    Not BLAS: a BLAS product this size starts a thread per core, which spin
    and take the core of the next worker process.
    """
    return np.einsum("ij,jk->ik", np.asarray(x, np.float64), np.asarray(kernel, np.float64)) + bias


def fit_softmax_regression(x: np.ndarray, y: np.ndarray, n_classes: int,
                           class_weight: np.ndarray, l2: float = 1e-5,
                           iterations: int = 200, what: str = "linear head") -> LinearFit:
    """Fit a weighted, L2-penalised multinomial logistic regression.

    Parameters
    ----------
    x : numpy.ndarray
        ``(n, d)`` features; standardised here, so any scale will do.
    y : numpy.ndarray
        ``(n,)`` class indices in ``[0, n_classes)``.
    class_weight : numpy.ndarray
        ``(n_classes,)`` loss weight of each class
        (:func:`ecgtool.ml.train.class_weights`).
    l2 : float
        Penalty ``0.5 * l2 * |kernel|^2`` on the weights (not the bias).
    what : str
        The head's name, for the error raised when the fit diverges.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 3)); y = (x[:, 1] > 0).astype(int)
    >>> fit = fit_softmax_regression(x, y, 2, np.ones(2))
    >>> z = (x - fit.mean) / fit.scale @ fit.kernel + fit.bias
    >>> float((z.argmax(1) == y).mean()) > 0.97
    True
    """
    from ecgtool.ml._xla import jax
    import jax.numpy as jnp
    import optax

    x = np.asarray(x, np.float64)
    y = np.asarray(y, int)
    d = x.shape[1]
    counts = np.bincount(y, minlength=n_classes)
    fit = LinearFit(np.zeros((d, n_classes)), np.zeros(n_classes),
                    x.mean(axis=0) if len(x) else np.zeros(d),
                    x.std(axis=0) + 1e-6 if len(x) else np.ones(d), counts)
    if not len(x):
        return fit
    wy = np.asarray(class_weight, np.float32)[y]
    # A class without training rows is never predicted.
    mask = jnp.where(jnp.asarray(counts > 0), 0.0, -1e9)

    # The data are arguments, not closed over: XLA would fold them in as constants.
    @jax.jit
    def solve(z, y, wy):
        def loss(p):
            ce = optax.softmax_cross_entropy_with_integer_labels(
                z @ p["kernel"] + p["bias"] + mask, y)
            return jnp.sum(ce * wy) / jnp.sum(wy) + 0.5 * l2 * jnp.sum(p["kernel"] ** 2)

        solver = optax.lbfgs()
        value_and_grad = optax.value_and_grad_from_state(loss)

        def step(carry, _):
            p, state = carry
            value, grad = value_and_grad(p, state=state)
            u, state = solver.update(grad, state, p, value=value, grad=grad, value_fn=loss)
            return (optax.apply_updates(p, u), state), None

        p = {"kernel": jnp.zeros((d, n_classes)), "bias": jnp.zeros(n_classes)}
        (p, _), _ = jax.lax.scan(step, (p, solver.init(p)), None, length=iterations)
        return p

    p = solve(jnp.asarray((x - fit.mean) / fit.scale, jnp.float32), jnp.asarray(y),
              jnp.asarray(wy))
    fit.kernel = np.asarray(p["kernel"], np.float64)
    fit.bias = np.asarray(p["bias"], np.float64)
    if not (np.isfinite(fit.kernel).all() and np.isfinite(fit.bias).all()):
        raise EcgToolError(f"the {what}'s fit diverged (non-finite weights)")
    return fit
