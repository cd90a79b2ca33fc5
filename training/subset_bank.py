"""Keep some styles of a style bank: ``python training/subset_bank.py IN OUT --styles a b``.

In a conditional-instance-norm generator every weight is shared except each norm layer's
per-style rows of gamma and beta (``[S,C]``).  Keeping rows ``i, j, ...`` therefore yields a smaller
bank whose kept styles produce bit-identical outputs — a style that came out badly can be dropped
from a multi-style run without retraining the others.  The new file records where it came from.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout: make `rtstyle` importable
    _REPO_ROOT = Path(__file__).resolve().parent.parent
    if sys.path and Path(sys.path[0]).resolve() == _REPO_ROOT / "training":
        sys.path[0] = str(_REPO_ROOT)
    else:
        sys.path.insert(0, str(_REPO_ROOT))

import torch  # noqa: E402

from rtstyle.errors import InputError, RtStyleError  # noqa: E402
from rtstyle.stylefile import StyleBank, load_style_bank, save_style_bank  # noqa: E402

logger = logging.getLogger("training.subset_bank")


def subset_bank(bank: StyleBank, names: list[str]) -> StyleBank:
    """A new bank with only the styles ``names``, in that order."""
    unknown = [n for n in names if n not in bank.style_names]
    if unknown or not names:
        raise InputError(f"unknown style(s) {unknown}; the bank has {bank.style_names}")
    if len(set(names)) != len(names):
        raise InputError(f"styles listed twice: {names}")
    rows = torch.tensor([bank.style_names.index(n) for n in names])
    num_styles = bank.config.num_styles
    state = {}
    for key, tensor in bank.state_dict.items():
        # One-hot banks keep a row of gamma and beta per style; vector-conditioned banks keep
        # the styles only as rows of ``style_vectors`` (their norm tables are shared).
        one_hot_row = not bank.config.style_dim and key.endswith((".gamma", ".beta")) and tensor.shape[0] == num_styles
        per_style = key == "style_vectors" or (one_hot_row and tensor.ndim == 2)
        state[key] = tensor.index_select(0, rows).clone() if per_style else tensor.clone()
    training = dict(bank.training)
    training["subset"] = {"from": bank.path.name if bank.path else "", "kept": names, "all": bank.style_names}
    return StyleBank(
        config=replace(bank.config, num_styles=len(names)),
        styles=[bank.styles[int(i)] for i in rows],
        state_dict=state,
        thumbnails={n: bank.thumbnails[n] for n in names if n in bank.thumbnails},
        preset=bank.preset,
        training=training,
        # F never sees style indices (only the generator's outputs), so it serves any subset as is.
        fusion_config=bank.fusion_config,
        fusion_state=dict(bank.fusion_state),
        architecture=bank.architecture,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python training/subset_bank.py",
        description="Write a style bank holding only some styles of another (outputs unchanged).",
    )
    parser.add_argument("source", metavar="IN", help="style bank (.safetensors)")
    parser.add_argument("destination", metavar="OUT", help="new style bank (.safetensors)")
    parser.add_argument("--styles", nargs="+", required=True, metavar="NAME", help="styles to keep, in order")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        path = save_style_bank(subset_bank(load_style_bank(args.source), args.styles), args.destination)
    except RtStyleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"wrote {path} ({', '.join(args.styles)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
