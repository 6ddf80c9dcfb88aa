"""Every shell command and Python block in README.md and docs/*.md runs, at small sizes, on data the test makes:
a snippet cannot drift from the code. Commands in inline code are parsed by the real parser (their options must
exist); commands in code blocks are executed, in document order, in one working folder."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cli_driver import run_many, said

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = re.compile(r"^((?:[A-Z_]+=\S+\s+)*)(neuralens|torchrun)\s")

#: (option, value) the docs' commands get so that each runs in seconds; per sub-command
SMALL = {
    "train": {"--epochs": "2", "--steps-per-epoch": "2", "--train-size": "256", "--test-size": "64"},
    "hessian": {"--eval-size": "16", "--top-k": "2", "--lanczos-steps": "3", "--trace-probes": "2",
                "--probe-seeds": "1", "--layer-iters": "1", "--test-size": "16", "--train-size": "16"},
    "eval": {"--test-size": "64", "--samples": "4"},
    "gradflow": {"--batches": "1", "--batch-size": "16", "--init-seeds": "1", "--train-size": "32"},
    "landscape": {"--steps": "3", "--eval-size": "16", "--hessian-steps": "0", "--direction-seeds": "1",
                  "--test-size": "16", "--train-size": "16"},
    "compare-cnn": {"--steps": "3", "--eval-size": "16", "--hessian-steps": "0", "--direction-seeds": "1",
                    "--batches": "1", "--batch-size": "16", "--init-seeds": "1", "--train-size": "32",
                    "--test-size": "16"},
    "demo": {"--quick": None, "--offline": None, "--only": "deform"},
    "depth": {"--batch-size": "16", "--train-steps": "4", "--no-curvature": None},
    "nerf train": {"--seconds": "2", "--iters": "3"},
    "nerf compare": {"--seconds": "1", "--variants": "tiny,fast"},
    "nerf render": {"--frames": "2", "--size": "16"},
    "deform experiment": {"--epochs": "1", "--train-size": "128", "--test-size": "64"},
    "deform check": {"--cases": "2"},
}
#: substitutions of the Python blocks' sizes (each must be used, so the table cannot rot either)
PY_SMALL = [("[:512]", "[:64]"), ("[:128]", "[:32]"), ("steps=21", "steps=5"),
            ("hessian_steps=10", "hessian_steps=2"), ('land["loss"][10, 10]', 'land["loss"][2, 2]'),
            ("seconds=60", "seconds=2"), ('"builtin:64"', '"builtin:16"')]


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of every fenced block and every 4-space indented block after a blank line."""
    out = [(m.group(1), m.group(2)) for m in re.finditer(r"```(\w*)\n(.*?)```", text, re.S)]
    buf: list[str] = []
    fenced, prev_blank = False, True
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced and line.startswith("    ") and (buf or prev_blank):
            buf.append(line[4:])
            continue
        if buf:
            out.append(("", "\n".join(buf)))
            buf = []
        prev_blank = not line.strip()
    if buf:
        out.append(("", "\n".join(buf)))
    return out


def shell_commands(code: str) -> list[str]:
    """neuralens/torchrun commands of a shell block (continuations joined, comments and other commands dropped)."""
    cmds = []
    for line in code.replace("\\\n", " ").split("\n"):
        for part in line.split("&&"):
            part = part.split(" #")[0].strip()
            if RUNNABLE.match(part + " "):
                cmds.append(part)
    return cmds


def inline_commands(text: str) -> list[str]:
    """Commands written inline (`neuralens ...`) without placeholders or alternatives: parse-checked."""
    found = []
    for span in re.findall(r"`([^`\n]+)`", text):
        body = RUNNABLE.sub("", span + " ")  # placeholders are upper-case words (S, DIR, SPEC) or [alternatives]
        if RUNNABLE.match(span + " ") and not re.search(r"[\[\]|]|\.\.\.|(?<![\w.-])[A-Z][A-Z0-9_]*(?![a-z])", body):
            found.append(span)
    return found


def _doc_commands() -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        for lang, code in code_blocks(doc.read_text()):
            if lang in ("", "bash", "sh", "shell"):
                out += [(doc.name, c) for c in shell_commands(code)]
    return out


def test_the_docs_have_commands_and_python_to_run() -> None:
    assert len(_doc_commands()) >= 10
    assert sum(lang == "python" for d in DOCS for lang, _ in code_blocks(d.read_text())) >= 5


def test_no_docs_table_cell_is_over_40_words() -> None:
    """A table is for scanning: one short line per row; the details go in the lists below it."""
    for doc in DOCS:
        for line in doc.read_text().splitlines():
            if line.startswith("|") and not set(line) <= set("|-: "):
                long = [c.strip()[:60] for c in line.strip("|").split(" | ") if len(c.split()) > 40]
                assert not long, f"{doc.name}: {long}"


def test_inline_commands_parse() -> None:
    from neuralens.cli import build_parser

    parser = build_parser()
    spans = [c for d in DOCS for c in inline_commands(d.read_text())]
    assert len(spans) >= 5
    for span in spans:
        words = shlex.split(span)
        while "=" in words[0]:
            words = words[1:]
        if words[0] != "neuralens":
            continue
        try:
            parser.parse_args(words[1:])
        except SystemExit as exc:
            pytest.fail(f"inline command does not parse: {span} (exit {exc.code})")


# ------------------------------------------------------------------------------------------------ the fixtures
AKAMASTER_LIKE = '''import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(self.bn1(self.conv1(x)) + x)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.layer1 = nn.Sequential(BasicBlock(8), BasicBlock(8))
        self.linear = nn.Linear(8, 10)

    def forward(self, x):
        x = self.layer1(F.relu(self.conv1(x)))
        return self.linear(F.adaptive_avg_pool2d(x, 1).flatten(1))


def resnet20():
    return ResNet()
'''

HUBCONF = '''import sys
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from resnet import resnet20


def cifar10_resnet20(pretrained=False):
    return resnet20()
'''


def _world(tmp: Path) -> dict[str, str]:
    """Small stand-ins for what the docs point at: a CIFAR-10 folder, a NeRF scene, a foreign model file with its
    checkpoint, a torch.hub folder, a kuangliu-style VGG checkpoint, torchvision's cached ImageNet file."""
    rng = np.random.default_rng(0)
    cifar = tmp / "home" / "cifar10"
    cifar.mkdir(parents=True)
    for split, n in (("train", 320), ("test", 80)):
        np.savez(cifar / f"cifar10_{split}.npz", x=rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
                 y=np.arange(n) % 10, classes=np.array(["airplane", "automobile", "bird", "cat", "deer", "dog",
                                                        "frog", "horse", "ship", "truck"]))
    from neuralens.data.scenes import builtin_scene

    scene = builtin_scene(16)
    nerf = tmp / "home" / "nerf"
    nerf.mkdir()
    np.savez(nerf / "lego_100.npz", images=scene.images.numpy(), poses=scene.poses.numpy(),
             focal=np.array(scene.focal))
    repo = tmp / "their_repo"
    repo.mkdir()
    (repo / "resnet.py").write_text(AKAMASTER_LIKE)
    (repo / "hubconf.py").write_text(HUBCONF)
    sys.path.insert(0, str(repo))
    try:
        import resnet  # the user's file, as their own code builds it

        torch.save({"state_dict": {f"module.{k}": v for k, v in resnet.resnet20().state_dict().items()},
                    "best_prec1": 0.0}, repo / "resnet20-12fca82f.th")
    finally:
        sys.path.remove(str(repo))
        sys.modules.pop("resnet", None)
    from neuralens.models.registry import create_model

    vgg = create_model("vgg16_bn_bias", width=1.0).state_dict()
    torch.save({"net": {k: v for k, v in vgg.items() if not k.startswith("preprocess.")}}, tmp / "ckpt.pth")
    import torchvision

    weights = torchvision.models.ResNet18_Weights.DEFAULT
    hub = tmp / "torch_home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), hub / Path(weights.url).name)
    return {"../shared/data/cifar10": str(cifar), "../shared/data/nerf/lego_100.npz": str(nerf / "lego_100.npz"),
            "../shared/data": str(tmp / "home"), "their_repo/": str(repo) + "/",
            "resnet20-12fca82f.th": str(repo / "resnet20-12fca82f.th"), "ckpt.pth": str(tmp / "ckpt.pth"),
            "hub:chenyaofo/pytorch-cifar-models:": f"hub:{repo}:"}


def small(argv: list[str]) -> list[str]:
    """``argv`` with the :data:`SMALL` sizes of its sub-command set (replaced or appended)."""
    key = " ".join(argv[:2]) if argv[0] in ("nerf", "deform", "data") else argv[0]
    argv = list(argv)
    for opt, value in SMALL.get(key, {}).items():
        if opt in argv:
            i = argv.index(opt)
            if value is not None:
                argv[i + 1] = value
        else:
            argv += [opt] if value is None else [opt, value]
    return argv


@pytest.mark.slow
def test_every_documented_command_runs(tmp_path: Path) -> None:
    swaps = _world(tmp_path)
    base_env = {"NEURALENS_DATA": str(tmp_path / "home"), "TORCH_HOME": str(tmp_path / "torch_home"),
                "NEURALENS_MIRROR": "http://127.0.0.1:9", "NEURALENS_QUIET": "1"}
    jobs, torchrun = [], []
    for doc, cmd in _doc_commands():
        for old, new in swaps.items():
            cmd = cmd.replace(old, new)
        words = shlex.split(cmd)
        env = dict(base_env)
        while "=" in words[0]:
            k, v = words.pop(0).split("=", 1)
            env[k] = v
        if words[0] == "torchrun":
            torchrun.append((doc, env, words))
            continue
        jobs.append((doc, env, small(words[1:])))
    results = run_many([(e, a) for _, e, a in jobs], tmp_path, base_env)
    for (doc, _env, argv), r in zip(jobs, results):
        assert r["rc"] == 0, f"{doc}: neuralens {' '.join(argv)} -> exit {r['rc']}: {r['stderr']}"
    for doc, env, words in torchrun:
        i = words.index("neuralens.cli")
        argv = [*words[:i + 1], *small(words[i + 1:])]
        run = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                             env={**os.environ, **env, "OMP_NUM_THREADS": "1"})
        assert run.returncode == 0, f"{doc}: {' '.join(argv)}: {said(run.stderr)}"


@pytest.mark.slow
def test_every_python_block_runs(tmp_path: Path) -> None:
    used = set()
    program = []
    for doc in DOCS:
        for lang, code in code_blocks(doc.read_text()):
            if lang != "python":
                continue
            for old, new in PY_SMALL:
                if old in code:
                    used.add(old)
                    code = code.replace(old, new)
            program.append(f"# --- {doc.name}\n{code}")
    assert used == {old for old, _ in PY_SMALL}, f"unused size substitutions: {set(dict(PY_SMALL)) - used}"
    script = tmp_path / "blocks.py"
    script.write_text("\n".join(program))
    res = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "NEURALENS_DATA": str(tmp_path / "no-data"), "NEURALENS_QUIET": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip(), "the Python blocks print their results"
