"""The README's walk-through runs as written (in a scratch folder beside a copy of examples/)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from healthcode.core.codes.native import PREFIX, peek_code

ROOT = Path(__file__).resolve().parents[1]
HEALTHCODE = Path(sys.executable).parent / "healthcode"


def walkthrough() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## A walk through the network", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the walk-through has no sh block"
    return [shlex.split(line) for line in block.group(1).splitlines() if line.strip()]


def test_readme_walkthrough_runs(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHCODE_")}
    outputs = []
    for argv in walkthrough():
        assert argv[0] == ".venv/bin/healthcode"
        done = subprocess.run(
            [str(HEALTHCODE), *argv[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
        outputs.append(done.stdout)
    assert "红码" in outputs[0]
    assert outputs[-1].startswith("VALID") and "colour=green" in outputs[-1]
    issued = next(peek_code(out.strip()) for out in outputs if out.startswith(PREFIX))
    assert issued.expires_at - issued.issued_at >= timedelta(hours=1)  # time to finish the walk
    assert (tmp_path / "var" / "paper.svg").is_file()


def test_demo_command_matches_the_walkthrough() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    demo = re.search(r"^demo:.*\n\t(.+)$", makefile, re.M)
    assert demo, "no demo target"
    assert "rules explain --facts examples/facts-close-contact.json" in demo.group(1)


def test_the_first_command_serves_the_network() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the two commands have no sh block"
    commands = [line.split("#")[0].split() for line in block.group(1).splitlines() if line.strip()]
    assert commands == [["make", "serve"], ["make", "test"]]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    serve = re.search(r"^serve:.*\n\t(.+)$", makefile, re.M)
    assert serve and serve.group(1).endswith("healthcode serve var/network")
    test = re.search(r"^test:.*\n\t(.+)$", makefile, re.M)
    assert test and "pytest" in test.group(1)
