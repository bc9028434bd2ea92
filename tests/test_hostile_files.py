"""Hostile files and stores (issue 21): FIFOs, names that are not UTF-8, huge records, damaged
Chroma files, and the small input checks of the CLI and API."""

from __future__ import annotations

import gzip
import json
import os
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.chunking import chunk_tokens
from ingest.index import index_sources
from ingest.loaders import load
from ingest.recovery import unfinished, write_marker
from qa.app import App
from qa.cli import cli
from qa.errors import BackendError, ConfigError, InputError, LoadError
from qa.inputs import check_k, check_question, parse_filters, parse_history
from qa.render import safe, safe_line
from qa.types import Article
from tests.conftest import make_settings

TEXT = "Berlin opened a new airport on Monday after years of delays. It cost six billion euros."
MB = 1024 * 1024


def _write(path: Path | bytes, text: str = TEXT) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _app(tmp_path: Path, embeddings: object) -> App:
    a = App(make_settings(tmp_path))
    a.__dict__["embeddings"] = embeddings
    return a


@pytest.mark.timeout(60)
def test_a_fifo_in_a_folder_or_as_argument_is_skipped_unopened(tmp_path: Path, embeddings) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _write(src / "a.txt")
    os.mkfifo(src / "pipe.jsonl")  # opening it for reading would wait for a writer forever
    app = _app(tmp_path, embeddings)
    report = app.index([str(src), str(src / "pipe.jsonl")])
    assert report.added == 1
    assert {f["path"] for f in report.failed} == {str(src / "pipe.jsonl")}
    assert all("not a regular file (FIFO)" in f["error"] for f in report.failed)
    assert app.reindex().unchanged == 1  # and the next run does not hang either


@pytest.mark.timeout(60)
def test_devices_are_not_read(tmp_path: Path) -> None:
    (tmp_path / "zero.jsonl").symlink_to("/dev/zero")  # endless if read
    errors = [i for i in load(str(tmp_path / "zero.jsonl")) if isinstance(i, LoadError)]
    assert errors and "not a regular file" in errors[0].reason


@pytest.mark.timeout(300)
def test_a_name_that_is_not_utf8_indexes_lists_and_can_be_removed(
    tmp_path: Path, embeddings
) -> None:
    folder = os.fsencode(tmp_path / "src")
    os.mkdir(folder)
    _write(folder + b"/caf\xe9.txt")
    twin = tmp_path / "twin"
    os.mkdir(os.fsencode(twin))
    _write(os.fsencode(twin) + b"/caf\xe9.txt")
    _write(os.fsencode(twin) + b"/caf\xe8.txt", TEXT.replace("Berlin", "Munich"))
    # Two names shown alike stay two articles: ids come from the raw bytes.
    loaded = [a for a in load(str(twin)) if isinstance(a, Article)]
    assert len({a.id for a in loaded}) == 2 and loaded[0].path == loaded[1].path
    named = os.fsdecode(folder + b"/caf\xe9.txt")  # as argv gives it: surrogate escapes
    app = _app(tmp_path, embeddings)
    assert app.index([named]).added == 1
    assert app.index([os.fsdecode(folder)]).failed == []
    (row,) = app.store.list_articles()
    assert str(row["path"]).endswith("caf\ufffd.txt") and str(row["path"]).encode("utf-8")
    assert app.reindex().failed == []
    listed = CliRunner().invoke(cli, ["--data-dir", str(app.settings.data_dir), "list"])
    assert listed.exit_code == 0 and "(caf\ufffd.txt)" in listed.output
    assert app.remove(named) == 1
    assert app.reindex().added == 0


def test_a_source_that_fails_during_recovery_is_dropped(tmp_path: Path, embeddings) -> None:
    app = _app(tmp_path, embeddings)
    marker = tmp_path / "index.dirty"
    poisoned = str(tmp_path / "poisoned.txt")
    _write(Path(poisoned))
    write_marker(marker, [poisoned])  # a killed run left this source half done

    def loader(origin: str) -> list[Article | LoadError]:
        if origin == poisoned:
            raise RuntimeError("the store refused it")
        return [a for a in load(origin) if isinstance(a, Article)]

    _write(tmp_path / "ok.txt")
    said: list[str] = []
    report = index_sources(
        [str(tmp_path / "ok.txt")],
        store=app.store,
        embeddings=embeddings,
        count_tokens=embeddings.count_tokens,
        load=loader,
        dirty_marker=marker,
        notify=said.append,
    )
    assert report.added == 1
    assert [f["path"] for f in report.failed] == [poisoned]
    assert unfinished(marker) is None and any("dropped" in s for s in said)


def test_remove_clears_a_pending_source(tmp_path: Path, embeddings) -> None:
    app = _app(tmp_path, embeddings)
    marker = app.settings.data_dir / "index.dirty"
    gone = str(tmp_path / "never-finished")
    write_marker(marker, [gone, str(tmp_path / "other")])
    assert app.remove(gone) == 0  # not a NotFoundError: it is pending
    assert unfinished(marker) == [str(tmp_path / "other")]


def test_control_characters_and_surrogates_never_print_raw() -> None:
    assert safe_line("new\nline\t.txt\x1b[2J") == "new line .txt[2J"
    assert safe("caf\udce9") == "caf\ufffd"


def test_a_huge_jsonl_line_in_a_gzip_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"text": TEXT}) + "\n")
        f.write('{"text": "' + "a" * (40 * MB) + '"}\n')  # ~40 KB compressed
        f.write(json.dumps({"text": TEXT.replace("Berlin", "Rome")}) + "\n")
    tracemalloc.start()
    items = list(load(str(path), max_chars=MB))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [type(i).__name__ for i in items] == ["Article", "LoadError", "Article"]
    assert isinstance(items[1], LoadError) and items[1].where == f"{path}:2"
    assert "max_record_chars" in items[1].reason
    assert peak < 20 * MB  # the 40 MB line was skipped in pieces, never held


@pytest.mark.parametrize("quoted", [True, False])
def test_a_csv_field_over_the_cap_is_one_failed_row(tmp_path: Path, quoted: bool) -> None:
    big = ("word " * (MB // 2)).strip()  # 2.5 MB, over a 1 MB cap
    field = f'"{big}\nstill the same field"' if quoted else big
    path = tmp_path / "rows.csv"
    path.write_text(f"title,text\nA,{TEXT}\nB,{field}\nC,{TEXT.replace('Berlin', 'Rome')}\n")
    items = list(load(str(path), max_chars=MB))
    assert [type(i).__name__ for i in items] == ["Article", "LoadError", "Article"]
    assert items[1].where == f"{path}:3" and "over the" in items[1].reason
    assert isinstance(items[2], Article) and items[2].text.startswith("Rome")


def test_a_text_file_over_the_cap_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    _write(path, TEXT * (MB // len(TEXT) + 10))
    items = list(load(str(path), max_chars=MB))
    assert len(items) == 1 and isinstance(items[0], LoadError)
    assert items[0].where == str(path) and "max_record_chars" in items[0].reason


@pytest.mark.parametrize("text", ["x" * 300_000, "a," * 150_000, "." * 300_000])
def test_text_without_spaces_is_cut_to_the_model_window(embeddings, text: str) -> None:
    start = time.perf_counter()
    chunks = chunk_tokens("a", text, count_tokens=embeddings.count_tokens, max_tokens=200)
    assert time.perf_counter() - start < 60
    counts = embeddings.count_tokens([c.text for c, _ in chunks])
    assert max(counts) <= 200
    assert max(len(c.text) for c, _ in chunks) <= 200 * 100  # no megabyte chunks
    assert chunks[-1][0].end == len(text.rstrip(".")) or chunks[-1][0].end > len(text) - 200


@pytest.mark.timeout(300)
def test_a_damaged_store_is_a_one_line_error_and_rebuild_fixes_it(
    tmp_path: Path, embeddings
) -> None:
    src = tmp_path / "a.txt"
    _write(src)
    app = _app(tmp_path, embeddings)
    app.index([str(src)])
    db = app.settings.chroma_dir / "chroma.sqlite3"
    for damage in ("truncate", "overwrite"):
        if damage == "truncate":
            os.truncate(db, 5000)
        else:
            db.write_bytes(os.urandom(64 * 1024))
        broken = _app(tmp_path, embeddings)
        with pytest.raises(BackendError, match=r"is damaged \(.+\): run `articleqa reindex"):
            broken.stats()
        with pytest.raises(BackendError, match="is damaged"):
            list(broken.ask("When did the airport open?"))
        with pytest.raises(BackendError, match="is damaged"):
            broken.index([str(src)])
        rebuilt = _app(tmp_path, embeddings)
        assert rebuilt.rebuild().added == 1
        assert _app(tmp_path, embeddings).stats()["articles"] == 1
    assert len(list(app.settings.data_dir.glob("chroma.damaged-*"))) >= 1


def test_a_data_dir_that_is_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    f = tmp_path / "not-a-folder"
    f.write_text("x")
    result = CliRunner().invoke(cli, ["--data-dir", str(f), "stats"])
    assert isinstance(result.exception, ConfigError)
    assert "is not a folder" in str(result.exception)


def test_bad_k_is_refused_on_the_cli_and_the_api(tmp_path: Path) -> None:
    for command in (["search", "x", "--k", "-1"], ["ask", "x", "--k", "0"]):
        result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), *command])
        assert result.exit_code == 2 and "--k" in result.output
    assert check_k(0, default=5) == 5 and check_k(3, default=5) == 3
    for bad in (-5, 51, 2.5, "3"):
        with pytest.raises(InputError, match="k must be"):
            check_k(bad, default=5)


def test_far_dates_are_dates() -> None:
    assert parse_filters((), "2999-01-01", "2030-12-31").since == "2999-01-01"
    with pytest.raises(ConfigError, match="since: cannot read"):
        parse_filters((), "not a date", None)


def test_empty_questions_and_malformed_histories_are_one_line_errors(tmp_path: Path) -> None:
    for q in ("", "   \n"):
        with pytest.raises(InputError, match="the question is empty"):
            check_question(q)
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "ask", "  "])
    assert isinstance(result.exception, InputError)
    assert parse_history([{"role": "user", "content": "hi"}]) == [{"role": "user", "content": "hi"}]
    for bad, says in (
        ({"role": "user"}, "must be a list"),
        (["hi"], "turn 1 must be an object"),
        ([{"role": "bot", "content": "x"}], "turn 1: role"),
        ([{"role": "user", "content": ["x"]}], "turn 1: content must be text"),
    ):
        with pytest.raises(InputError, match=says):
            parse_history(bad)
    history = tmp_path / "h.json"
    history.write_text('[{"role": "user", "content": 3}]')
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path), "ask", "q", "--history", str(history)]
    )
    assert isinstance(result.exception, InputError) and "h.json: history turn 1" in str(
        result.exception
    )


def test_a_text_without_line_breaks_gets_a_short_title(tmp_path: Path) -> None:
    # The title is copied onto every chunk: a 1 MB first line as title cost gigabytes.
    path = tmp_path / "one-line.txt"
    _write(path, " ".join([TEXT] * 5000))
    (article,) = load(str(path))
    assert isinstance(article, Article)
    assert 100 < len(article.title) <= 300 and article.title.endswith("…")
