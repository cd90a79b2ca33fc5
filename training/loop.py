"""A whole training run: run directory, data, the step loop, reports, checkpoints, export.

Only rank 0 writes files; every rank trains.  The style bank written at the end is the runtime's
own format (:mod:`rtstyle.stylefile`), so what training produces is loaded as is by the CLI,
the window and the engine exporters, with its provenance (command, data, steps, wall time,
machine, final losses) inside the file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rtstyle.benchmark import machine_description
from rtstyle.errors import InputError
from rtstyle.models.fusion import FusionNet
from rtstyle.stylefile import StyleBank, StyleInfo, load_style_bank, make_thumbnail, save_style_bank
from rtstyle.video.images import read_image
from training.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint, start_from_bank
from training.config import TrainConfig
from training.content_floor import hold_content_floor
from training.data import DataReport, expand_paths, load_content, load_style
from training.distributed import broadcast_parameters, init_distributed, resolve_device, shutdown
from training.fusion_data import load_video_pairs
from training.fusion_trainer import FusionTrainer
from training.report import Reporter, sample_sheet, write_png
from training.teacher import TEACHER_LICENCE, MagentaTeacher, TeacherPairs
from training.trainer import Trainer

logger = logging.getLogger(__name__)

Progress = Callable[[int, dict[str, float]], None]


def make_run_dir(root: Path, label: str) -> Path:
    """``root/00007-label``: the next free number, so runs sort by age and never overwrite."""
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"^(\d{5})-", p.name))]
    run_dir = root / f"{max(numbers, default=0) + 1:05d}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', label)[:40]}"
    run_dir.mkdir()
    return run_dir


def _file_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _sample_contents(config: TrainConfig, training_images: list[np.ndarray]) -> list[np.ndarray]:
    if config.sample_content:
        return [read_image(p) for p in expand_paths(config.sample_content)]
    picks = np.linspace(0, len(training_images) - 1, min(4, len(training_images))).round().astype(int)
    return [training_images[i] for i in picks]


class Run:
    """One training run (fresh or resumed); :meth:`train` returns the written style file."""

    def __init__(self, config: TrainConfig, run_dir: Path, command: str, resume: bool = False) -> None:
        config.validate()
        if config.threads:
            torch.set_num_threads(config.threads)
        self.config, self.run_dir, self.command = config, run_dir, command
        self.device = resolve_device(config.device, int(os.environ.get("LOCAL_RANK", "0")))
        self.dist = init_distributed(self.device)
        self.names = config.resolved_style_names()
        self.paintings = [load_style(p, config.style_size) for p in config.style]
        content, self.data_report = load_content(
            config.content,
            frames_per_video=config.frames_per_video,
            max_short_side=config.max_content_side,
            min_side=config.size // 2,
        )
        self.samples = _sample_contents(config, content)
        self.content = content
        self.started = time.monotonic()
        self.trainer = Trainer(
            config, self.paintings, content, self.device, self.dist, self._teacher_pairs(config, content)
        )
        self.fusion: FusionTrainer | None = None
        if config.trains_fusion:
            pairs = load_video_pairs(config.content, config.video_pairs, config.max_content_side)
            self.fusion = FusionTrainer(self.trainer, content, pairs)
        self.extra: dict[str, Any] = {"history": [], "wall_time_s": 0.0, "cpu_time_s": 0.0}
        #: F of the --init bank, kept as it is when this run trains no F of its own.
        self.kept_fusion: FusionNet | None = None
        if resume:
            self.extra.update(load_checkpoint(self.trainer, run_dir / CHECKPOINT_NAME, self.fusion))
        elif config.init:
            digests = [_file_digest(p) for p in config.style]
            self.extra["init"] = start_from_bank(self.trainer, Path(config.init), digests, self.fusion)
        if config.init and self.fusion is None:
            init_bank = load_style_bank(config.init)
            self.kept_fusion = init_bank.build_fusion() if init_bank.has_fusion else None
        if self.dist.is_main:  # on resume too: the file then records the extended --steps
            config.save(run_dir / "config.json")
        self.reporter = Reporter(run_dir, self.extra["history"]) if self.dist.is_main else None

    def _teacher_pairs(self, config: TrainConfig, content: list[np.ndarray]) -> TeacherPairs | None:
        """The teacher's paintings of one crop per content image in every style (cached in the run dir);
        none when the run has no generator steps (``--init`` with ``--steps 0``) to use them."""
        if config.feature_net != "magenta" or not config.w_teacher or not config.steps:
            return None
        teacher = MagentaTeacher(config.threads)
        vectors = [teacher.style_vector(read_image(Path(p))) for p in config.style]
        cache_dir = self.run_dir if self.dist.is_main else None
        return TeacherPairs.build(
            teacher, content, vectors, scale=(config.content_scale_min, 1.0), seed=config.seed, cache_dir=cache_dir
        )

    def _fit_to_minutes(self, steps_done: int, seconds: float) -> None:
        """With ``--minutes``: shrink the generator stage's ``steps`` to what fits in the time left,
        so the learning-rate decay still ends at the last step."""
        cfg = self.config
        if not cfg.minutes or steps_done < 20 or self.trainer.step >= cfg.steps:
            return
        left = cfg.minutes * 60.0 - (time.monotonic() - self.started)
        fitting = max(self.trainer.step + 1, self.trainer.step + int(max(0.0, left) * steps_done / seconds))
        if fitting < cfg.steps:
            logger.info("--minutes %g: generator steps %d -> %d", cfg.minutes, cfg.steps, fitting)
            cfg.steps = fitting

    def train(self, progress: Progress | None = None) -> Path:
        cfg, trainer = self.config, self.trainer
        # CPU time beside wall time: on a shared machine the wall clock also counts the time
        # other jobs (or a SIGSTOP) held this one back.
        started, previous = time.monotonic(), float(self.extra["wall_time_s"])
        cpu_started, cpu_previous = time.process_time(), float(self.extra.get("cpu_time_s", 0.0))
        first_step = trainer.step
        try:
            while trainer.step < cfg.total_steps:
                if trainer.step >= cfg.steps:
                    self.hold_content_floor()  # the generator stage is over: before F learns from it
                scalars = self._step()
                step = trainer.step
                if step % 20 == 0:
                    self._fit_to_minutes(step - first_step, time.monotonic() - started)
                self.extra["wall_time_s"] = previous + time.monotonic() - started
                self.extra["cpu_time_s"] = cpu_previous + time.process_time() - cpu_started
                if progress is not None:
                    progress(step, scalars)
                if self.reporter is None:
                    continue
                last = step == cfg.total_steps
                if step % cfg.log_every == 0 or last:
                    self.reporter.log(step, scalars)
                if step % cfg.sample_every == 0 or last:
                    self.write_samples(step)
                if step % cfg.checkpoint_every == 0 or last:
                    self.checkpoint()
            self.hold_content_floor()  # a run without an F stage
            return self.export() if self.reporter is not None else Path(cfg.out)
        except KeyboardInterrupt:
            if self.reporter is not None:  # keep the steps since the last checkpoint for --resume
                self.checkpoint()
            raise
        finally:
            if self.reporter is not None:
                self.reporter.close()
            shutdown(self.dist)

    def _step(self) -> dict[str, float]:
        """One step of the stage the run is in: generator, F, or joint G+F."""
        step, cfg = self.trainer.step, self.config
        if step < cfg.steps:
            return self.trainer.train_step()
        assert self.fusion is not None
        return self.fusion.step(joint=step >= cfg.steps + cfg.fusion_steps)

    def hold_content_floor(self) -> None:
        """Once per run, when the generator stage ends: refine the vectors of styles that lose the
        photo (:mod:`training.content_floor`); recorded in ``extra``, so a resumed run does not redo it."""
        if "content_floor" in self.extra or not self.config.content_floor:
            return
        results = hold_content_floor(self.trainer, self.content, self.names, self.config.content_floor,
                                     self.config.seed)
        broadcast_parameters([self.trainer.generator], self.dist)  # every rank paints with rank 0's vectors
        self.extra["content_floor"] = [r.to_dict() for r in results]

    def checkpoint(self) -> None:
        assert self.reporter is not None
        self.extra["history"] = self.reporter.history
        save_checkpoint(self.trainer, self.run_dir / CHECKPOINT_NAME, self.extra, self.fusion)
        self.reporter.save_loss_curves(self.run_dir / "loss_curves.png")

    def write_samples(self, step: int) -> Path:
        self.trainer.generator.eval()
        try:
            sheet = sample_sheet(
                self.samples, self.paintings, self.names, self.trainer.stylize, self.config.sample_size
            )
        finally:
            self.trainer.generator.train()
        path = self.run_dir / f"samples_{step:06d}.png"
        write_png(path, sheet)
        return path

    def provenance(self) -> dict[str, Any]:
        """The ``training`` dict stored in the style file."""
        report: DataReport = self.data_report
        metrics = self.reporter.recent_mean() if self.reporter else {}
        return {
            "command": self.command,
            "data": {
                "styles": [
                    {"name": n, "file": Path(p).name, "sha256": _file_digest(p)}
                    for n, p in zip(self.names, self.config.style, strict=True)
                ],
                "content": list(self.config.content),
                "content_images": report.images,
                "content_video_frames": report.video_frames,
                "skipped_files": len(report.skipped),
            },
            "steps": self.trainer.step,
            "init": self.extra.get("init", {}),
            "content_floor": self.extra.get("content_floor", []),
            "feature_net": self.config.feature_net,
            "teacher": TEACHER_LICENCE if self.config.feature_net == "magenta" and self.config.w_teacher else "",
            "wall_time_s": round(float(self.extra["wall_time_s"]), 1),
            "cpu_time_s": round(float(self.extra.get("cpu_time_s", 0.0)), 1),
            "machine": machine_description(self.device),
            "metrics": {k: round(v, 5) for k, v in metrics.items()},
            "config": self.config.to_dict(),
        }

    def export(self) -> Path:
        """Write the style bank to ``config.out`` (the runtime's safetensors + JSON format)."""
        if not self.config.out:
            raise InputError("no output file given (--out)")
        styles = [
            StyleInfo(name, title, Path(path).name)
            for name, title, path in zip(self.names, self.config.resolved_style_titles(), self.config.style, strict=True)
        ]
        thumbnails = {
            n: make_thumbnail(read_image(Path(p))) for n, p in zip(self.names, self.config.style, strict=True)
        }
        bank = StyleBank.from_generator(
            self.trainer.generator, styles, thumbnails=thumbnails, preset=self.config.preset, training=self.provenance()
        )
        if self.fusion is not None and self.trainer.step > self.config.steps:
            bank = bank.with_fusion(self.fusion.fusion)
        elif self.kept_fusion is not None:
            bank = bank.with_fusion(self.kept_fusion)
        path = save_style_bank(bank, self.config.out)
        logger.info("wrote %s (%d styles)", path, len(styles))
        return path
