"""The README's commands run as written: each documented `articleqa` line, on the samples."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from qa.cli import cli
from qa.settings import Settings
from tests.conftest import ROOT

README = ROOT / "README.md"
# Run until stopped: their documented options are checked with --help instead.
LONG_RUNNING = {"serve", "chat", "watch"}
# What every run answers with: hosted or local models are not what this test is about.
LLM = "extractive"


def shell_blocks(markdown: str) -> list[str]:
    """The bodies of the ```bash / ```sh / ```shell code blocks, in order."""
    return re.findall(r"^```(?:bash|sh|shell)\n(.*?)^```", markdown, re.M | re.S)


def documented_commands(markdown: str) -> list[list[str]]:
    """Each `articleqa ...` line of the shell blocks as argv (without `articleqa`), comments
    dropped."""
    commands = []
    for block in shell_blocks(markdown):
        for line in block.splitlines():
            if line.startswith("articleqa "):
                commands.append(shlex.split(line, comments=True)[1:])
    return commands


def subcommand(argv: list[str]) -> str:
    """The first word of argv that names a subcommand ('' if none: `--version`)."""
    return next((word for word in argv if word in cli.commands), "")


def run(argv: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`python -m qa ARGV` from the clone's root on its own index, as a user would run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLEQA_")}
    env |= {"ARTICLEQA_DATA_DIR": str(data_dir), "ARTICLEQA_LLM": LLM}
    return subprocess.run(
        [sys.executable, "-m", "qa", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_documented_commands_parses_lines_quotes_and_comments() -> None:
    text = (
        "```bash\n"
        'articleqa ask "a # b" --json   # the Answer\n'
        "source .venv/bin/activate\n"
        "```\n"
        "```text\n$ articleqa list\n```\n"
        "```sh\narticleqa --llm extractive show ID\n```\n"
    )
    assert documented_commands(text) == [
        ["ask", "a # b", "--json"],
        ["--llm", "extractive", "show", "ID"],
    ]
    assert subcommand(["--llm", "extractive", "show", "ID"]) == "show"
    assert subcommand(["--version"]) == ""


def test_every_command_is_documented() -> None:
    """Each subcommand (and each `eval` subcommand) appears in a README shell block."""
    commands = documented_commands(README.read_text(encoding="utf-8"))
    used = {subcommand(argv) for argv in commands}
    missing = set(cli.commands) - used
    assert not missing, f"README shows no `articleqa` line for: {sorted(missing)}"
    evals = {argv[argv.index("eval") + 1] for argv in commands if subcommand(argv) == "eval"}
    eval_group = cli.commands["eval"]
    assert isinstance(eval_group, click.Group)
    assert set(eval_group.commands) <= evals


def test_every_setting_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [f for f in Settings.model_fields if f"`ARTICLEQA_{f.upper()}`" not in text]
    assert not missing, f"settings missing from the README's table: {missing}"


def test_make_targets_in_the_readme_exist() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w-]+):", makefile, re.M))
    named = {
        line.split()[1]
        for block in shell_blocks(README.read_text(encoding="utf-8"))
        for line in block.splitlines()
        if line.startswith("make ")
    }
    assert named and named <= targets, f"README names make targets that are not there: {named}"


def test_readme_commands_run_as_written(tmp_path: Path) -> None:
    """Every documented command exits 0 on the bundled samples, in README order (`index`
    first); ID is an indexed article's id; commands that run until stopped get --help."""
    commands = documented_commands(README.read_text(encoding="utf-8"))
    assert commands and subcommand(commands[0]) == "index"
    data_dir = tmp_path / "data"
    failures = []
    for argv in commands:
        if "ID" in argv:
            listed = run(["list", "--json"], data_dir)
            article_id = json.loads(listed.stdout)["articles"][0]["id"]
            argv = [article_id if word == "ID" else word for word in argv]
        if subcommand(argv) in LONG_RUNNING:
            argv = [*argv, "--help"]
        result = run(argv, data_dir)
        if result.returncode != 0:
            failures.append(
                f"articleqa {shlex.join(argv)} -> exit {result.returncode}: "
                f"{(result.stderr or result.stdout).strip()[-500:]}"
            )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("argv", [["ask", "x", "--no-such-option"], ["no-such-command"]])
def test_a_wrong_command_fails_the_check(argv: list[str], tmp_path: Path) -> None:
    """What the README test relies on: a usage error is a non-zero exit (click's 2)."""
    assert run(argv, tmp_path / "data").returncode == 2


def example_outputs(markdown: str) -> list[tuple[list[str], str]]:
    """The README's ```text examples that start with `$ articleqa ...`: (argv, what follows)."""
    found = []
    for body in re.findall(r"^```text\n(.*?)^```", markdown, re.M | re.S):
        first, _, rest = body.partition("\n")
        if first.startswith("$ articleqa "):
            found.append((shlex.split(first[2:])[1:], rest.rstrip("\n")))
    return found


def _printed(argv: list[str], data_dir: Path, llm: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLEQA_")}
    env |= {"ARTICLEQA_DATA_DIR": str(data_dir), "ARTICLEQA_LLM": llm}
    got = subprocess.run(
        [sys.executable, "-m", "qa", *argv], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert got.returncode == 0, got.stderr
    # The README shows the clone at a made-up place.
    return got.stdout.replace(str(ROOT), "/home/you/articleqa").rstrip("\n")


@pytest.mark.parametrize("model", ["extractive", pytest.param("local", marks=pytest.mark.slow)])
def test_readme_example_output_is_what_a_user_sees(model: str, tmp_path: Path) -> None:
    """Each example answer in the README is what the command prints on the samples: those
    that show the model's draft (stderr) with the local model, the others with no model."""
    examples = example_outputs(README.read_text(encoding="utf-8"))
    assert any("draft:" not in out for _, out in examples)
    data_dir = tmp_path / "data"
    assert run(["index", "examples/articles"], data_dir).returncode == 0
    for argv, shown in examples:
        if ("draft:" in shown) != (model == "local"):
            continue
        expected = "\n".join(x for x in shown.splitlines() if not x.startswith("draft:"))
        got = _printed(argv, data_dir, model)
        if model == "local":
            # The draft, and so the quotes' order, moves with the passage order, which
            # depends on the clone's path (ids are derived from it): the quotes must match.
            assert quotes(got) == quotes(expected), shlex.join(argv)
        else:
            assert got == expected, shlex.join(argv)


def quotes(text: str) -> list[str]:
    """The quoted sentences of an answer as printed, in sorted order."""
    return sorted(re.findall(r"“[^”]+”", text.partition("\n\nSources:")[0]))
