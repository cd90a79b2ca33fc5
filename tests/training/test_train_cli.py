"""``python training/train.py`` end to end on tiny synthetic data: a loadable style file, a full
run directory, resume, one-line errors, and a --help that documents every setting."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import torch

from rtstyle.stylefile import load_style_bank
from tests.training.conftest import REPO_ROOT
from training.checkpoint import CHECKPOINT_NAME
from training.config import TrainConfig
from training.train import build_parser, main

TINY = [
    "--size",
    "32",
    "--style-size",
    "48",
    "--batch-size",
    "2",
    "--warmup-steps",
    "1",
    "--d-channels",
    "8",
    "--nce-patches",
    "16",
    "--swd-levels",
    "2",
    "--swd-directions",
    "8",
    "--swd-points",
    "256",
    "--sample-size",
    "32",
    "--log-every",
    "1",
    "--sample-every",
    "2",
    "--checkpoint-every",
    "2",
]


def test_train_writes_a_style_bank_the_runtime_loads_and_resume_continues(dataset: dict[str, Path], capsys) -> None:
    out, runs = dataset["root"] / "bank.safetensors", dataset["root"] / "runs"
    args = [
        "--style",
        str(dataset["stripes"]),
        str(dataset["dots"]),
        "--style-names",
        "stripes",
        "dots",
        "--content",
        str(dataset["content"]),
        "--out",
        str(out),
        "--run-dir",
        str(runs),
        "--steps",
        "3",
        *TINY,
    ]
    assert main(args) == 0
    bank = load_style_bank(out)
    assert bank.style_names == ["stripes", "dots"] and bank.preset == "fast"
    assert set(bank.thumbnails) == {"stripes", "dots"} and bank.thumbnails["dots"].shape == (96, 96, 3)
    assert bank.training["steps"] == 3 and bank.training["data"]["skipped_files"] == 1  # broken.jpg
    assert "--style-names stripes dots" in bank.training["command"]
    # Default training reads the feature network and the teacher: the bank is conditioned on the
    # predictor's vectors of its paintings, and it names the teacher's licence.
    assert bank.config.style_dim == 100 and bank.training["feature_net"] == "magenta"
    assert "Apache-2.0" in bank.training["teacher"]
    assert [s["file"] for s in bank.training["data"]["styles"]] == [dataset["stripes"].name, dataset["dots"].name]
    generator = bank.build_generator()
    with torch.no_grad():
        y = generator(torch.rand(1, 3, 40, 56), torch.tensor([[0.5, 0.5]]))
    assert y.shape == (1, 3, 40, 56) and bool(torch.isfinite(y).all())

    (run_dir,) = runs.iterdir()
    assert run_dir.name == "00001-stripes_dots"
    names = {p.name for p in run_dir.iterdir()}
    assert {
        "config.json",
        CHECKPOINT_NAME,
        "loss_curves.png",
        "samples_000002.png",
        "samples_000003.png",
        "tensorboard",
        "teacher_targets.npz",
    } <= names
    assert json.loads((run_dir / "config.json").read_text())["style_names"] == ["stripes", "dots"]

    # A run continued with a scale pyramid keeps its weights (the pyramid adds none) and says so in the bank.
    assert main(["--resume", str(run_dir), "--steps", "5", "--pyramid-base", "16"]) == 0
    state = torch.load(run_dir / CHECKPOINT_NAME, weights_only=True)
    assert state["step"] == 5
    assert max(float(s["step"]) for s in state["opt_g"]["state"].values()) == 5.0
    assert [row["step"] for row in state["extra"]["history"]] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert load_style_bank(out).training["steps"] == 5
    assert load_style_bank(out).config.pyramid_base == 16
    assert "wrote" in capsys.readouterr().out


def test_init_fine_tunes_a_bank_of_the_same_paintings_and_refuses_any_other(dataset: dict[str, Path], capsys) -> None:
    from training.loop import Run

    first, runs = dataset["root"] / "first.safetensors", dataset["root"] / "runs"
    paintings = [str(dataset["stripes"]), str(dataset["dots"])]
    common = ["--content", str(dataset["content"]), "--run-dir", str(runs), *TINY, "--w-teacher", "0"]
    assert main(["--style", *paintings, "--out", str(first), "--steps", "2", *common]) == 0
    trained = load_style_bank(first).state_dict

    config = TrainConfig(
        style=paintings, content=[str(dataset["content"])], out=str(dataset["root"] / "tuned.safetensors"),
        init=str(first), size=32, style_size=48, batch_size=2, d_channels=8, swd_levels=2, swd_directions=8,
        swd_points=256, sample_size=32, steps=2, warmup_steps=1, w_teacher=0.0,
    )
    run_dir = dataset["root"] / "tuned-run"
    run_dir.mkdir()
    run = Run(config, run_dir, "test")
    started = run.trainer.generator.state_dict()
    assert all(torch.equal(started[k], trained[k]) for k in trained)
    scalars = run.trainer.train_step()
    assert "g_rec" not in scalars and "g_swd" in scalars  # no warm-up towards the identity: it already paints
    tuned = load_style_bank(run.train())
    assert tuned.training["init"] == {"file": first.name, "steps": 2, "wall_time_s": load_style_bank(first).training["wall_time_s"]}

    # The same paintings in another order would swap the styles' stored vectors: refused in one line.
    swapped = ["--style", *reversed(paintings), "--out", str(dataset["root"] / "x.safetensors"), "--init", str(first)]
    assert main([*swapped, "--steps", "1", *common]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(f"error: --init {first}: its styles were not trained")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--style", "missing.jpg", "--content", "."], "style image not found"),
        (["--content", "."], "at least one style"),
        (["--style-dir", "no-such-dir", "--content", "."], "not a folder"),
        (["--resume", "no-such-run"], "not a run directory"),
    ],
)
def test_bad_input_is_one_line_and_a_nonzero_exit(args: list[str], message: str, tmp_path: Path, capsys) -> None:
    code = main([*args, "--out", str(tmp_path / "x.safetensors"), "--run-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error: ") and message in err[-1]


def test_help_documents_every_setting() -> None:
    text = build_parser().format_help()
    for f in fields(TrainConfig):
        flag = "--" + ("style" if f.name == "style" else f.name).replace("_", "-")
        assert flag in text, flag


def test_script_runs_from_a_checkout_without_installation() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "training" / "train.py"), "--help"],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "--style-dir" in result.stdout


def test_style_titles_are_kept_as_given_and_default_without_mangling(dataset: dict[str, Path]) -> None:
    config = TrainConfig(style=["a.jpg", "b.jpg"], content=["c"], style_names=["composition_VII", "wave"])
    assert config.resolved_style_titles() == ["Composition VII", "Wave"]  # "VII" not turned into "Vii"
    config.style_titles = ["Composition VII (Kandinsky)", "The Great Wave"]
    assert config.resolved_style_titles() == ["Composition VII (Kandinsky)", "The Great Wave"]
    config.style_titles = ["only one"]
    with pytest.raises(ValueError, match="1 style titles for 2"):
        config.validate()


def test_minutes_shrinks_the_generator_stage_to_fit(dataset: dict[str, Path]) -> None:
    from training.loop import Run

    config = TrainConfig(
        style=[str(dataset["stripes"])], content=[str(dataset["content"])], out=str(dataset["root"] / "m.safetensors"),
        size=32, style_size=48, batch_size=2, d_channels=8, swd_levels=2, swd_directions=8, swd_points=256,
        sample_size=32, steps=10_000, minutes=1.0, w_teacher=0.0,
    )
    run_dir = dataset["root"] / "run"
    run_dir.mkdir()
    run = Run(config, run_dir, "test")
    run.started -= 30.0  # half the minute is gone
    run.trainer.step = 40
    run._fit_to_minutes(steps_done=40, seconds=20.0)  # 2 steps/s: 30 s left fit 60 more
    assert 95 <= config.steps <= 100
    run._fit_to_minutes(steps_done=40, seconds=20.0)
    assert config.steps <= 100  # never grows back


def test_a_saved_config_with_a_retired_option_loads_only_at_the_value_it_always_had(tmp_path: Path) -> None:
    from training.config import RETIRED_OPTIONS, TrainConfig

    saved = {**TrainConfig().to_dict(), **RETIRED_OPTIONS}  # a run from before the options went
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert TrainConfig.load(tmp_path / "config.json") == TrainConfig()
    (tmp_path / "config.json").write_text(json.dumps({**saved, "gan_loss": "lsgan"}))
    with pytest.raises(ValueError, match="gan-loss, an option rtstyle no longer has"):
        TrainConfig.load(tmp_path / "config.json")


def test_the_progress_bar_ends_at_the_step_count_minutes_left(dataset: dict[str, Path], capsys) -> None:
    out = dataset["root"] / "short.safetensors"
    args = ["--style", str(dataset["stripes"]), "--content", str(dataset["content"]), "--out", str(out),
            "--run-dir", str(dataset["root"] / "runs"), *TINY, "--w-teacher", "0", "--content-floor", "0",
            "--steps", "10000", "--minutes", "0.005", "--sample-every", "1000", "--checkpoint-every", "1000"]
    assert main(args) == 0
    steps = load_style_bank(out).training["steps"]
    assert steps < 10_000
    last = re.findall(r"(\d+)/(\d+) \[", capsys.readouterr().err)[-1]
    assert last == (str(steps), str(steps))  # not "21/10000"
