"""Latent correlation matrices for the joint draw: the nearest valid one, and calibration.

Owns two numerical steps. `nearest_correlation` finds the closest positive semi-definite
matrix with unit diagonal (Higham 2002, alternating projections with Dykstra's correction),
because declared pairwise correlations need not be jointly consistent. `calibrate` finds the
latent Gaussian correlations whose drawn rows show the declared Pearson correlations: the
transform to a skewed or 0/1 marginal, the conditional statistics and the rule truncation all
shrink or shift a latent correlation, so the declared number cannot be used as it is.

>>> m = nearest_correlation(np.array([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]]))
>>> bool(np.all(np.linalg.eigvalsh(m) > -1e-9)), np.allclose(np.diag(m), 1.0)
(True, True)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Pair = tuple[int, int]


def _psd(matrix: np.ndarray, floor: float = 0.0) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.maximum(values, floor)) @ vectors.T


def nearest_correlation(matrix: np.ndarray, tol: float = 1e-9, max_iter: int = 200) -> np.ndarray:
    """The nearest correlation matrix (Frobenius norm), strictly positive definite so that a
    Cholesky factor exists."""
    y = np.array(matrix, dtype=float)
    correction = np.zeros_like(y)
    for _ in range(max_iter):
        r = y - correction
        x = _psd(r)
        correction = x - r
        previous = y
        y = x.copy()
        np.fill_diagonal(y, 1.0)
        if float(np.linalg.norm(y - previous)) <= tol * max(1.0, float(np.linalg.norm(y))):
            break
    # A tiny eigenvalue floor, then unit diagonal again: Cholesky needs positive definite.
    y = _psd(y, floor=1e-6)
    scale = np.sqrt(np.diag(y))
    y = y / np.outer(scale, scale)
    np.fill_diagonal(y, 1.0)
    return y


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation over the rows where both are present (NaN if undefined)."""
    both = ~(np.isnan(x) | np.isnan(y))
    if both.sum() < 3:
        return float("nan")
    a, b = x[both] - x[both].mean(), y[both] - y[both].mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def calibrate(
    size: int,
    targets: dict[Pair, float],
    measure: Callable[[np.ndarray], dict[Pair, float]],
    *,
    iterations: int = 10,
    tolerance: float = 0.01,
) -> np.ndarray:
    """Latent correlations (size x size) whose draws show `targets` under `measure`.

    `measure(latent)` draws rows with that latent matrix (with fixed random numbers, so it
    is a smooth deterministic function) and returns the observed correlation of each pair.
    Each pair moves by a secant step on its own error, then the matrix is projected back to
    a valid correlation matrix; pairs barely interact, so a few rounds settle.
    """
    latent = np.eye(size)
    for (i, j), r in targets.items():
        latent[i, j] = latent[j, i] = r
    latent = nearest_correlation(latent)
    previous: dict[Pair, tuple[float, float]] = {}
    for _ in range(iterations):
        observed = measure(latent)
        errors = {p: targets[p] - observed[p] for p in targets if np.isfinite(observed.get(p, np.nan))}
        if not errors or max(abs(e) for e in errors.values()) <= tolerance:
            break
        proposal = latent.copy()
        for (i, j), error in errors.items():
            rho, seen = latent[i, j], observed[(i, j)]
            slope = 1.0
            if (i, j) in previous:
                rho0, seen0 = previous[(i, j)]
                if abs(rho - rho0) > 1e-6:
                    slope = float(np.clip((seen - seen0) / (rho - rho0), 0.1, 3.0))
            previous[(i, j)] = (rho, seen)
            proposal[i, j] = proposal[j, i] = float(np.clip(rho + error / slope, -0.98, 0.98))
        latent = nearest_correlation(proposal)
    return latent
