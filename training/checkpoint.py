"""Training checkpoints: everything ``--resume`` needs to continue as if never stopped.

Saved with ``torch.save`` and read back with ``torch.load(weights_only=True)``: a checkpoint holds
only tensors, numbers, strings and containers of them, so loading one never runs pickled code
(docs/ARCHITECTURE.md: nothing is ever unpickled).  Written to a temporary file and renamed, so a run killed while
saving leaves the previous checkpoint intact.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from rtstyle.errors import InputError
from rtstyle.stylefile import load_style_bank
from training.trainer import Trainer

if TYPE_CHECKING:
    from training.fusion_trainer import FusionTrainer

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
_FORMAT = 1


def save_checkpoint(trainer: Trainer, path: Path, extra: dict[str, Any], fusion: FusionTrainer | None = None) -> None:
    """Write networks, optimizers, step, RNG state and ``extra`` (history, wall time) to ``path``."""
    state = {
        "format": _FORMAT,
        "step": trainer.step,
        "generator": trainer.generator.state_dict(),
        "discriminator": trainer.discriminator.state_dict(),
        "mlp": trainer.mlp.state_dict(),
        "opt_g": trainer.opt_g.state_dict(),
        "opt_d": trainer.opt_d.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "extra": extra,
    }
    if fusion is not None:
        state.update(fusion.state_dict())
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)
    logger.info("checkpoint at step %d: %s", trainer.step, path)


def load_checkpoint(trainer: Trainer, path: Path, fusion: FusionTrainer | None = None) -> dict[str, Any]:
    """Restore ``trainer`` (and ``fusion``) from ``path``; returns the ``extra`` dict saved with it.

    A checkpoint from before the F stage has no F: ``fusion`` then starts from its initial weights.
    """
    if not path.is_file():
        raise InputError(f"no checkpoint to resume from: {path}")
    try:
        state = torch.load(path, map_location=trainer.device, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated, foreign or hostile file
        raise InputError(f"{path}: unreadable checkpoint ({str(exc).splitlines()[0]})") from None
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise InputError(f"{path}: not an rtstyle training checkpoint")
    try:
        trainer.generator.load_state_dict(state["generator"])
        trainer.discriminator.load_state_dict(state["discriminator"])
        trainer.mlp.load_state_dict(state["mlp"])
        trainer.opt_g.load_state_dict(state["opt_g"])
        trainer.opt_d.load_state_dict(state["opt_d"])
        if fusion is not None and "fusion" in state:
            fusion.load_state_dict(state)
    except (KeyError, RuntimeError, ValueError) as exc:
        raise InputError(f"{path}: checkpoint does not match this run's config ({str(exc).splitlines()[0]})") from None
    torch.set_rng_state(state["torch_rng"].cpu())
    trainer.step = int(state["step"])
    trainer.reseed_data()
    logger.info("resumed from %s at step %d", path, trainer.step)
    return dict(state.get("extra") or {})


def start_from_bank(
    trainer: Trainer, path: Path, style_digests: list[str], fusion: FusionTrainer | None = None
) -> dict[str, Any]:
    """Fine-tuning: copy a style bank's generator (and F, when both have one) into a fresh run.

    The bank must have been trained on the same paintings in the same order (``style_digests``:
    the run's painting files' sha256), or its stored style vectors would paint the wrong styles.
    The discriminator starts fresh.  Returns what the bank's provenance records (for the new one).
    """
    bank = load_style_bank(path)  # the runtime's loader: safetensors, never pickle
    stored = [style.get("sha256", "") for style in bank.training.get("data", {}).get("styles", [])]
    if stored != style_digests:
        raise InputError(f"--init {path}: its styles were not trained on these paintings, in this order")
    try:
        trainer.generator.load_state_dict(bank.state_dict)
        if fusion is not None and bank.has_fusion:
            fusion.fusion.load_state_dict(bank.fusion_state)
    except RuntimeError as exc:
        raise InputError(f"--init {path}: its networks do not match this run's ({str(exc).splitlines()[0]})") from None
    logger.info("starting from %s (trained %d steps)", path, int(bank.training.get("steps", 0)))
    return {"file": Path(path).name, "steps": int(bank.training.get("steps", 0)),
            "wall_time_s": float(bank.training.get("wall_time_s", 0.0))}
