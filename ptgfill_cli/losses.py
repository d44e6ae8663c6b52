"""PTG-Fill's losses. Masks are 1 = known, 0 = hole; images in [0, 1]."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def valid_hole_l1(output: torch.Tensor, target: torch.Tensor, known: torch.Tensor):
    """Mean L1 over the known and the hole region (means over all pixels, as the authors do)."""
    valid = F.l1_loss(known * output, known * target)
    hole = F.l1_loss((1 - known) * output, (1 - known) * target)
    return valid, hole


def hole_squared_error(output: torch.Tensor, target: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the hole (a mean over all pixels, as ``valid_hole_l1``)."""
    return F.mse_loss((1 - known) * output, (1 - known) * target)


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference to the horizontal, vertical and both diagonal neighbours."""
    horizontal = (image[..., :, 1:] - image[..., :, :-1]).abs().mean()
    vertical = (image[..., 1:, :] - image[..., :-1, :]).abs().mean()
    diagonal = (image[..., 1:, 1:] - image[..., :-1, :-1]).abs().mean()
    anti_diagonal = (image[..., 1:, :-1] - image[..., :-1, 1:]).abs().mean()
    return horizontal + vertical + diagonal + anti_diagonal


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def perceptual_and_style(
    output_features: list[torch.Tensor],
    composite_features: list[torch.Tensor],
    target_features: list[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """L1 of features and of Gram matrices, for both the raw output and the composite."""
    perceptual = output_features[0].new_zeros(())
    style = output_features[0].new_zeros(())
    for out, comp, target in zip(output_features, composite_features, target_features):
        target = target.detach()
        perceptual = perceptual + F.l1_loss(out, target) + F.l1_loss(comp, target)
        target_gram = gram_matrix(target.float())
        style = style + F.l1_loss(gram_matrix(out.float()), target_gram)
        style = style + F.l1_loss(gram_matrix(comp.float()), target_gram)
    return perceptual, style


def discriminator_hinge(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def generator_adversarial(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()
