"""End to end through the real command line: real loaders, embeddings, Chroma and local LLM."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED

pytestmark = pytest.mark.slow
QUESTION = "Which company does the US want South Korea to abandon?"


def articleqa(data_dir: Path, *args: str, llm: str = "local") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARTICLEQA_DATA_DIR": str(data_dir), "ARTICLEQA_LLM": llm}
    return subprocess.run(
        [sys.executable, "-m", "qa", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled samples (seed article among them) plus the test data files, indexed."""
    data_dir = tmp_path_factory.mktemp("e2e")
    corpus = tmp_path_factory.mktemp("corpus")
    shutil.copytree(ROOT / "examples" / "articles", corpus / "samples")
    got = articleqa(data_dir, "index", str(corpus), "--json")
    assert got.returncode == 0, got.stderr
    report = json.loads(got.stdout)
    assert report["added"] >= 5 and report["failed"] == []
    return data_dir


def test_answers_huawei_with_verbatim_citation_from_seed(indexed: Path) -> None:
    got = articleqa(indexed, "ask", QUESTION, "--json")
    assert got.returncode == 0, got.stderr
    ans = json.loads(got.stdout)
    assert ans["answerable"] is True
    assert "huawei" in ans["answer"].lower()
    first = ans["citations"][0]
    assert Path(first["path"]).name == SEED.name
    seed = SEED.read_text()
    # The snippet is a verbatim span of the stored (normalized) article, at its offsets.
    show = json.loads(articleqa(indexed, "show", first["article_id"], "--json").stdout)
    assert show["text"][first["start"] : first["end"]] == first["snippet"]
    assert " ".join(first["snippet"].split()) in " ".join(seed.split())


def test_plain_output_lists_sources(indexed: Path) -> None:
    got = articleqa(indexed, "ask", QUESTION)
    assert got.returncode == 0, got.stderr
    assert "Huawei" in got.stdout and "Sources:" in got.stdout and "[1]" in got.stdout


def test_reindex_is_idempotent(indexed: Path) -> None:
    got = articleqa(indexed, "reindex", "--json")
    report = json.loads(got.stdout)
    assert report["embedded_chunks"] == 0 and report["added"] == report["updated"] == 0
    assert report["unchanged"] >= 5


def test_unrelated_question_is_refused(indexed: Path) -> None:
    ans = json.loads(
        articleqa(indexed, "ask", "What is the melting point of tungsten?", "--json").stdout
    )
    assert ans["answerable"] is False and ans["citations"] == []


def test_asking_an_empty_index_is_one_line(tmp_path: Path) -> None:
    got = articleqa(tmp_path, "ask", QUESTION, llm="extractive")
    assert got.returncode == 1
    assert got.stderr.strip().count("\n") == 0 and "nothing is indexed" in got.stderr
    assert "Traceback" not in got.stderr
