"""Where a training process stands: torchrun's variables, SLURM's, or alone."""

from __future__ import annotations

import pytest
import torch

from ptgfill_cli.errors import PTGFillError
from ptgfill_cli.training.distributed import Distributed


def test_alone_without_launcher_variables() -> None:
    alone = Distributed.from_environment({})
    assert (alone.rank, alone.world_size, alone.is_main, alone.is_distributed) == (0, 1, True, False)
    model = torch.nn.Linear(2, 2)
    assert alone.wrap(model, torch.device("cpu")) is model
    assert alone.main_decides(True, torch.device("cpu")) is True
    alone.barrier()  # nothing to wait for
    alone.stop()


def test_torchrun_variables_win_over_slurm() -> None:
    place = Distributed.from_environment({"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4",
                                          "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NTASKS": "8"})
    assert (place.rank, place.local_rank, place.world_size, place.launcher) == (3, 1, 4, "torchrun")
    assert not place.is_main and place.is_distributed
    assert place.device_for(torch.device("cuda", 0), "auto") == torch.device("cuda", 1)
    assert place.device_for(torch.device("cuda", 0), "cuda:0") == torch.device("cuda", 0)


def test_srun_tasks_without_torchrun() -> None:
    place = Distributed.from_environment({"SLURM_PROCID": "5", "SLURM_LOCALID": "1", "SLURM_NTASKS": "8"})
    assert (place.rank, place.local_rank, place.world_size, place.launcher) == (5, 1, 8, "slurm")
    single = Distributed.from_environment({"SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NTASKS": "1"})
    assert not single.is_distributed and single.launcher == "none"  # a one-task job is alone


def test_a_slurm_launch_without_a_rendezvous_address_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    place = Distributed.from_environment({"SLURM_PROCID": "1", "SLURM_LOCALID": "0", "SLURM_NTASKS": "2"})
    with pytest.raises(PTGFillError, match="MASTER_ADDR and MASTER_PORT"):
        place.start(torch.device("cpu"))


def test_bad_variables_are_an_error() -> None:
    with pytest.raises(PTGFillError, match="whole numbers"):
        Distributed.from_environment({"RANK": "x", "WORLD_SIZE": "2"})
