"""Writing files: all or nothing, the final name in every error, unwritable folders found first."""

from __future__ import annotations

import errno
import os
from collections import namedtuple
from pathlib import Path

import pytest

from ptgfill_cli import atomic
from ptgfill_cli.atomic import replace_atomically, unwritable_reason, write_bytes_atomically

_Status = namedtuple("_Status", "f_flag f_bavail")


def test_a_failed_write_names_the_target_and_leaves_nothing(tmp_path):
    def full_disk(temporary: Path) -> None:
        temporary.write_bytes(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    target = tmp_path / ("n" * 250 + ".png")  # near the 255-byte limit: the temporary is short
    with pytest.raises(OSError) as error:
        replace_atomically(target, full_disk)
    assert error.value.errno == errno.ENOSPC and error.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []
    write_bytes_atomically(target, b"whole")
    assert [path.name for path in tmp_path.iterdir()] == [target.name] and target.read_bytes() == b"whole"


def test_unwritable_folders_are_found_before_any_work(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    assert unwritable_reason(tmp_path / "new" / "deeper") is None
    assert unwritable_reason(tmp_path / "file" / "out") == f"{tmp_path / 'file'} is not a folder"
    monkeypatch.setattr(atomic.os, "statvfs", lambda path: _Status(os.ST_RDONLY, 100))
    assert unwritable_reason(tmp_path / "out") == "read-only file system"
    monkeypatch.setattr(atomic.os, "statvfs", lambda path: _Status(0, 0))
    assert unwritable_reason(tmp_path / "out") == "no space left on device"


def test_commands_refuse_an_output_they_cannot_write_in_one_line(tmp_path, run_cli, monkeypatch):
    from tests.conftest import EXAMPLES

    blocker = tmp_path / "file"
    blocker.write_text("x")
    mask = tmp_path / "mask.png"
    from PIL import Image

    Image.new("L", Image.open(EXAMPLES / "kodim03.jpg").size).save(mask)
    for args, expected in [
        (["inpaint", str(EXAMPLES / "kodim03.jpg"), "-m", str(mask), "-o", str(blocker / "out")],
         f"{blocker / 'out'}: cannot write outputs there ({blocker} is not a folder)"),
        (["evaluate", "--dataset", str(EXAMPLES), "--masks", "object", "--limit", "1", "--size", "64",
          "--compare", "opencv-telea", "-o", str(blocker / "eval")],
         f"{blocker / 'eval'}: cannot write the results there ({blocker} is not a folder)"),
        (["train", str(EXAMPLES), "--steps", "1", "--size", "64", "--perceptual", "none", "-o", str(blocker)],
         f"--output {blocker}: exists and is not a folder"),
    ]:
        result = run_cli(*args)
        assert result.exit_code == 2, (args, result.stderr)
        assert result.stderr.strip().splitlines()[-1] == f"ptgfill: error: {expected}", result.stderr


def test_an_io_error_no_command_caught_is_one_line_with_its_file(tmp_path, run_cli, monkeypatch):
    from ptgfill_cli.evaluation import evaluator
    from tests.conftest import EXAMPLES

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "eval" / "run.json"))

    monkeypatch.setattr(evaluator, "write_json", no_space)
    result = run_cli("evaluate", "--dataset", str(EXAMPLES), "--masks", "object", "--limit", "1", "--size", "64",
                     "--compare", "opencv-telea", "-o", str(tmp_path / "eval"), "--quiet")
    assert result.exit_code == 1
    assert result.stderr == f"ptgfill: error: {tmp_path / 'eval' / 'run.json'}: no space left on device\n"
