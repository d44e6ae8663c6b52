"""The `ptgfill make-masks` command (being written)."""

import typer


def command() -> None:
    """(being written)"""
    raise typer.Exit(2)
