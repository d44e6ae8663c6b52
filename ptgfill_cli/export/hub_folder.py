"""``ptgfill weights export-hub``: a model as a folder ready for ``huggingface-cli upload``.

The folder holds ``model.safetensors`` (weights, config and card in its metadata, as every
ptgfill file), a flat ``config.json`` (the config that builds the network) and a
``README.md`` model card with the Hub's YAML header, so that after
``huggingface-cli upload owner/name DIR`` the model loads as ``--model hf://owner/name``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomically
from ..config import PTGFillConfig
from ..errors import PTGFillError
from ..weights.format import CONFIG_FILENAME, FORMAT_NAME, FORMAT_VERSION, MODEL_FILENAME

CARD_FILENAME = "README.md"
# Licences the Hub names by identifier; any other text becomes `license: other` and is quoted.
HUB_LICENSES = {"mit", "apache-2.0", "bsd-3-clause", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0",
                "openrail", "cc0-1.0", "gpl-3.0"}


def export_hub_folder(model: str | None, folder: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``model`` (NAME|PATH|hf://, None: the default) into ``folder`` (created)."""
    from ..weights.resolve import load_model
    from ..weights.store import save_state_dict

    folder = Path(folder)
    existing = [name for name in (MODEL_FILENAME, CONFIG_FILENAME, CARD_FILENAME) if (folder / name).exists()]
    if existing and not overwrite:
        raise PTGFillError(f"{folder}: already holds {', '.join(existing)}; pass --overwrite to replace them")
    if folder.exists() and not folder.is_dir():
        raise PTGFillError(f"{folder}: exists and is not a folder")
    loaded = load_model(model, device="cpu")
    card = dict(loaded.card)
    card.setdefault("name", loaded.name)
    body = _bundled_card_text(loaded.source, card)
    card["model_card"] = CARD_FILENAME  # in the folder, the README is the card
    folder.mkdir(parents=True, exist_ok=True)
    save_state_dict(loaded.generator.state_dict(), loaded.config, folder, card)
    write_text_atomically(folder / CONFIG_FILENAME, json.dumps(flat_config(loaded.config), indent=2) + "\n")
    write_text_atomically(folder / CARD_FILENAME, hub_model_card(loaded.name, loaded.config, card, body))
    return folder


def flat_config(config: PTGFillConfig) -> dict[str, Any]:
    """``config.json`` as Hub tools expect it: the network's fields at the top level."""
    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "model_type": "ptgfill", **config.to_dict()}


def hub_model_card(name: str, config: PTGFillConfig, card: dict[str, Any], body: str | None = None) -> str:
    """A README.md with the Hub's YAML header (licence, library, tags, metrics) and a body:
    the model's own card text where one ships, else its description."""
    from huggingface_hub import EvalResult, ModelCardData

    license_text = str(card.get("license", "")).strip()
    known_license = license_text.lower() in HUB_LICENSES
    datasets = card.get("datasets")
    validation = card.get("validation") if isinstance(card.get("validation"), dict) else {}
    results = [
        EvalResult(task_type="image-inpainting", task_name="Image inpainting", dataset_type="held-out-validation",
                   dataset_name="the training run's held-out validation split, generated masks",
                   metric_type=key.removeprefix("val_"), metric_value=round(float(value), 4))
        for key, value in validation.items() if isinstance(value, (int, float))
    ]
    data = ModelCardData(
        library_name="ptgfill", pipeline_tag="image-to-image",
        tags=["image-inpainting", "ptgfill", "ptg-fill", "pytorch", "safetensors"],
        license=license_text.lower() if known_license else "other",
        license_name=None if known_license else "see-model-card",
        datasets=[str(dataset) for dataset in datasets] if isinstance(datasets, list) and datasets else None,
        metrics=[result.metric_type for result in results] or None,
        model_name=name if results else None, eval_results=results or None,
    )
    lines = ["---", data.to_yaml(), "---", "", f"# {name}", ""]
    if card.get("description"):
        lines += [str(card["description"]), ""]
    lines += [
        f"A PTG-Fill inpainting generator (`{config.attention}` attention, base width {config.base_channels}) in "
        "the ptgfill format: `model.safetensors` carries the weights, the config and this card's fields in its "
        "metadata; `config.json` is the same config, flat.", "",
        "```bash", "pip install 'ptgfill[torch]'",
        "ptgfill inpaint photo.jpg --mask mask.png -o out/ --model hf://OWNER/NAME", "```", "",
        "Masks: white = hole. Known pixels are returned unchanged.", "",
    ]
    if license_text and not known_license:
        lines += [f"**Licence:** {license_text}", ""]
    if card.get("trained_on"):
        lines += [f"**Trained on:** {card['trained_on']}", ""]
    if body:
        lines += ["## Model card", "", body.strip(), ""]
    return "\n".join(lines)


def _bundled_card_text(source: Path, card: dict[str, Any]) -> str | None:
    """The markdown card a bundled model ships beside its weights (``card['model_card']``)."""
    name = card.get("model_card")
    if not isinstance(name, str) or "/" in name or "\\" in name:
        return None
    path = source.parent / name
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    if text.startswith("# "):  # its own title: the README has one
        text = text.split("\n", 1)[1] if "\n" in text else ""
    return text
