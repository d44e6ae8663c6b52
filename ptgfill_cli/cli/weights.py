"""The ``ptgfill weights`` commands: list, download and convert model weights.

Errors are ``PTGFillError``s, which ``ptgfill``'s ``main()`` prints as one line (exit 2).
Torch and the Hub client are imported inside the commands, so ``--help`` is fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import InputError
from .options import warn_deprecated

app = typer.Typer(help="List, download and convert model weights.", no_args_is_help=True)

HUB_METAVAR = "NAME|hf://owner/repo[/file][@revision]"


@app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print the listing as JSON."),
) -> None:
    """Show the manifest's models (bundled, cached or missing) and cached Hub models."""
    from ..weights.inventory import weights_inventory
    from ..weights.manifest import load_manifest

    inventory = weights_inventory(load_manifest())
    if as_json:
        typer.echo(json.dumps(inventory.to_dict(), indent=2))
        return
    offline = "on" if inventory.offline else "off"
    typer.echo(f"manifest:  {inventory.manifest.path}")
    typer.echo(
        f"Hub cache: {inventory.cache_dir} (endpoint {inventory.endpoint}, offline {offline})"
    )
    typer.echo("")
    if inventory.models:
        rows = [
            (
                status.entry.name + (" *" if status.is_default else ""),
                status.availability,
                _human_size(status.size),
                status.entry.trained_on,
                status.source,
            )
            for status in inventory.models
        ]
        _echo_table(("NAME", "STATUS", "SIZE", "TRAINED ON", "SOURCE"), rows)
        if inventory.manifest.default is not None:
            typer.echo("(* default model)")
    else:
        typer.echo("No models in the manifest: no trained model is bundled yet.")
    if inventory.manifest.default is None:
        typer.echo("No default model: pass --model NAME|PATH|hf://owner/repo[/file][@revision].")
    if inventory.cached_files:
        typer.echo("")
        typer.echo("Cached Hub files in the ptgfill format:")
        rows = [
            (cached.ref.uri, _human_size(cached.size), ", ".join(cached.branches))
            for cached in inventory.cached_files
        ]
        _echo_table(("HUB ID", "SIZE", "BRANCHES"), rows)


@app.command("download")
def download_command(
    model: str = typer.Argument(..., metavar=HUB_METAVAR, help="A manifest model or a Hub id."),
    revision: Optional[str] = typer.Option(
        None, "--revision", help="Branch, tag or commit of an hf:// id (default: main)."
    ),
) -> None:
    """Fetch a model into the Hub cache and verify it, for use offline later."""
    from ..weights.resolve import resolve_model_file
    from ..hub.spec import is_hub_uri

    spec = _with_revision(model, revision) if revision is not None else model
    if not is_hub_uri(spec) and Path(spec).expanduser().exists():
        raise InputError(
            f"{spec} is a local path, nothing to download; download takes {HUB_METAVAR}"
        )
    resolved = resolve_model_file(spec)
    size = _human_size(resolved.path.stat().st_size)
    if resolved.origin == "bundled":
        typer.echo(
            f"{resolved.name} is bundled, nothing to download: {resolved.path} "
            f"({size}, sha256 verified)"
        )
        return
    verified_by = resolved.download.verified_by if resolved.download is not None else "nothing"
    typer.echo(f"{resolved.name}: {resolved.location}")
    typer.echo(f"  cached at {resolved.path} ({size}, checked against {verified_by})")
    if resolved.config_path is not None:
        typer.echo(f"  config at {resolved.config_path}")


@app.command("convert")
def convert_command(
    checkpoint: Path = typer.Argument(..., metavar="AUTHORS.pth", help="An authors' checkpoint."),
    out: Path = typer.Argument(
        ..., metavar="OUT.safetensors", help="The file to write (a folder gets model.safetensors)."
    ),
    card_json: Optional[str] = typer.Option(
        None,
        "--card-json",
        metavar="JSON|@FILE",
        help='Model card fields to record: a JSON object such as \'{"trained_on": "CelebA-HQ"}\', '
        "or @FILE holding one.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
    force: bool = typer.Option(False, "--force", hidden=True),  # the old spelling of --overwrite
) -> None:
    """Convert an authors' .pth checkpoint to safetensors plus a config (per-token attention)."""
    from ..weights.authors import convert_authors_checkpoint
    from ..weights.store import model_file_paths

    card = _read_card(card_json) if card_json is not None else None
    weights_path, sidecar_path = model_file_paths(out)
    if force:
        warn_deprecated("--force", "--overwrite, as every command")
    if weights_path.exists() and not (overwrite or force):
        raise InputError(f"{weights_path} exists; pass --overwrite to replace it")
    written = convert_authors_checkpoint(checkpoint, out, card)
    typer.echo(f"wrote {written} and {sidecar_path} (paper preset, per-token attention)")


@app.command("from-checkpoint")
def from_checkpoint_command(
    checkpoint: Path = typer.Argument(..., metavar="CHECKPOINT.pt", help="A `ptgfill train` checkpoint (checkpoints/step_*.pt)."),
    out: Path = typer.Argument(..., metavar="OUT.safetensors", help="The model file to write."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
    force: bool = typer.Option(False, "--force", hidden=True),  # the old spelling of --overwrite
) -> None:
    """Write a training checkpoint's EMA generator as a model file, e.g. from a run that was stopped."""
    from ..training.trainer import export_checkpoint
    from ..weights.store import model_file_paths

    weights_path, _ = model_file_paths(out)
    if force:
        warn_deprecated("--force", "--overwrite, as every command")
    if weights_path.exists() and not (overwrite or force):
        raise InputError(f"{weights_path} exists; pass --overwrite to replace it")
    if not checkpoint.is_file():
        raise InputError(f"{checkpoint}: no such checkpoint file")
    typer.echo(f"wrote {export_checkpoint(checkpoint, out)}")


@app.command("cache")
def cache_command(
    remove: Optional[str] = typer.Option(
        None, "--remove", metavar="hf://owner/repo[@revision]",
        help="Delete this model's cached revisions (all of them, or the one named).",
    ),
    remove_all: bool = typer.Option(False, "--remove-all", help="Delete every cached ptgfill model."),
    as_json: bool = typer.Option(False, "--json", help="Print the listing as JSON."),
) -> None:
    """List the ptgfill models in the Hub cache with their sizes, or remove some or all."""
    from ..hub.cache import hub_cache_dir
    from ..weights.inventory import cached_ptgfill_files, remove_cached_models
    from ..hub.spec import parse_hub_uri

    if remove is not None and remove_all:
        raise InputError("give --remove or --remove-all, not both")
    if remove is not None or remove_all:
        ref = parse_hub_uri(remove) if remove is not None else None
        removal = remove_cached_models(ref.repo_id if ref else None, ref.revision if ref else None)
        if ref is not None and removal.revisions == 0:
            raise InputError(f"{remove}: no cached ptgfill model (see `ptgfill weights cache`)")
        typer.echo(f"removed {removal.revisions} cached revision(s), {_human_size(removal.freed_bytes)} freed")
        return
    files = cached_ptgfill_files()
    if as_json:
        typer.echo(json.dumps({"cache_dir": str(hub_cache_dir()), "total_bytes": sum(f.size for f in files), "files": [
            {"uri": f.ref.uri, "path": str(f.path), "bytes": f.size, "branches": list(f.branches)} for f in files
        ]}, indent=2))
        return
    typer.echo(f"Hub cache: {hub_cache_dir()}")
    if not files:
        typer.echo("no ptgfill models cached")
        return
    _echo_table(("HUB ID", "SIZE", "BRANCHES"),
                [(f.ref.uri, _human_size(f.size), ", ".join(f.branches)) for f in files])
    typer.echo(f"{len(files)} file(s), {_human_size(sum(f.size for f in files))}; "
               "remove with --remove hf://owner/repo or --remove-all")


@app.command("export-hub")
def export_hub_command(
    model: str = typer.Argument(..., metavar="MODEL", help="NAME|PATH|hf://owner/repo\\[/file]\\[@revision]."),
    folder: Path = typer.Argument(..., metavar="DIR", help="The folder to write (created)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the files of an earlier export."),
) -> None:
    """Write MODEL as a Hub repository folder: model.safetensors, a flat config.json and a
    README.md model card; publish it with `huggingface-cli upload OWNER/NAME DIR`."""
    from ..export.hub_folder import export_hub_folder

    written = export_hub_folder(model, folder, overwrite=overwrite)
    typer.echo(f"wrote {written}/: model.safetensors, config.json, README.md; publish with "
               f"`huggingface-cli upload OWNER/NAME {written}`, then use --model hf://OWNER/NAME")


def _with_revision(spec: str, revision: str) -> str:
    from ..hub.spec import HubFileRef, is_hub_uri, parse_hub_uri

    if not is_hub_uri(spec):
        raise InputError(
            f"--revision applies to hf:// ids; manifest models are pinned by the manifest ({spec})"
        )
    ref = parse_hub_uri(spec)
    if ref.revision is not None and ref.revision != revision:
        raise InputError(f"two revisions given: {spec} and --revision {revision}")
    return HubFileRef(ref.repo_id, ref.filename, revision).uri


def _read_card(value: str) -> dict[str, Any]:
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            value = path.read_text(encoding="utf-8")
        except OSError as error:
            raise InputError(f"cannot read --card-json file {path}: {error}") from error
    try:
        card = json.loads(value)
    except json.JSONDecodeError as error:
        raise InputError(f"--card-json is not valid JSON: {error}") from error
    if not isinstance(card, dict):
        raise InputError("--card-json must be a JSON object")
    return card


def _human_size(size: int | None) -> str:
    if size is None:
        return "-"
    for unit in ("B", "KB", "MB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _echo_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        typer.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
