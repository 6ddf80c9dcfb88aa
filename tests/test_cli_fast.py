"""A new user's typos and mistakes are answered before torch is imported (so in well under 3 s on 2 cores), in one
line with exit code 2 and the closest valid names; ``--help`` of every command needs no torch either, describes
every option and shows each default once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_driver import run_many


def _probe(argvs: list[list[str]], cwd: Path, env: dict[str, str] | None = None) -> list[dict]:
    return run_many([({}, argv) for argv in argvs], cwd, env, timeout=120)


def _user_files(tmp_path: Path) -> dict[str, str]:
    model = tmp_path / "resnet.py"
    model.write_text("import torch.nn as nn\n\nclass ResNet(nn.Module):\n    pass\n\n"
                     "def resnet20():\n    return ResNet()\n\ndef helper():\n    return 3\n")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00\x01\x02\x03")
    (tmp_path / "afile").write_text("x")
    return {"model": str(model), "junk": str(junk), "file": str(tmp_path / "afile")}


def _shipped_cards(folder: Path) -> dict[str, str]:
    """A weights folder of the shipped layout (cards + files) for the checks that read only the cards."""
    folder.mkdir()
    for arch in ("resnet18", "plain18", "vgg16_bn"):
        card = {"arch": arch, "width": 0.25, "num_classes": 10, "classes": [str(i) for i in range(10)],
                "normalization": {"name": "cifar"}, "file": f"{arch}.safetensors", "sha256": "0", "metrics": {}}
        (folder / f"{arch}.json").write_text(json.dumps(card))
        (folder / f"{arch}.safetensors").write_bytes(b"")
    return {"NEURALENS_WEIGHTS_DIR": str(folder)}


def test_mistakes_are_one_line_exit_2_with_a_suggestion_and_no_torch(tmp_path: Path) -> None:
    f = _user_files(tmp_path)
    env = _shipped_cards(tmp_path / "weights")
    cases = [  # (argv, words the one line must contain)
        (["tran"], ["unknown command 'tran'", "did you mean 'train'"]),
        (["train", "--model", "resnt18"], ["unknown model 'resnt18'", "did you mean 'resnet18'"]),
        (["eval", "--model", f["model"]], ["FILE.py:CALLABLE", "it defines ResNet, resnet20"]),
        (["eval", "--model", f"{f['model']}:resnet2"], ["defines no 'resnet2'", "did you mean 'resnet20'"]),
        (["eval", "--model", "resnet18", "--weights", "neuralens", "--normalize", "imagnet"],
         ["did you mean 'imagenet'"]),
        (["eval", "--model", "resnet18", "--weights", f["junk"]], ["not a PyTorch checkpoint or safetensors"]),
        (["eval", "--checkpoint", str(tmp_path / "missing.pt")], ["file not found"]),
        (["nerf", "render", "--checkpoint", str(tmp_path / "missing.pt")], ["file not found"]),
        (["eval", "--model", "vgg16", "--weights", "neuralens"], ["no neuralens weights for 'vgg16'",
                                                                  "shipped:"]),
        (["gradflow", "--models", ""], ["give at least one model"]),
        (["landscape", "--model", "resnet18", "--weights", "neuralens", "--width", "0.5"],
         ["--width 0.5 conflicts with the neuralens resnet18 weights"]),
        (["landscape", "--steps", "4"], ["odd"]),
        (["landscape", "--directions", "filtr"], ["unknown direction method 'filtr'", "did you mean 'filter'"]),
        (["train", "--data", "cifar-10"], ["no such file or folder", "did you mean 'cifar10'"]),
        (["train", "--out", f["file"]], ["is a file, not a folder"]),
        (["nerf", "train", "--model", "tiny_hierr"], ["unknown NeRF variant", "did you mean 'tiny_hier'"]),
        (["nerf", "train", "--scene", "builtn"], ["no such file or folder", "did you mean 'builtin'"]),
        (["demo", "--only", "gradflo"], ["unknown step 'gradflo'", "did you mean 'gradflow'"]),
        (["report", str(tmp_path)], ["no study results"]),
        (["nerf", "compare", "--variants", "tiny,fastt"], ["did you mean 'fast'"]),
        (["nerf", "train", "--score-at", "0,247"], ["--score-at", "must be positive integers"]),
        (["nerf", "compare", "--precision", "fp16"], ["unknown choice 'fp16'", "did you mean 'bf16'"]),
        (["nerf", "compare", "--seeds", "3"], ["--seeds", "at least two different seeds"]),
        (["nerf", "compare", "--seeds", "0,1", "--variants", "fast"], ["against the baseline tiny", "--variants"]),
    ]
    results = _probe([argv for argv, _ in cases], tmp_path, env)
    for (argv, words), r in zip(cases, results):
        lines = [ln for ln in r["stderr"].strip().splitlines() if ln]
        assert r["rc"] == 2, (argv, r)
        assert len(lines) == 1 and lines[0].startswith("neuralens: error:"), (argv, r["stderr"])
        for w in words:
            assert w in lines[0], (argv, w, lines[0])
        assert not r["torch"], f"{argv} imported torch before answering"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "junk.pt", "resnet.py", "weights"]  # no output


def _leaf_commands() -> list[list[str]]:
    from neuralens.cli import _leaf_parsers, build_parser

    return [p.prog.split()[1:] for p in _leaf_parsers(build_parser())]


def test_help_of_every_command_needs_no_torch_describes_every_option_once(tmp_path: Path) -> None:
    from neuralens.cli import _leaf_parsers, build_parser

    commands = _leaf_commands()
    assert len(commands) >= 15
    results = _probe([[*c, "--help"] for c in commands], tmp_path)
    assert all(r["rc"] == 0 and not r["torch"] for r in results)
    for parser in _leaf_parsers(build_parser()):
        text = parser.format_help()
        assert "(default: None)" not in text, parser.prog
        assert "example" in (parser.epilog or ""), f"{parser.prog} has no example"
        formatter = parser._get_formatter()
        for action in parser._actions:
            assert action.help, f"{parser.prog} {action.option_strings or action.dest} has no description"
            shown = formatter._get_help_string(action)
            assert shown.lower().count("default") - shown.count("%(default)s") <= 1, (parser.prog, shown)


@pytest.mark.parametrize("argv", [["--version"], ["demo", "--only", "cnn,nope"]])
def test_the_entry_point_itself_starts_without_torch(argv: list[str], tmp_path: Path) -> None:
    r = _probe([argv], tmp_path)[0]
    assert not r["torch"] and r["rc"] in (0, 2)
