"""What a new user trips over in the first hour with the CLI (issue 22): mistyped paths, record
failures, id prefixes, search output, stderr, progress when piped, --llm after the command,
`config`, shell completion, the one-time model export."""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import platformdirs
import pytest
from click.testing import CliRunner

import qa.cli
from ingest.report import Progress
from qa import backends
from qa.app import match_id
from qa.cli import cli, main, plain_progress
from qa.errors import InputError, NotFoundError
from qa.settings import Settings

SAMPLES = Path(__file__).resolve().parent.parent / "examples" / "articles"
WORDS = [f"{a}{b}" for a in ("ba", "de", "fi", "go", "hu", "ja", "ke", "lu") for b in range(50)]


def text_of(seed: int) -> str:
    """Distinct, unrelated text per seed (no accidental near-duplicates)."""
    rng = random.Random(seed)
    return " ".join(" ".join(rng.choice(WORDS) for _ in range(10)) + "." for _ in range(4))


def news_csv(path: Path, rows: int, bad: set[int]) -> Path:
    """A CSV of `rows` articles; the rows numbered in `bad` have no text."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["title", "text"])
        for n in range(rows):
            w.writerow([f"Story {n}", "" if n in bad else text_of(n)])
    return path


@pytest.fixture
def aq(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embeddings) -> Any:
    """Run the CLI against a throwaway index, reusing the session's embedding model."""
    monkeypatch.setenv("ARTICLEQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ARTICLEQA_LLM", "extractive")
    monkeypatch.setattr(backends, "make_embeddings", lambda settings: embeddings)

    def invoke(*args: str, code: int = 0) -> Any:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=code != 0)
        assert result.exit_code == code, result.output + result.stderr
        return json.loads(result.stdout) if "--json" in args else result

    return invoke


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """A copy of the bundled sample articles."""
    return Path(shutil.copytree(SAMPLES, tmp_path / "articles"))


def test_removing_a_mistyped_path_is_one_line_naming_it_and_its_close_matches(
    aq, samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    aq("index", str(samples), "--json")
    before = len(aq("list", "--json")["articles"])
    typo = str(samples / "seed-artcle.txt")
    result = aq("remove", typo, code=1)
    assert isinstance(result.exception, NotFoundError)
    assert typo in str(result.exception) and "seed-article.txt" in str(result.exception)
    assert len(aq("list", "--json")["articles"]) == before
    # As the installed command prints it: one line, exit 1.
    monkeypatch.setattr(sys, "argv", ["articleqa", "remove", typo])
    with pytest.raises(SystemExit) as exit_:
        main()
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and err.count("\n") == 1 and "seed-article.txt" in err
    # A file that is there but fails on every run can still be removed (to stop trying it).
    (samples / "empty.txt").write_text("", encoding="utf-8")
    assert any("empty.txt" in f["path"] for f in aq("reindex", "--json")["failed"])
    assert aq("remove", str(samples / "empty.txt"), "--json") == {"removed": 0}
    assert not aq("reindex", "--json")["failed"]


def test_failed_records_are_records_not_a_failed_source_and_go_to_stderr(
    aq, tmp_path: Path
) -> None:
    news = news_csv(tmp_path / "news.csv", 30, bad={3, 11, 20})
    result = aq("index", str(news))
    assert result.stdout.count("\n") == 1 and "failed 3" in result.stdout  # the summary only
    assert result.stderr.count("failed: ") == 3 and str(news) in result.stderr
    stats = aq("stats", "--json")
    assert stats["articles"] == 27
    assert stats["failed_sources"] == {}
    assert stats["failed_records"] == {str(news): {"failed": 3, "records": 30}}
    assert stats["data_dir"] == str(tmp_path / "data")
    text = aq("stats").stdout
    assert "failed records" in text and f"{news}: 3 of 30 records failed" in text
    assert f"data_dir: {tmp_path / 'data'}" in text and "failed source" not in text
    # --json keeps its failures in the JSON, stderr quiet.
    result = CliRunner().invoke(cli, ["reindex", "--json"])
    assert len(json.loads(result.stdout)["failed"]) == 3 and "failed:" not in result.stderr
    # Fixed rows: the count goes away; a file that fails as a whole is still a failed source.
    news_csv(news, 30, bad=set())
    assert aq("reindex", "--json")["added"] == 3
    assert aq("stats", "--json")["failed_records"] == {}
    bad = tmp_path / "bad.csv"
    bad.write_text("title,body_of_nothing\nx,y\n", encoding="utf-8")
    aq("index", str(bad), code=1)
    stats = aq("stats", "--json")
    assert list(stats["failed_sources"]) == [str(bad)] and stats["failed_records"] == {}


def test_progress_is_a_line_every_few_seconds_when_not_a_terminal(
    aq, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]
    lines: list[str] = []
    update = plain_progress("indexing", lines.append, every=5.0, clock=lambda: now[0])
    for t, done in ((1.0, 1), (6.0, 2), (7.0, 3), (12.5, 4)):
        now[0] = t
        update(Progress(done, done * 2, 300, 1 if done > 3 else 0))
    assert lines == [
        "indexing: 2/300 articles, 4 chunks embedded",
        "indexing: 4/300 articles, 8 chunks embedded, 1 failed",
    ]
    monkeypatch.setattr(qa.cli, "PROGRESS_EVERY", 0.0)  # every update, for the test
    news = news_csv(tmp_path / "news.csv", 12, bad=set())
    err = aq("index", str(news)).stderr  # CliRunner's stderr is not a terminal
    assert "articleqa: indexing: 12/12 articles" in err
    assert "articleqa: indexing" not in CliRunner().invoke(cli, ["reindex", "--json"]).stderr


def test_show_takes_a_unique_id_prefix_as_git_does(aq, tmp_path: Path) -> None:
    aq("index", str(news_csv(tmp_path / "news.csv", 20, bad=set())), "--json")
    ids = [a["id"] for a in aq("list", "--json")["articles"]]
    assert len(ids) == 20 and all(len(i) == 16 for i in ids)
    for aid in ids[:3]:
        prefix = next(
            aid[:n] for n in range(1, 17) if [i.startswith(aid[:n]) for i in ids].count(True) == 1
        )
        assert aq("show", prefix, "--json")["id"] == aid
        assert aq("show", aid, "--json")["id"] == aid
    # 20 ids over 16 first characters: some first character is shared.
    shared = next(c for c in "0123456789abcdef" if sum(i.startswith(c) for i in ids) > 1)
    result = aq("show", shared, code=1)
    assert isinstance(result.exception, InputError) and "ambiguous" in str(result.exception)
    assert all(i in str(result.exception) for i in ids if i.startswith(shared))
    result = aq("show", "zz", code=1)
    assert isinstance(result.exception, NotFoundError)
    with pytest.raises(InputError, match=r"and 2 more"):
        match_id("a", [f"a{n:02}" for n in range(12)])


def test_search_text_shows_each_hits_source_and_id(aq, samples: Path) -> None:
    aq("index", str(samples), "--json")
    hits = aq("search", "ferry harbor", "--json")["results"]
    text = aq("search", "ferry harbor").stdout
    articles = {a["id"]: a for a in aq("list", "--json")["articles"]}
    id_lines = [line.strip() for line in text.splitlines() if line.strip().startswith("id ")]
    assert len(id_lines) == len(hits) > 1
    for line, hit in zip(id_lines, hits, strict=True):
        article = articles[hit["article_id"]]
        assert line.startswith(f"id {hit['article_id']}")
        assert (article["url"] or article["path"]) in line and article["source"] in line
    shown = aq("show", id_lines[0].split()[1], "--json")
    assert shown["id"] == hits[0]["article_id"]


def test_llm_is_accepted_after_the_answering_commands_and_wins(
    aq, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aq("index", str(samples), "--json")
    built: list[str] = []
    real = backends.make_llm

    def make_llm(settings: Settings) -> Any:  # records the backend; builds only extractive
        built.append(settings.llm)
        return real(settings) if settings.llm == "extractive" else None

    monkeypatch.setattr(backends, "make_llm", make_llm)
    answer = aq(
        "--llm", "local", "ask", "When does the ferry run?", "--llm", "extractive", "--json"
    )
    assert built == ["extractive"] and answer["citations"]
    monkeypatch.setenv("ARTICLEQA_LLM", "openai")
    aq("ask", "When does the ferry run?", "--llm", "extractive", "--json")
    assert built == ["extractive", "extractive"]
    for command in (["ask"], ["chat"], ["serve"], ["eval", "squad"], ["eval", "mtrag"]):
        assert "--llm" in aq(*command, "--help").stdout
    assert "No such option" in aq("list", "--llm", "local", code=2).output


def test_config_prints_every_setting_its_value_and_where_it_came_from(
    aq, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "articleqa.toml"
    config.write_text("k = 7\nollama_model = 'qwen3'\n", encoding="utf-8")
    monkeypatch.setenv("ARTICLEQA_CONFIG", str(config))
    monkeypatch.setenv("ARTICLEQA_OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("ARTICLEQA_OLLAMA_MODEL", "llama3.3")  # env beats the file
    monkeypatch.setenv("ARTICLEQA_AUTH", "ann:hunter2")
    monkeypatch.setenv("ARTICLEQA_CHROMA_URL", "http://ann:pw@127.0.0.1:8000")
    got = aq("--chroma-url", "http://bob:pw2@127.0.0.1:9000", "config", "--json")
    assert list(got) == list(Settings.model_fields)
    assert got["k"] == {"value": 7, "source": f"config file {config}"}
    assert got["ollama_model"] == {"value": "llama3.3", "source": "env ARTICLEQA_OLLAMA_MODEL"}
    assert got["llm"] == {"value": "extractive", "source": "env ARTICLEQA_LLM"}
    assert got["chroma_url"] == {
        "value": "http://bob:****@127.0.0.1:9000",
        "source": "flag --chroma-url",
    }
    assert got["port"] == {"value": 7860, "source": "default"}
    assert got["openai_api_key"]["value"] == "****" and got["auth"]["value"] == "ann:****"
    text = aq("--chroma-url", "http://bob:pw2@127.0.0.1:9000", "config").stdout
    assert len(text.splitlines()) == len(Settings.model_fields)
    for secret in ("sk-very-secret", "hunter2", "pw2"):
        assert secret not in text and secret not in json.dumps(got)
    assert any(line.split()[:2] == ["k", "7"] for line in text.splitlines())
    # Without ARTICLEQA_DATA_DIR the data folder is the platform's, and config says so.
    monkeypatch.delenv("ARTICLEQA_DATA_DIR")
    data_dir = aq("config", "--json")["data_dir"]
    assert data_dir == {
        "value": platformdirs.user_data_dir("articleqa", appauthor=False),
        "source": "default",
    }


def test_version_and_shell_completion_work(tmp_path: Path) -> None:
    assert CliRunner().invoke(cli, ["--version"]).stdout.startswith("articleqa, version ")
    exe = shutil.which("articleqa") or str(Path(sys.executable).with_name("articleqa"))
    env = {**os.environ, "_ARTICLEQA_COMPLETE": "bash_source"}
    script = subprocess.run([exe], env=env, capture_output=True, text=True, timeout=60)
    assert script.returncode == 0 and "complete -o nosort -F _articleqa_completion" in script.stdout
    env = {**os.environ, "_ARTICLEQA_COMPLETE": "bash_complete", "COMP_WORDS": "articleqa con"}
    env["COMP_CWORD"] = "1"
    got = subprocess.run([exe], env=env, capture_output=True, text=True, timeout=60)
    assert got.stdout.split() == ["plain,config"]
    env = {**os.environ, "_ARTICLEQA_COMPLETE": "zsh_source"}
    assert "compdef" in subprocess.run([exe], env=env, capture_output=True, text=True).stdout


@pytest.mark.slow
def test_the_one_time_model_export_is_announced_and_a_cached_one_is_not(
    onnx_int8, onnx_cache: Path, tmp_path: Path
) -> None:
    from qa.embeddings import packaged_model_path
    from qa.onnx_export import ensure_exported, export_path

    source = packaged_model_path()
    said: list[str] = []
    assert ensure_exported(source, onnx_cache, "int8", notify=said.append).is_file()
    assert said == []  # cached: nothing to say
    # A cache holding only the fp32 graph: quantizing and checking is still a step to announce.
    fresh = tmp_path / "cache"
    fp32 = export_path(source, fresh, "fp32")
    fp32.parent.mkdir(parents=True)
    shutil.copy(export_path(source, onnx_cache, "fp32"), fp32)
    assert ensure_exported(source, fresh, "int8", notify=said.append).is_file()
    assert said == ["preparing the embedding model once (about 20 s)..."]
