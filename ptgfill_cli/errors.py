"""Errors the CLI turns into one-line messages and exit codes."""

from __future__ import annotations


class PTGFillError(Exception):
    """A problem with the user's input or environment, worth one clear line."""


class InputError(PTGFillError):
    """An image, mask or other input file is unreadable or unusable."""


class ModelNotFoundError(PTGFillError):
    """No model could be found for the given name, path or Hub id."""


class WeightsError(PTGFillError):
    """A weights file is corrupt, has the wrong hash, or does not fit the config."""


class EvaluationError(PTGFillError):
    """Settings that cannot be evaluated, or an output folder that holds something else."""


class SettingError(PTGFillError, ValueError):
    """A setting given a value it cannot take. ``setting`` is its name in the Python API
    (``size``, ``lr_g``, ``losses.hole``); the command line shows the matching flag instead."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting, self.problem = setting, problem
        super().__init__(f"{setting} {problem}")


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (libraries such as torch append pages of
    advice), or its type's name when it has none: what goes into a one-line error."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
