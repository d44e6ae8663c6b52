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


def test_train_help_gives_every_number_its_range_from_the_library() -> None:
    from ptgfill_cli.training.settings import AT_LEAST

    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    lines = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("│ --")}
    assert f"({AT_LEAST['num_workers']} or more)" in lines["--workers"]
    assert "(1 or more)" in lines["--steps"] and "(above 0)" in lines["--lr-g"]
    assert "(from 0 to under 1)" in lines["--ema-decay"] and "(0 or more)" in lines["--w-hole"]


def test_train_lists_the_choices_of_every_choice_option() -> None:
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "250"})
    lines = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("│ --")}
    assert "<base|lite|paper>" in lines["--preset"] and "<tokens|per-token>" in lines["--attention"]
    assert "<generator|discriminator|joint|finetune>" in lines["--mode"]
    assert "<constant|cosine>" in lines["--lr-schedule"] and "<vgg|mobilenet|none>" in lines["--perceptual"]


@pytest.mark.parametrize("args", [["inpaint", "--bogus"], ["inpaint"], ["train", "x", "--preset", "bogus"],
                                  ["weights", "nothing"], ["make-masks", "--kind", "squares"],
                                  ["evaluate", "-d", "x", "-o", "y", "--fit", "squash"]], ids=" ".join)
def test_usage_errors_are_one_line_naming_the_command_help(run_cli, args: list[str]) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("ptgfill: error: ") and len(result.stderr.strip().splitlines()) == 1
    assert f"(see ptgfill {args[0]}" in result.stderr and "╭" not in result.stderr


def test_a_bare_command_group_prints_its_help(run_cli) -> None:
    result = run_cli("weights")
    assert "Usage: ptgfill weights" in result.stdout and "cache" in result.stdout and not result.stderr
