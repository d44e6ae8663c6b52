"""Weights rearranged for inference, kept beside the parameters they are derived from."""

from __future__ import annotations

from typing import Any


class InferenceForm:
    """Mixin (before ``nn.Module`` in the bases) for a module that precomputes an
    inference-only form of its weights: fused, folded or phase-split kernels. That form
    is stale once new weights are loaded and wrong while they train, so it is dropped
    then (:meth:`drop_inference_form`); preparing for inference computes it again."""

    def drop_inference_form(self) -> None:
        raise NotImplementedError

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        self.drop_inference_form()
        super()._load_from_state_dict(*args, **kwargs)  # type: ignore[misc]

    def train(self, mode: bool = True):  # type: ignore[no-untyped-def]
        if mode:
            self.drop_inference_form()
        return super().train(mode)  # type: ignore[misc]
