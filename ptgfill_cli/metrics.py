"""Image-quality metrics on float tensors in [0, 1], shape (B, C, H, W)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


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


def _gaussian_window(size: int, sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    kernel = torch.exp(-(coords**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    return kernel[:, None] * kernel[None, :]


def ssim(output: torch.Tensor, target: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Per-image SSIM (Wang et al. 2004: Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03,
    data range 1), averaged over channels and the valid (unpadded) window positions."""
    x, y = output.double(), target.double()
    channels = x.shape[1]
    kernel = _gaussian_window(window, sigma, x.dtype, x.device).expand(channels, 1, window, window)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, kernel, groups=channels)

    c1, c2 = 0.01**2, 0.03**2
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.flatten(1).mean(1)
