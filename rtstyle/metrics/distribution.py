"""Distances between feature distributions: FID, KID and the Inception Score.

Pure numpy on feature arrays, so the statistics are testable without any network; the features
themselves come from Inception-v3 (:mod:`rtstyle.metrics.inception`) when its weights exist.
"""

from __future__ import annotations

import numpy as np


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID (Heusel et al. 2017) between feature sets ``[N,D]`` and ``[M,D]``.

    FID = ‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^½).  Tr((Σa Σb)^½) is computed as the sum of square
    roots of the eigenvalues of Σa^½ Σb Σa^½ (symmetric, so ``eigh`` is stable), avoiding scipy.
    """
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(cov_a)
    sqrt_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a)
    trace_sqrt = np.sqrt(np.clip(middle, 0, None)).sum()
    return float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)


def kernel_inception_distance(a: np.ndarray, b: np.ndarray, *, subsets: int = 10, subset_size: int = 100,
                              seed: int = 0) -> tuple[float, float]:
    """KID (Bińkowski et al. 2018): unbiased MMD² with k(x, y) = (xᵀy / d + 1)³; (mean, std) over subsets.

    Unlike FID it is unbiased for small sample counts, which is what an evaluation set of a few
    dozen images gives.
    """
    rng = np.random.default_rng(seed)
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError("KID needs at least two samples in each set")
    dim = a.shape[1]
    estimates = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), size, replace=False)]
        y = b[rng.choice(len(b), size, replace=False)]
        k_xx = (x @ x.T / dim + 1) ** 3
        k_yy = (y @ y.T / dim + 1) ** 3
        k_xy = (x @ y.T / dim + 1) ** 3
        off_diagonal = size * (size - 1)
        mmd = (k_xx.sum() - np.trace(k_xx)) / off_diagonal + (k_yy.sum() - np.trace(k_yy)) / off_diagonal
        estimates.append(mmd - 2 * k_xy.mean())
    return float(np.mean(estimates)), float(np.std(estimates))


def inception_score(probabilities: np.ndarray) -> float:
    """IS (Salimans et al. 2016) = exp(E_x KL(p(y|x) ‖ p(y))) from class probabilities ``[N,C]``."""
    marginal = probabilities.mean(axis=0, keepdims=True)
    eps = 1e-12
    kl = (probabilities * (np.log(probabilities + eps) - np.log(marginal + eps))).sum(axis=1)
    return float(np.exp(kl.mean()))
