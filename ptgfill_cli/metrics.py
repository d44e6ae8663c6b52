"""Image-quality metrics on float tensors in [0, 1], shape (B, C, H, W)."""

from __future__ import annotations

import math

import numpy as np
import torch


def psnr(output: torch.Tensor, target: torch.Tensor, region: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image PSNR in dB (data range 1). ``region`` (B, 1, H, W) restricts it to where region == 1."""
    squared = (output - target).double() ** 2
    if region is None:
        mse = squared.flatten(1).mean(1)
    else:
        weight = region.double().expand_as(squared)
        mse = (squared * weight).flatten(1).sum(1) / weight.flatten(1).sum(1).clamp_min(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-20))


def l1_percent(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image mean absolute error, in percent of the data range."""
    return (output - target).double().abs().flatten(1).mean(1) * 100


def ssim(output: torch.Tensor, target: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Per-image SSIM (Wang et al. 2004: Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03,
    data range 1), averaged over channels and the valid (unpadded) window positions.

    Computed on the CPU with separable float64 Gaussian filtering (OpenCV), far faster than
    a 2-D convolution for evaluating many images. Returns a float64 CPU tensor."""
    import cv2

    x = output.detach().double().cpu().permute(0, 2, 3, 1).numpy()
    y = target.detach().double().cpu().permute(0, 2, 3, 1).numpy()
    coords = np.arange(window, dtype=np.float64) - (window - 1) / 2
    kernel = np.exp(-(coords**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    edge = window // 2

    def blur(image: np.ndarray) -> np.ndarray:
        filtered = cv2.sepFilter2D(np.ascontiguousarray(image), cv2.CV_64F, kernel, kernel,
                                   borderType=cv2.BORDER_REFLECT)
        return filtered[edge:filtered.shape[0] - edge, edge:filtered.shape[1] - edge]

    c1, c2 = 0.01**2, 0.03**2
    values = []
    for a, b in zip(x, y):
        mu_a, mu_b = blur(a), blur(b)
        var_a = blur(a * a) - mu_a**2
        var_b = blur(b * b) - mu_b**2
        cov = blur(a * b) - mu_a * mu_b
        ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
        values.append(ssim_map.mean())
    return torch.tensor(values, dtype=torch.float64)


# ---------------------------------------------------------------------------
# Evaluation: images as saved, hole-only PSNR, Fréchet distance


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Floats in [0, 1] rounded to the 256 levels of a saved 8-bit image, as floats in [0, 1].

    Rounds half up, as ``ptgfill_cli.data.grids.to_uint8`` does when images are written.
    """
    return torch.floor(images.double().clamp(0, 1) * 255 + 0.5) / 255


def hole_psnr(output: torch.Tensor, target: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB over the hole pixels only (``known`` (B, 1, H, W), 1 = known)."""
    return psnr(output, target, region=1 - known)


def frechet_distance(
    mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray
) -> float:
    """The Fréchet distance between two Gaussians (Dowson & Landau 1982), the "FID" when
    the moments are of Inception pool3 features:
    ``|mean_a - mean_b|^2 + tr(cov_a) + tr(cov_b) - 2 tr((cov_a cov_b)^(1/2))``.

    ``tr((A B)^(1/2))`` is computed as the sum of the square roots of the eigenvalues of the
    symmetric ``A^(1/2) B A^(1/2)``, which has the same eigenvalues as ``A B`` and, for
    covariance matrices, no negative ones beyond round-off (clipped to zero). Unlike a
    general matrix square root this needs no regularising offset for singular covariances.
    """
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    cov_a, cov_b = np.atleast_2d(cov_a).astype(np.float64), np.atleast_2d(cov_b).astype(np.float64)
    if mean_a.shape != mean_b.shape or cov_a.shape != cov_b.shape or cov_a.shape != (mean_a.size,) * 2:
        raise ValueError(
            f"mismatched moments: means {mean_a.shape} and {mean_b.shape}, "
            f"covariances {cov_a.shape} and {cov_b.shape}"
        )
    root_a = _symmetric_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = float(np.sqrt(np.clip(eigenvalues, 0, None)).sum())
    difference = mean_a - mean_b
    distance = float(difference @ difference + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)
    return max(distance, 0.0)


def _symmetric_sqrt(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def frechet_distance_of_samples(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """The Fréchet distance between the Gaussians fitted to two sets of feature vectors
    (rows), with unbiased covariances: the same value as ``frechet_distance`` of their
    moments.

    With fewer vectors than dimensions (an FID over a few hundred images, 2048 features)
    it avoids the D x D matrices: for centred rows ``X`` (n) and ``Y`` (m),
    ``tr((cov_a cov_b)^(1/2))`` is the sum of the singular values of ``X Y^T`` divided by
    ``sqrt((n - 1)(m - 1))``, and ``tr(cov_a) = |X|^2 / (n - 1)``.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must be (N, D) with the same D, not {a.shape} and {b.shape}")
    n, m, dim = a.shape[0], b.shape[0], a.shape[1]
    if min(n, m) < 2:
        raise ValueError(f"a Fréchet distance needs at least 2 vectors per set, not {n} and {m}")
    if n * m >= dim * dim:
        return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    centred_a, centred_b = a - a.mean(0), b - b.mean(0)
    difference = a.mean(0) - b.mean(0)
    trace_a = float(np.sum(centred_a**2)) / (n - 1)
    trace_b = float(np.sum(centred_b**2)) / (m - 1)
    nuclear = float(np.linalg.svd(centred_a @ centred_b.T, compute_uv=False).sum())
    distance = float(difference @ difference) + trace_a + trace_b - 2 * nuclear / math.sqrt((n - 1) * (m - 1))
    return max(distance, 0.0)
