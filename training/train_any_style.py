"""Train the any-style bank: ``python training/train_any_style.py --style-dir paintings/ --content photos/ --out FILE``.

The student generator (warm-started from ``--init``'s weights) learns to paint any style vector
the predictor produces (see :mod:`training.any_style`).  The bank written carries the styles of
``--styles-from`` (the bundled bank by default) as stored vectors, recomputed from their
paintings when found in ``--style-dir``, and that bank's fusion network F; it is marked
``any_style`` so the runtime accepts pictures as styles with it.  ``--hold-out`` keeps paintings out of the style pool, so that
``bench/versus_peer.py --style-image`` can show how it does on paintings it never saw.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout: make `rtstyle` and `training` importable
    _REPO_ROOT = Path(__file__).resolve().parent.parent
    if sys.path and Path(sys.path[0]).resolve() == _REPO_ROOT / "training":
        sys.path[0] = str(_REPO_ROOT)
    else:
        sys.path.insert(0, str(_REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from rtstyle.catalog import resolve_bank  # noqa: E402
from rtstyle.errors import InputError, RtStyleError  # noqa: E402
from rtstyle.interrupts import install_interrupt_handlers, interrupt_exit_code  # noqa: E402
from rtstyle.models.style_predictor import load_style_predictor, predictor_input  # noqa: E402
from rtstyle.stylefile import StyleBank, load_style_bank, make_thumbnail, save_style_bank  # noqa: E402
from rtstyle.video.images import is_image_path, read_image  # noqa: E402
from training.any_style import (  # noqa: E402
    AnyStylePairs, AnyStyleTrainer, BuiltinStyles, DistillWeights, PoolSizes, StylePool, build_style_pool,
    student_generator,
)
from training.data import load_content  # noqa: E402
from training.features import PatchProjector  # noqa: E402
from rtstyle.benchmark import machine_description  # noqa: E402
from training.loop import make_run_dir  # noqa: E402
from training.teacher import TEACHER_LICENCE, MagentaTeacher  # noqa: E402

logger = logging.getLogger("training.train_any_style")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python training/train_any_style.py",
        description="Distil Magenta's arbitrary stylization into a fast any-style bank (no downloads).",
    )
    parser.add_argument("--style-dir", required=True, metavar="DIR", help="paintings for the style pool")
    parser.add_argument("--hold-out", nargs="*", default=[], metavar="NAME",
                        help="paintings (file-name prefixes) kept out of the pool, to measure generalisation")
    parser.add_argument("--content", nargs="+", required=True, metavar="DIR", help="content photos (also used as styles)")
    parser.add_argument("--out", required=True, metavar="FILE", help="bank to write (.safetensors)")
    parser.add_argument("--init", metavar="BANK", help="bank whose generator weights the student starts from "
                        "(default: --styles-from); for honest --hold-out numbers, one that never saw those paintings")
    parser.add_argument("--styles-from", metavar="BANK",
                        help="bank whose styles (stored vectors, thumbnails) and F the result carries (default: bundled)")
    parser.add_argument("--runs", default="runs", metavar="DIR", help="parent folder of run directories")
    parser.add_argument("--run-dir", metavar="DIR",
                        help="continue in this run directory: its style pool and teacher pairs are reused "
                             "(e.g. a second stage with --init set to the first stage's bank)")
    parser.add_argument("--steps", type=int, default=6000, help="student steps (see --minutes)")
    parser.add_argument("--minutes", type=float, default=0.0, help="wall-time bound of the student stage (0: none)")
    parser.add_argument("--size", type=int, default=192, help="crop side")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate (warm start: lower than from scratch)")
    parser.add_argument("--per-crop", type=int, default=5, help="teacher paintings per content crop")
    parser.add_argument("--mix-fraction", type=float, default=0.25, help="share of pairs painted with a mix of two styles")
    parser.add_argument("--w-picture", type=float, default=DistillWeights.picture,
                        help="weight of the texture term against the style picture itself (0: off)")
    pool = PoolSizes()
    parser.add_argument("--variants", type=int, default=pool.variants_per_painting, help="style-pool variants per painting")
    parser.add_argument("--pool-photos", type=int, default=pool.photos, help="content photos used as styles")
    parser.add_argument("--builtin-renders", type=int, default=pool.builtin_renders,
                        help="photos painted by the 26-style network, as styles")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def _paintings(style_dir: Path, hold_out: list[str]) -> tuple[dict[str, np.ndarray], list[str]]:
    if not style_dir.is_dir():
        raise InputError(f"{style_dir}: not a folder")
    files = sorted(p for p in style_dir.iterdir() if is_image_path(p))
    held = [p.name for p in files if any(p.name.startswith(prefix) for prefix in hold_out)]
    unknown = [h for h in hold_out if not any(name.startswith(h) for name in held)]
    if unknown:
        raise InputError(f"--hold-out {' '.join(unknown)}: no painting in {style_dir} starts so")
    return {p.stem: read_image(p) for p in files if p.name not in held}, held


def _stored_vectors(carried: StyleBank, style_dir: Path) -> torch.Tensor:
    """The carried bank's styles as vectors of their paintings (the torch predictor, as at run time)."""
    predictor = load_style_predictor()
    vectors = carried.state_dict["style_vectors"].clone()
    with torch.no_grad():
        for index, style in enumerate(carried.styles):
            painting = style_dir / style.source
            if style.source and painting.is_file():
                vectors[index] = predictor(predictor_input(read_image(painting)))[0]
    return vectors


def _pool_and_pairs(
    args: argparse.Namespace, run_dir: Path, paintings: dict[str, np.ndarray], content: list[np.ndarray], sizes: PoolSizes
) -> tuple[StylePool, AnyStylePairs]:
    """The style pool and the teacher's pairs: made (and kept in ``run_dir``) or reused from it."""
    record, tables = run_dir / "style_pool.json", run_dir / "style_pool_tables.npy"
    teacher = None
    if record.is_file():
        pool = StylePool(np.load(run_dir / "style_pool.npy"), json.loads(record.read_text()),
                         np.load(tables) if tables.is_file() else None)
        if pool.tables is None:
            logger.warning("%s has no picture tables (an older run): the picture texture term is off", run_dir)
    else:
        teacher = MagentaTeacher(args.threads)
        pool = build_style_pool(teacher, paintings, content, sizes, np.random.default_rng(args.seed),
                                BuiltinStyles(args.threads), PatchProjector(seed=args.seed))
        np.save(run_dir / "style_pool.npy", pool.vectors)
        np.save(tables, pool.tables)
        record.write_text(json.dumps(pool.labels))
    pairs = AnyStylePairs.build(teacher or MagentaTeacher(args.threads), content, pool, per_crop=args.per_crop,
                                mix_fraction=args.mix_fraction, seed=args.seed, cache_dir=run_dir)
    return pool, pairs


def main(argv: list[str] | None = None) -> int:
    install_interrupt_handlers()
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.threads:
            torch.set_num_threads(args.threads)
        started = time.monotonic()
        carried = load_style_bank(resolve_bank(args.styles_from))
        init = load_style_bank(resolve_bank(args.init)) if args.init else carried
        if not init.config.style_dim:
            raise InputError(f"--init {init.name}: not a style-vector bank (trained without the feature network)")
        config = replace(init.config, num_styles=carried.config.num_styles)
        style_dir = Path(args.style_dir)
        paintings, held = _paintings(style_dir, args.hold_out)
        content, _report = load_content(args.content, frames_per_video=0, max_short_side=512, min_side=args.size)
        run_dir = Path(args.run_dir) if args.run_dir else make_run_dir(Path(args.runs), "any-style")
        if not run_dir.is_dir():
            raise InputError(f"--run-dir {run_dir}: not a folder")
        (run_dir / f"args-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(vars(args), indent=1))
        sizes = PoolSizes(args.variants, args.pool_photos, args.builtin_renders)
        pool, pairs = _pool_and_pairs(args, run_dir, paintings, content, sizes)
        generator = student_generator(config, init.state_dict)
        trainer = AnyStyleTrainer(generator, pairs, size=args.size, batch_size=args.batch_size, lr=args.lr,
                                  steps=args.steps, seed=args.seed, weights=DistillWeights(picture=args.w_picture),
                                  pool_tables=pool.tables if args.w_picture else None)
        student_started = time.monotonic()
        history: list[dict[str, float]] = []
        while trainer.step < trainer.steps:
            scalars = trainer.train_step()
            if trainer.step % 50 == 0:
                trainer.fit_steps_to(args.minutes, student_started)
                history.append({"step": trainer.step, **scalars})
                logger.info("step %d/%d %s", trainer.step, trainer.steps,
                            " ".join(f"{k}={v:.4f}" for k, v in scalars.items()))
        generator.eval()
        with torch.no_grad():
            generator.style_vectors.copy_(_stored_vectors(carried, style_dir))
        training = {
            "command": shlex.join([sys.executable, *sys.argv]),
            "kind": "any-style distillation",
            "teacher": TEACHER_LICENCE,
            "init": init.name,
            "styles_from": carried.name,
            "style_pool": {"paintings": sorted(paintings), "held_out": held, "vectors": len(pool.labels),
                           "sizes": asdict(sizes)},
            "pairs": len(pairs.targets),
            "steps": trainer.step,
            "wall_time_s": round(time.monotonic() - started, 1),
            "machine": machine_description(torch.device("cpu")),
            "history": history[-20:],
        }
        thumbnails = {s.name: carried.thumbnails[s.name] for s in carried.styles if s.name in carried.thumbnails}
        for style in carried.styles:
            if style.name not in thumbnails and (style_dir / style.source).is_file():
                thumbnails[style.name] = make_thumbnail(read_image(style_dir / style.source))
        bank = StyleBank.from_generator(generator, carried.styles, thumbnails=thumbnails, preset=carried.preset,
                                        training=training)
        bank = replace(bank, fusion_config=carried.fusion_config, fusion_state=carried.fusion_state, any_style=True)
        path = save_style_bank(bank, args.out)
        print(f"wrote {path}  (run directory: {run_dir})")
        return 0
    except RtStyleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print("interrupted", file=sys.stderr)
        return interrupt_exit_code(exc)


if __name__ == "__main__":
    sys.exit(main())
