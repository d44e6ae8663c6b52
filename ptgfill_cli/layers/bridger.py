"""The transformer bridger: decoder features -> tokens -> per-patch channels."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .inference_form import InferenceForm
from .layout import memory_format_of


class BridgerEncoderLayer(InferenceForm, nn.Module):
    """A post-norm transformer encoder layer (GELU) with ``nn.TransformerEncoderLayer``'s
    parameter names, so the authors' checkpoints load as they are.

    ``per_token=True`` reproduces the authors' code, in which each token attends
    only to itself: softmax over one key is 1, so the attention output is the
    value projection passed through the output projection, and the query and
    key projections cannot change anything.
    """

    def __init__(self, dim: int, heads: int, ff_dim: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(dim, ff_dim)
        self.linear2 = nn.Linear(ff_dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        # literal=True computes per-token attention as the authors' code does, with the
        # query/key projections and softmax (for benchmarks and checks).
        self.literal = False
        self._folded: tuple[torch.Tensor, torch.Tensor] | None = None

    def fold_value_output(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Fold the value and output projections into one matrix for per-token inference.

        Per-token attention is ``out_proj(value_proj(x))``: two linear maps that compose
        into one, halving that work. Call again after changing the weights. Returns the
        folded (weight, bias).
        """
        dim = self.linear1.in_features
        with torch.no_grad():
            w_v = self.self_attn.in_proj_weight[2 * dim :]
            b_v = self.self_attn.in_proj_bias[2 * dim :]
            w_o, b_o = self.self_attn.out_proj.weight, self.self_attn.out_proj.bias
            self._folded = (w_o @ w_v, w_o @ b_v + b_o)
        return self._folded

    def drop_inference_form(self) -> None:
        self._folded = None

    def _self_attention(self, tokens: torch.Tensor, per_token: bool) -> torch.Tensor:
        if not per_token:
            return self._attention_across_tokens(tokens)
        if self.literal:
            # The authors' computation: a (batch, tokens, dim) tensor read as
            # (sequence, batch, dim), so attention runs across the batch.
            across_batch = tokens.transpose(0, 1)
            return self.self_attn(across_batch, across_batch, across_batch, need_weights=False)[0].transpose(0, 1)
        if not self.training and self._folded is not None:
            weight, bias = self._folded
            return F.linear(tokens, weight, bias)
        dim = tokens.shape[-1]
        value = F.linear(
            tokens, self.self_attn.in_proj_weight[2 * dim :], self.self_attn.in_proj_bias[2 * dim :]
        )
        return self.self_attn.out_proj(value)

    def _attention_across_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """``self_attn(tokens, tokens, tokens)`` through ``scaled_dot_product_attention``,
        which never materialises the (tokens x tokens) matrix: a 1024x1024 image has
        16,384 tokens, whose full attention matrix alone would take gigabytes."""
        attn = self.self_attn
        batch, count, dim = tokens.shape
        heads = attn.num_heads
        qkv = F.linear(tokens, attn.in_proj_weight, attn.in_proj_bias)
        query, key, value = qkv.view(batch, count, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
        dropout = attn.dropout if self.training else 0.0
        attended = F.scaled_dot_product_attention(query, key, value, dropout_p=dropout)
        return attn.out_proj(attended.transpose(1, 2).reshape(batch, count, dim))

    def forward(self, tokens: torch.Tensor, per_token: bool, attention_applied: bool = False) -> torch.Tensor:
        """``attention_applied``: ``tokens`` already hold ``x + attention(x)`` (folded, per token)."""
        if not attention_applied:
            tokens = tokens + self.dropout1(self._self_attention(tokens, per_token))
        tokens = self.norm1(tokens)
        feed = self.linear2(self.dropout(F.gelu(self.linear1(tokens))))
        return self.norm2(tokens + self.dropout2(feed))


class _LayerStack(nn.Module):
    """Holds the layers under ``transformer.layers.N`` like ``nn.TransformerEncoder``."""

    def __init__(self, layers: list[nn.Module]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)


class TransformerBridger(InferenceForm, nn.Module):
    """Projects four decoder levels to patch tokens, mixes them, and folds them back.

    Level ``i`` (1-4) has ``channels[i-1]`` channels at H / 2**i and is projected
    by a kernel = stride = patch / 2**i convolution to one token per patch. The
    tokens of the four levels are concatenated level-major, run through the
    encoder, and each token is reshaped to a (patch, patch, patch_channels)
    block, giving ``4 * patch_channels`` channels at full size.
    """

    def __init__(
        self, channels: tuple[int, int, int, int], patch_size: int, patch_channels: int,
        layers: int, heads: int, ff_dim: int, dropout: float, per_token: bool,
    ) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.patch_channels = patch_channels
        self.per_token = per_token
        dim = patch_size * patch_size * patch_channels
        for level, width in enumerate(channels, start=1):
            kernel = patch_size // 2**level
            self.add_module(f"proj{level}", nn.Conv2d(width, dim, kernel, kernel))
        self.transformer = _LayerStack(
            [BridgerEncoderLayer(dim, heads, ff_dim, dropout) for _ in range(layers)]
        )
        # Set by fold_for_inference(); not part of the state dict.
        self._folded_projections: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    def fold_for_inference(self) -> None:
        """Per-token mode: fold each layer's value and output projections into one matrix,
        and the first layer's ``x + attention(x)``, an affine map of the tokens, into
        the four projections. Call again after changing the weights."""
        if not self.per_token:
            return
        folds = [layer.fold_value_output() for layer in self.transformer.layers]
        weight, bias = folds[0]
        with torch.no_grad():
            residual = weight + torch.eye(weight.shape[0], dtype=weight.dtype, device=weight.device)
            folded = []
            for level in range(1, 5):
                proj = getattr(self, f"proj{level}")
                w = (residual @ proj.weight.flatten(1)).view_as(proj.weight)
                folded.append((w.contiguous(memory_format=memory_format_of(proj.weight)),
                               residual @ proj.bias + bias))
        self._folded_projections = folded

    def drop_inference_form(self) -> None:
        self._folded_projections = None

    @property
    def out_channels(self) -> int:
        return 4 * self.patch_channels

    def forward(self, levels: list[torch.Tensor]) -> torch.Tensor:
        folded = self._folded_projections if not self.training else None
        if folded is not None:
            grids = [
                F.conv2d(f, weight, bias, getattr(self, f"proj{i}").stride)
                for i, (f, (weight, bias)) in enumerate(zip(levels, folded), start=1)
            ]
        else:
            grids = [getattr(self, f"proj{i}")(f) for i, f in enumerate(levels, start=1)]
        batch, dim, rows, cols = grids[0].shape
        tokens = torch.cat([g.flatten(2).transpose(1, 2) for g in grids], 1)
        for number, layer in enumerate(self.transformer.layers):
            tokens = layer(tokens, self.per_token, attention_applied=number == 0 and folded is not None)
        p, c = self.patch_size, self.patch_channels
        patches = tokens.reshape(batch, 4, rows, cols, p, p, c)
        if memory_format_of(levels[0]) == torch.channels_last:
            # b, row, py, col, px, level, c: the result's channels-last memory order
            pixels = patches.permute(0, 2, 4, 3, 5, 1, 6).reshape(batch, rows * p, cols * p, 4 * c)
            return pixels.permute(0, 3, 1, 2)
        patches = patches.permute(0, 1, 6, 2, 4, 3, 5)  # b, level, c, row, py, col, px
        return patches.reshape(batch, 4 * c, rows * p, cols * p)
