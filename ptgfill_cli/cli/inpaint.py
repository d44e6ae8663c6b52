"""The `ptgfill inpaint` command (being written)."""

import typer


def command() -> None:
    """(being written)"""
    raise typer.Exit(2)
