"""Every command's --help reads as one tool: switches show no value to type."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ptgfill_cli.cli.app import app

COMMANDS = [["inpaint"], ["make-masks"], ["train"], ["evaluate"], ["benchmark"], ["export"],
            ["weights", "list"], ["weights", "download"], ["weights", "convert"], ["weights", "cache"],
            ["weights", "export-hub"], ["weights", "from-checkpoint"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_switches_are_plain_in_every_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output and "--help" in result.output
