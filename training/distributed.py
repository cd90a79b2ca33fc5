"""Data-parallel training under ``torchrun`` (one process per device), and device choice.

Gradients are averaged with one ``all_reduce`` per network after each backward pass instead of
wrapping the networks in ``DistributedDataParallel``: a GAN step runs G several times per
backward (the stylization, PatchNCE's encoding of it, the motion-warped copy) and D on reals and
fakes, which DDP's reducer (one forward per backward unless ``static_graph``/unused-parameter
search) handles poorly.  Averaging the gradients is exactly what DDP computes, minus its overlap
of communication with the backward pass, which matters little for networks of this size.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from rtstyle.errors import BackendUnavailableError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job; a plain run is rank 0 of 1."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1); otherwise no-op."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    info = DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    logger.info("distributed: rank %d of %d (%s)", info.rank, info.world_size, backend)
    return info


def resolve_device(spec: str, local_rank: int = 0) -> torch.device:
    """``auto`` → this process's GPU when CUDA works, else the CPU; explicit CUDA must exist."""
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise BackendUnavailableError(f"device {spec!r} requested but CUDA is not available")
        if device.index is None:
            device = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise BackendUnavailableError(f"unsupported device {spec!r}; use auto, cpu or cuda[:N]")
    return device


def broadcast_parameters(modules: Iterable[nn.Module], info: DistInfo) -> None:
    """Start every rank from rank 0's weights (and buffers such as spectral norm's vectors)."""
    if info.world_size <= 1:
        return
    for module in modules:
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=0)


def average_gradients(parameters: Iterable[nn.Parameter], info: DistInfo) -> None:
    """All-reduce the gradients of ``parameters`` to their mean over ranks (one flat buffer)."""
    if info.world_size <= 1:
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for grad in grads:
        grad.copy_(flat[offset : offset + grad.numel()].view_as(grad))
        offset += grad.numel()


def shutdown(info: DistInfo) -> None:
    if info.world_size > 1 and dist.is_initialized():
        dist.destroy_process_group()
