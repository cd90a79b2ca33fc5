"""Train a style bank: ``python training/train.py --style PAINTING... --content DIR --out FILE``.

A thin command line over :mod:`training.loop`.  Options other than the inputs are generated from
:class:`training.config.TrainConfig`, so ``--help`` lists every setting a run can have with its
default.  With ``--resume RUN_DIR`` the run's saved ``config.json`` is used and only options given
explicitly (e.g. a larger ``--steps``) override it.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from dataclasses import fields
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout: make `rtstyle` and `training` importable
    _REPO_ROOT = Path(__file__).resolve().parent.parent
    if sys.path and Path(sys.path[0]).resolve() == _REPO_ROOT / "training":
        sys.path[0] = str(_REPO_ROOT)  # and keep training/*.py from shadowing top-level modules
    else:
        sys.path.insert(0, str(_REPO_ROOT))

from rtstyle.errors import InputError, RtStyleError  # noqa: E402
from rtstyle.interrupts import install_interrupt_handlers, interrupt_exit_code  # noqa: E402
from training.config import TrainConfig, field_default  # noqa: E402
from training.data import IMAGE_SUFFIXES  # noqa: E402

logger = logging.getLogger("training.train")

_EPILOG = """examples:
  python training/train.py --style starry.jpg --content photos/ --out starry.safetensors
  python training/train.py --style-dir paintings/ --content photos/ clip.mp4 --out bank.safetensors --preset quality
  python training/train.py --resume runs/00003-starry --steps 8000
  torchrun --nproc_per_node 4 training/train.py --style-dir paintings/ --content photos/ --out bank.safetensors
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python training/train.py",
        description="Train painting styles into one rtstyle style bank (GAN + PatchNCE; needs no downloads).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,  # only options given explicitly reach the config
    )
    inputs = parser.add_argument_group("inputs and outputs")
    source = inputs.add_mutually_exclusive_group()
    source.add_argument("--style", nargs="+", metavar="PAINTING", help="painting image file(s); one style each")
    source.add_argument("--style-dir", metavar="DIR", help="folder whose image files are the styles (sorted by name)")
    inputs.add_argument(
        "--style-names", nargs="+", metavar="NAME", help="short style names, in order (default: file names)"
    )
    inputs.add_argument(
        "--style-titles", nargs="+", metavar="TITLE",
        help="human titles shown in galleries, in order, e.g. 'The Starry Night' (default: from the names)",
    )
    inputs.add_argument("--content", nargs="+", metavar="DIR_OR_VIDEO", help="content photo folders, images or videos")
    inputs.add_argument("--out", metavar="FILE", help="style bank to write (.safetensors)")
    inputs.add_argument("--run-dir", metavar="DIR", help="parent of the numbered run directories (default: runs)")
    inputs.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its checkpoint")
    inputs.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    settings = parser.add_argument_group("training settings (defaults in brackets)")
    for f in fields(TrainConfig):
        meta = dict(f.metadata)
        if not meta.pop("cli", True):
            continue
        flag = "--" + f.name.replace("_", "-")
        default = field_default(f)
        shown = (" ".join(map(str, default)) or "none") if isinstance(default, list) else default
        help_text = f"{meta.pop('help')} [{shown}]"
        if f.type in ("bool", bool):
            settings.add_argument(flag, action=argparse.BooleanOptionalAction, help=help_text)
        elif "nargs" in meta:
            element = type(default[0]) if default else str  # e.g. list[float] → float items
            settings.add_argument(flag, type=element, help=help_text, **meta)
        else:
            kind = type(field_default(f))
            meta.setdefault("metavar", None if "choices" in meta else kind.__name__.upper())
            settings.add_argument(flag, type=kind, help=help_text, **meta)
    return parser


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, Path | None]:
    """The run's config and, when resuming, its directory."""
    given = {k: v for k, v in vars(args).items() if k in {f.name for f in fields(TrainConfig)}}
    if "style_dir" in vars(args):
        folder = Path(args.style_dir)
        if not folder.is_dir():
            raise InputError(f"--style-dir {folder}: not a folder")
        given["style"] = [str(p) for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
        if not given["style"]:
            raise InputError(f"--style-dir {folder}: no image files")
    if "resume" in vars(args):
        run_dir = Path(args.resume)
        if not (run_dir / "config.json").is_file():
            raise InputError(f"--resume {run_dir}: not a run directory (no config.json)")
        config = TrainConfig.load(run_dir / "config.json")
        for key, value in given.items():
            setattr(config, key, value)
        return config, run_dir
    return TrainConfig(**given), None


def main(argv: list[str] | None = None) -> int:
    install_interrupt_handlers()  # `timeout`/`kill` stop a run as Ctrl-C does: resumable
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if "verbose" in vars(args) else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from training.loop import Run, make_run_dir

    try:
        config, run_dir = config_from_args(args)
        try:
            config.validate()
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if run_dir is None:
            label = "_".join(config.resolved_style_names()) if len(config.style) <= 2 else f"{len(config.style)}styles"
            root = Path(getattr(args, "run_dir", "runs"))
            # Under torchrun only rank 0 writes (and numbers) a run directory; the others never
            # touch theirs, so they are handed the parent instead of racing for a number.
            run_dir = make_run_dir(root, label) if int(os.environ.get("RANK", "0")) == 0 else root
        command = shlex.join(["python", "training/train.py", *(sys.argv[1:] if argv is None else argv)])
        with logging_redirect_tqdm():
            run = Run(config, run_dir, command, resume="resume" in vars(args))
            if run.dist.is_main:
                logger.info("run directory: %s", run_dir)
            bar = tqdm(
                total=config.total_steps,
                initial=run.trainer.step,
                unit="step",
                dynamic_ncols=True,
                disable=not run.dist.is_main,
            )
            shown = ("g_adv", "g_nce", "g_struct", "g_swd", "g_rec", "d_adv", "d_style_acc", "f_match", "f_temporal")

            def progress(step: int, scalars: dict[str, float]) -> None:
                bar.total = config.total_steps  # --minutes may have shrunk the generator stage
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix(
                        {
                            k.split("_", 1)[1] if k != "d_adv" else k: f"{v:.3f}"
                            for k, v in scalars.items()
                            if k in shown
                        }
                    )

            out = run.train(progress)
            bar.close()
        if run.dist.is_main:
            print(f"wrote {out}  (run directory: {run_dir})")
        return 0
    except RtStyleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print("interrupted (resume with --resume RUN_DIR)", file=sys.stderr)
        return interrupt_exit_code(exc)


if __name__ == "__main__":
    sys.exit(main())
