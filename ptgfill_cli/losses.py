"""PTG-Fill's losses. Masks are 1 = known, 0 = hole; images in [0, 1]."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class LossWeights:
    """The published weights (``L_refined = valid + 6 hole + 0.05 perceptual + 120 style + 0.05 tv``,
    coarse ``valid + 6 hole``, adversarial 0.1)."""

    valid: float = 1.0
    hole: float = 6.0
    perceptual: float = 0.05
    style: float = 120.0
    tv: float = 0.05
    coarse: float = 1.0
    adversarial: float = 0.1


# Default (perceptual, style) weights per feature network. VGG16's are the published ones.
# MobileNetV2's features are larger (linear bottleneck outputs, ReLU6 up to 6): unweighted,
# its perceptual and style terms came to 22.3 and 1.03 at step 50 of a fine-tune of the
# bundled face model on the general mix (128 px crops), against 0.5 for all the L1 terms.
# These weights make them about 0.09 and 0.15 there, the share the VGG16 terms are meant to have.
PERCEPTUAL_WEIGHTS: dict[str, tuple[float, float]] = {"vgg": (0.05, 120.0), "mobilenet": (0.004, 0.15)}


def valid_hole_l1(output: torch.Tensor, target: torch.Tensor, known: torch.Tensor):
    """Mean L1 over the known and the hole region (means over all pixels, as the authors do)."""
    valid = F.l1_loss(known * output, known * target)
    hole = F.l1_loss((1 - known) * output, (1 - known) * target)
    return valid, hole


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
