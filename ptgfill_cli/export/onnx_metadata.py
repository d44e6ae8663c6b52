"""What a ptgfill ONNX file says about itself: the metadata keys its export writes and its
runtime reads. No torch and no onnx here (onnxruntime hands over the metadata map)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..config import PTGFillConfig
from ..errors import WeightsError

FORMAT_KEY = "ptgfill.format"
FORMAT_VERSION = "1"
INPUT_NAMES = ("image", "known")
OUTPUT_NAMES = ("refined", "coarse")
WEIGHT_TYPES = ("fp32", "fp16", "int8")
INPUT_DOCS = {
    "image": "float32 (batch, 3, height, width), RGB in [0, 1]; hole pixels are ignored",
    "known": "float32 (batch, 1, height, width), 1 = known pixel, 0 = hole (the inverse of a mask file, white = hole)",
}
OUTPUT_DOCS = {
    "refined": "float32 (batch, 3, height, width) in [0, 1]: the fill; deliver known * image + (1 - known) * refined",
    "coarse": "float32 (batch, 3, height, width) in [0, 1]: the coarse network's fill",
}


@dataclass(frozen=True)
class OnnxModelInfo:
    """The ptgfill metadata of an exported ONNX file."""

    name: str
    config: PTGFillConfig
    weights: str  # WEIGHT_TYPES
    fixed_size: tuple[int, int] | None  # (height, width), or None: any multiple of the size multiple
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def size_multiple(self) -> int:
        return self.config.size_multiple

    def to_metadata(self) -> dict[str, str]:
        """The ONNX ``metadata_props`` of this model, every value a string."""
        multiple = self.size_multiple
        sizes = (f"exactly {self.fixed_size[0]}x{self.fixed_size[1]} (HxW)" if self.fixed_size
                 else f"any height and width that are multiples of {multiple}")
        return {
            FORMAT_KEY: FORMAT_VERSION,
            "ptgfill.name": self.name,
            "ptgfill.config": json.dumps(self.config.to_dict(), sort_keys=True),
            "ptgfill.card": json.dumps(self.card, sort_keys=True),
            "ptgfill.weights": self.weights,
            "ptgfill.fixed_size": "" if self.fixed_size is None else f"{self.fixed_size[0]}x{self.fixed_size[1]}",
            "ptgfill.size_multiple": str(multiple),
            "ptgfill.inputs": "; ".join(f"{name}: {doc}" for name, doc in INPUT_DOCS.items()),
            "ptgfill.outputs": "; ".join(f"{name}: {doc}" for name, doc in OUTPUT_DOCS.items()),
            "ptgfill.sizes": f"{sizes}; batch of any size",
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str], source: str) -> "OnnxModelInfo":
        """Read the metadata of ``source``; WeightsError when it is not a ptgfill export."""
        if metadata.get(FORMAT_KEY) != FORMAT_VERSION:
            raise WeightsError(
                f"{source}: not an ONNX file made by ptgfill export (no {FORMAT_KEY} = {FORMAT_VERSION} "
                "in its metadata), so its inputs and size rules are unknown"
            )
        try:
            config = PTGFillConfig.from_dict(json.loads(metadata["ptgfill.config"]))
            card = json.loads(metadata.get("ptgfill.card") or "{}")
            fixed = metadata.get("ptgfill.fixed_size") or ""
            fixed_size = tuple(int(side) for side in fixed.split("x")) if fixed else None
            weights = metadata.get("ptgfill.weights", "fp32")
        except (KeyError, ValueError, TypeError) as error:
            raise WeightsError(f"{source}: unreadable ptgfill metadata ({error})") from None
        if fixed_size is not None and (len(fixed_size) != 2 or any(side % config.size_multiple for side in fixed_size)):
            raise WeightsError(f"{source}: fixed size {fixed!r} is not HxW in multiples of {config.size_multiple}")
        return cls(metadata.get("ptgfill.name", "onnx"), config, weights, fixed_size, card if isinstance(card, dict) else {})
