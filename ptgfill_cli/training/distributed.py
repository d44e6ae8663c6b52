"""The one seam between training and ``torch.distributed``: who this process is, starting and
ending the process group, barriers, the main process's decisions, and wrapping models.

A process learns its place from ``torchrun``'s ``RANK`` / ``LOCAL_RANK`` / ``WORLD_SIZE``, or,
launched by SLURM's ``srun`` without torchrun, from ``SLURM_PROCID`` / ``SLURM_LOCALID`` /
``SLURM_NTASKS`` (then ``MASTER_ADDR`` and ``MASTER_PORT`` must name the first node). One
process (world size 1) never touches ``torch.distributed``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..errors import PTGFillError

_TORCHRUN = ("RANK", "LOCAL_RANK", "WORLD_SIZE")
_SLURM = ("SLURM_PROCID", "SLURM_LOCALID", "SLURM_NTASKS")


@dataclass
class Distributed:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    launcher: str = "none"  # torchrun, slurm or none
    _started: bool = field(default=False, repr=False)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "Distributed":
        environ = os.environ if environ is None else environ
        for launcher, names in (("torchrun", _TORCHRUN), ("slurm", _SLURM)):
            if names[2] in environ:
                try:
                    rank, local_rank, world_size = (int(environ.get(name, 0)) for name in names)
                except ValueError:
                    raise PTGFillError(f"{launcher}'s {', '.join(names)} must be whole numbers") from None
                if world_size > 1 or launcher == "torchrun":
                    return cls(rank, local_rank, max(world_size, 1), launcher)
        return cls()

    def start(self, device: torch.device) -> None:
        """Join the process group (NCCL on CUDA, else Gloo) unless it is joined already."""
        if not self.is_distributed or dist.is_initialized():
            return
        if self.launcher == "slurm":
            missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if name not in os.environ]
            if missing:
                raise PTGFillError(f"a SLURM launch without torchrun needs {' and '.join(missing)} "
                                   "(the first node's address and a free port) in the environment")
            os.environ.setdefault("RANK", str(self.rank))
            os.environ.setdefault("WORLD_SIZE", str(self.world_size))
            os.environ.setdefault("LOCAL_RANK", str(self.local_rank))
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        self._started = True

    def stop(self) -> None:
        """Leave the process group this object joined (one started elsewhere is left alone)."""
        if self._started and dist.is_initialized():
            dist.destroy_process_group()
        self._started = False

    def device_for(self, device: torch.device, requested: str) -> torch.device:
        """One GPU per process: ``cuda`` / ``auto`` on a CUDA machine means this process's local GPU."""
        if device.type == "cuda" and requested in ("auto", "cuda"):
            return torch.device("cuda", self.local_rank)
        return device

    def wrap(self, module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """The module as the training step calls it: itself, or DistributedDataParallel."""
        if not self.is_distributed:
            return module
        return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)

    def barrier(self) -> None:
        """Wait until every process is here (after the main process wrote files the others read)."""
        if self.is_distributed and dist.is_initialized():
            dist.barrier()

    def main_decides(self, decision: bool, device: torch.device) -> bool:
        """The main process's ``decision``, the same in every process."""
        if not self.is_distributed:
            return decision
        flag = torch.tensor([float(decision)], device=device if device.type == "cuda" else "cpu")
        dist.broadcast(flag, src=0)
        return bool(flag.item())
