"""The ingest read path: every format, every failure, ids, folders and URLs (local server)."""

from __future__ import annotations

import gzip
import importlib.util
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ingest.loaders import SUPPORTED_SUFFIXES, article_id, load
from ingest.loaders.files import human_size
from qa.errors import LoadError
from qa.types import Article

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared"
# The F1 the shipped extractor reaches on the shared benchmark (docs/html_extraction.md).
HTML_F1_REACHED = 0.9744
HTML_F1_MARGIN = 0.005


def split(items: Iterator[Article | LoadError]) -> tuple[list[Article], list[LoadError]]:
    """Return the articles and the errors of a load, each in order."""
    got = list(items)
    assert all(isinstance(x, Article | LoadError) for x in got)
    return [x for x in got if isinstance(x, Article)], [x for x in got if isinstance(x, LoadError)]


def one(source: str | Path, **kwargs: Any) -> Article:
    """Load a single-article source and return its article."""
    articles, errors = split(load(str(source), **kwargs))
    assert errors == [], [str(e) for e in errors]
    assert len(articles) == 1
    return articles[0]


def error_of(source: str | Path, **kwargs: Any) -> LoadError:
    """Load a source that must fail as a whole and return its one error."""
    articles, errors = split(load(str(source), **kwargs))
    assert articles == []
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


# --- plain text and markdown ---------------------------------------------------------------


def test_txt_title_text_and_metadata() -> None:
    a = one(DATA / "article.txt")
    path = str(DATA / "article.txt")
    assert a.title == "City Council Approves New Bike Lanes on Main Street"
    assert a.text.startswith("City Council Approves New Bike Lanes on Main Street\n\nThe city")
    assert a.text.count("\n\n") == 3
    assert a.text.endswith("cost about $3.2 million.")
    assert (a.path, a.origin, a.source, a.url, a.published) == (path, path, "article.txt", "", "")
    assert a.id == article_id(path=path)


def test_md_title_strips_hashes_and_text_is_normalized() -> None:
    a = one(DATA / "article.md")
    assert a.title == "Harbor Bridge Reopens After Two-Year Repair"
    assert "cables and widened the pedestrian walkway to three meters.\nThe repair" in a.text
    assert "\n\n\n" not in a.text
    assert "\n\nOfficials expect about 30,000 vehicles" in a.text


def test_latin1_text_is_detected() -> None:
    a = one(DATA / "latin1.txt")
    assert a.title == "Le marché de Noël ouvre ses portes à Strasbourg"
    assert "décorations façonnées à la main" in a.text
    assert "\ufffd" not in a.text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("\ufeffBOM title\n\nBody.".encode(), "BOM title"),
        ("UTF-16 title\n\nBödy.".encode("utf-16"), "UTF-16 title"),
    ],
)
def test_byte_order_marks_are_honoured(tmp_path: Path, data: bytes, expected: str) -> None:
    (tmp_path / "a.txt").write_bytes(data)
    assert one(tmp_path / "a.txt").title == expected


def test_binary_file_is_one_error() -> None:
    e = error_of(DATA / "binary.txt")
    assert (e.where, e.reason) == (str(DATA / "binary.txt"), "binary file")


def test_undecodable_bytes_are_one_error(tmp_path: Path) -> None:
    (tmp_path / "noise.txt").write_bytes(bytes(range(1, 256)) * 8)
    assert error_of(tmp_path / "noise.txt").reason == "not valid UTF-8 and no encoding detected"


@pytest.mark.parametrize("content", [b"", b"  \n\n\t \r\n"])
def test_empty_file_is_one_error(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "blank.md").write_bytes(content)
    assert error_of(tmp_path / "blank.md").reason == "empty file"
    assert error_of(DATA / "empty.txt").reason == "empty file"


def test_file_over_the_size_limit_is_one_error() -> None:
    e = error_of(DATA / "article.txt", max_bytes=100)
    assert e.reason == "file is 610 bytes, over the 100 bytes limit"


def test_size_messages_use_readable_units() -> None:
    assert human_size(120 * 1024 * 1024) == "120 MB"
    assert human_size(50 * 1024 * 1024) == "50 MB"
    assert human_size(1536) == "1.5 KB"
    assert human_size(12) == "12 bytes"


def test_unsupported_and_missing_files_are_errors(tmp_path: Path) -> None:
    assert error_of(DATA / "notes.xyz").reason == "unsupported file type .xyz"
    (tmp_path / "README").write_text("no suffix")
    assert error_of(tmp_path / "README").reason == "unsupported file type (no suffix)"
    e = error_of(tmp_path / "nope.txt")
    assert (e.where, e.reason) == (str(tmp_path / "nope.txt"), "no such file or directory")
    assert error_of("").reason == "empty source"


def test_supported_suffixes() -> None:
    for suffix in (".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".csv", ".xml", ".rss"):
        assert suffix in SUPPORTED_SUFFIXES
    assert {".atom", ".csv.gz", ".jsonl.gz"} <= set(SUPPORTED_SUFFIXES)


# --- ids -----------------------------------------------------------------------------------


def test_ids_are_stable_and_follow_the_file_not_the_text(tmp_path: Path) -> None:
    target = tmp_path / "story.txt"
    shutil.copy(DATA / "article.txt", target)
    first, again = one(target), one(target)
    assert first == again
    target.write_text("City Council Delays Bike Lanes\n\nThe vote was postponed to May.\n")
    edited = one(target)
    assert edited.id == first.id
    assert edited.text != first.text and edited.hash != first.hash
    copy = tmp_path / "copy.txt"
    shutil.copy(target, copy)
    assert one(copy).id != edited.id


def test_relative_paths_are_made_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)
    a = one("article.txt")
    assert a.path == a.origin == str(DATA / "article.txt")
    assert a.id == one(DATA / "article.txt").id


def test_article_id_shapes() -> None:
    ids = {
        article_id(path="/a.jsonl", record=1),
        article_id(path="/a.jsonl", record=2),
        article_id(path="/a.jsonl"),
        article_id(url="https://e.com/x"),
        article_id(text="Some text"),
    }
    assert len(ids) == 5
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)
    assert article_id(url="HTTPS://E.com/x/?utm_source=a#c") == article_id(url="https://e.com/x")
    assert article_id(text=" Some\t text \n") == article_id(text="Some text")


# --- HTML ----------------------------------------------------------------------------------


def test_html_page_main_text_and_metadata() -> None:
    a = one(DATA / "article.html")
    assert a.title == "Wind Farm Off Coast Powers 300,000 Homes"
    assert a.author == "Maria Alvarez"
    assert a.published == "2019-11-18"
    assert a.url == "https://www.dailyledger.example/energy/wind-farm-powers-homes"
    assert a.source == "dailyledger.example"
    assert a.path == str(DATA / "article.html")
    assert "uses 84 turbines, each taller than a 60-story building." in a.text
    assert a.text.endswith("pending approval by the national energy regulator.")
    assert a.text.count("\n\n") >= 4  # paragraphs survive for chunking
    for boilerplate in ("Subscribe today", "birds", "Copyright", "Most read", "Privacy", "track"):
        assert boilerplate not in a.text


def test_html_without_article_text_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "blank.html").write_text("<html><head><title>x</title></head><body></body></html>")
    assert error_of(tmp_path / "blank.html").reason == "no article text found in the HTML"


# --- JSON, JSONL, CSV ----------------------------------------------------------------------


def test_json_list_with_field_aliases() -> None:
    articles, errors = split(load(str(DATA / "articles.json")))
    assert errors == []
    rail, museum = articles
    path = str(DATA / "articles.json")
    assert rail.title == "Rail Strike Ends After Deal on Wages"
    assert rail.text.startswith("Train drivers ended a five-day strike")
    assert "\n\nServices will return to normal by Sunday" in rail.text
    assert rail.url == "https://news.example.com/business/rail-strike-ends/?utm_campaign=feed"
    assert rail.source == "news.example.com"
    assert rail.published == "2017-03-03T16:45:00"
    assert rail.author == "Sam Okafor, Ines Duarte"
    assert rail.id == article_id(path=path, record=1)
    assert museum.text.startswith("The national museum returned 12 bronze statues")
    assert (museum.published, museum.source, museum.url) == ("2017-03-02", "Culture Weekly", "")
    assert museum.id == article_id(path=path, record=2)


def test_json_single_object_and_wrapped_list() -> None:
    drought = one(DATA / "article.json")
    assert drought.published == "2017-03-01T12:00:00"  # from an epoch number
    assert drought.source == "water-news.example"
    assert drought.id == article_id(path=str(DATA / "article.json"))
    articles, errors = split(load(str(DATA / "wrapped.json")))
    assert errors == []
    assert [a.title for a in articles] == [
        "Volcano Erupts Near Tourist Village",
        "Record Crowd at Marathon",
    ]
    assert articles[0].published == "2017-02-26T08:15:00"


def test_malformed_json_names_the_line() -> None:
    e = error_of(DATA / "malformed.json")
    assert e.where == str(DATA / "malformed.json")
    assert e.reason == "invalid JSON at line 3: Expecting ',' delimiter"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("[]", "no articles in JSON list"),
        ('"just a string"', "expected a JSON object or a list of objects"),
        ('{"title": "only a title"}', "no text (expected a text, content or body field)"),
    ],
)
def test_json_without_articles_is_an_error(tmp_path: Path, content: str, reason: str) -> None:
    (tmp_path / "x.json").write_text(content)
    assert error_of(tmp_path / "x.json").reason == reason


def test_json_list_with_a_bad_item_keeps_the_others(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('[{"text": "Good one."}, 42, {"text": ""}]')
    articles, errors = split(load(str(tmp_path / "x.json")))
    assert [a.text for a in articles] == ["Good one."]
    path = str(tmp_path / "x.json")
    assert [(e.where, e.reason) for e in errors] == [
        (f"{path}:2", "expected an object, got int"),
        (f"{path}:3", "no text (expected a text, content or body field)"),
    ]


def test_jsonl_bad_lines_are_reported_and_good_ones_kept() -> None:
    path = str(DATA / "articles.jsonl")
    articles, errors = split(load(path))
    assert [a.title for a in articles] == [
        "Solar Car Crosses Desert",
        "Telescope Spots Distant Galaxy",
    ]
    solar, telescope = articles
    assert solar.published == "2017-03-05T14:20:00"
    assert solar.source == "science.example.org"
    assert (
        telescope.text
        == "Astronomers using a new telescope spotted a galaxy 13 billion light-years away."
    )
    assert (telescope.published, telescope.author) == ("2017-03-06", "R. Iyer")
    assert solar.id == article_id(path=path, record=1)
    assert telescope.id == article_id(path=path, record=5)
    assert [e.where for e in errors] == [f"{path}:2", f"{path}:3"]
    assert errors[0].reason.startswith("invalid JSON at column")
    assert errors[1].reason == "no text (expected a text, content or body field)"


def test_csv_with_the_corpus_columns() -> None:
    path = str(DATA / "news.csv")
    articles, errors = split(load(path))
    assert [a.title for a in articles] == [
        "Senate Passes Budget After All-Night Session",
        "Farmers Protest Fuel Tax",
        "Chip Maker Opens Plant, Hires 2,000",
    ]
    senate, farmers, chips = articles
    assert senate.url == "http://abcnews.example.com/Politics/senate-vote-budget/story?id=45310061"
    assert (senate.source, senate.published) == ("abcnews.example.com", "2017-02-07")
    # The subtitle leads the text; the multi-line quoted cell keeps its paragraphs.
    assert farmers.text == (
        "Thousands of tractors blocked roads around the capital.\n\n"
        "Farmers drove tractors into the capital on Wednesday to protest a new fuel tax, "
        "blocking roads for hours.\n\n"
        "Police said about 5,000 vehicles took part, the largest protest of its kind in a decade."
    )
    assert farmers.source == "world-report.example"
    assert chips.published == "2016-12-30T07:11:00"
    assert [a.id for a in articles] == [article_id(path=path, record=n) for n in (1, 2, 4)]
    assert [(e.where, e.reason) for e in errors] == [
        (f"{path}:6", "no text (expected a text, content or body field)")
    ]


def test_csv_cells_bigger_than_the_csv_module_default(tmp_path: Path) -> None:
    body = "word " * 60_000  # 300 KB, over csv's 128 KiB default field limit
    (tmp_path / "big.csv").write_text(f'title,text\nBig,"{body}"\n')
    assert len(one(tmp_path / "big.csv").text) == len(body.strip())


def test_csv_without_a_text_column_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("title,url\nA,https://e.com/a\n")
    assert (
        error_of(tmp_path / "x.csv").reason
        == "no text column (expected one of: text, content, body)"
    )


@pytest.mark.parametrize("name", ["news.csv", "articles.jsonl"])
def test_gzipped_records_read_like_plain_ones(tmp_path: Path, name: str) -> None:
    packed = tmp_path / f"{name}.gz"
    packed.write_bytes(gzip.compress((DATA / name).read_bytes()))
    plain, plain_errors = split(load(str(DATA / name)))
    unpacked, unpacked_errors = split(load(str(packed)))
    assert [(a.title, a.text, a.url, a.published) for a in unpacked] == [
        (a.title, a.text, a.url, a.published) for a in plain
    ]
    assert [e.reason for e in unpacked_errors] == [e.reason for e in plain_errors]
    assert {a.path for a in unpacked} == {str(packed)}


def test_broken_gzip_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "x.csv.gz").write_bytes(b"title,text\nnot,gzipped\n")
    assert error_of(tmp_path / "x.csv.gz").reason.startswith("not a valid gzip file")


def test_latin1_csv_is_detected(tmp_path: Path) -> None:
    text = "Le café de la gare a fermé après 80 ans; les habitués regrettent déjà l'ambiance."
    (tmp_path / "fr.csv").write_bytes(f"title,text\nCafé fermé,{text}\n".encode("latin-1"))
    a = one(tmp_path / "fr.csv")
    assert (a.title, a.text) == ("Café fermé", text)


@pytest.mark.skipif(not (SHARED / "corpus").is_dir(), reason="needs ../shared/corpus")
def test_the_shared_news_corpus_streams() -> None:
    path = SHARED / "corpus" / "news-articles-2017.csv.gz"
    articles, errors = split(load(str(path)))
    assert (len(articles), len(errors)) == (3788, 36)
    assert articles[0].title.startswith("Betsy DeVos Confirmed as Education Secretary")
    assert articles[0].source == "abcnews.go.com"
    assert all(a.text and a.published[:4] in ("2016", "2017") for a in articles[:500])
    assert len({a.id for a in articles}) == len(articles)


# --- feeds ---------------------------------------------------------------------------------


def test_rss_feed_entries() -> None:
    path = str(DATA / "rss.xml")
    articles, errors = split(load(path))
    assert errors == []
    storm, market = articles
    assert storm.title == "Storm Closes Ports Along the Coast"
    # content:encoded wins over the short description; scripts are dropped.
    assert storm.text == (
        "Authorities closed five ports on Wednesday as a storm with winds of 120 km/h approached "
        "the coast.\n\nFerries were cancelled and residents were told to stay indoors."
    )
    assert storm.url == "https://www.coastaltimes.example/news/storm-closes-ports"
    assert (storm.source, storm.author) == ("coastaltimes.example", "Ana Lopes")
    assert storm.published == "2017-03-01T11:00:00"
    assert storm.path == path
    assert market.text.startswith("The city's fish market moved into a new hall on Tuesday")
    assert market.published == "2017-02-28T08:30:00"
    # Entries are keyed by their link, so a feed that grows at the top keeps its ids.
    assert [a.id for a in articles] == [article_id(path=f"{path}#{a.url}") for a in articles]


def test_atom_feed_entries() -> None:
    articles, errors = split(load(str(DATA / "atom.atom")))
    assert errors == []
    avalanche, school = articles
    assert avalanche.title == "Avalanche Warning Raised to Level Four"
    assert avalanche.text.endswith("fresh snow.\n\nSki routes above 2,000 meters are closed.")
    assert (avalanche.author, avalanche.published) == ("Petra Huber", "2017-03-04T08:15:00")
    assert avalanche.url == "https://gazette.example.net/2017/03/avalanche-warning"
    assert school.text == "Pupils moved into the new village school on Friday."
    assert school.published == "2017-03-03T15:00:00"  # <updated> when <published> is missing


def test_xml_file_is_sniffed_as_a_feed(tmp_path: Path) -> None:
    shutil.copy(DATA / "atom.atom", tmp_path / "gazette.xml")
    articles, _ = split(load(str(tmp_path / "gazette.xml")))
    assert [a.title for a in articles][0] == "Avalanche Warning Raised to Level Four"
    assert error_of(DATA / "sitemap.xml").reason == "XML file is not an RSS or Atom feed"


def test_malformed_feed_is_one_error() -> None:
    e = error_of(DATA / "malformed.rss")
    assert e.where == str(DATA / "malformed.rss")
    assert e.reason.startswith("not a valid feed:")


def test_feed_with_xml_errors_but_entries_still_loads(tmp_path: Path) -> None:
    rss = (DATA / "rss.xml").read_text().replace("Ports were closed", "Ports & harbors were closed")
    (tmp_path / "loose.rss").write_text(rss)
    articles, errors = split(load(str(tmp_path / "loose.rss")))
    assert errors == []
    assert [a.title for a in articles] == [
        "Storm Closes Ports Along the Coast",
        "Fish Market Moves to New Hall",
    ]


def test_feed_entry_without_text_is_reported(tmp_path: Path) -> None:
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Empty</title><link>https://e.com/empty</link></item>"
        "<item><title>Full</title><description>Some real text.</description></item>"
        "</channel></rss>"
    )
    (tmp_path / "f.rss").write_text(rss)
    articles, errors = split(load(str(tmp_path / "f.rss")))
    assert [a.text for a in articles] == ["Some real text."]
    assert [(e.where, e.reason) for e in errors] == [(f"{tmp_path / 'f.rss'}:1", "no text")]


# --- folders -------------------------------------------------------------------------------


def test_folder_is_recursive_sorted_and_skips_hidden(tmp_path: Path) -> None:
    root = tmp_path / "news"
    (root / "b_sub").mkdir(parents=True)
    (root / ".git").mkdir()
    shutil.copy(DATA / "article.txt", root / "z.txt")
    shutil.copy(DATA / "article.md", root / "a.md")
    shutil.copy(DATA / "articles.jsonl", root / "b_sub" / "more.jsonl")
    (root / ".hidden.txt").write_text("Secret\n\nnot to be loaded")
    (root / ".git" / "notes.txt").write_text("Internal\n\nnot to be loaded")
    (root / "b_sub" / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (root / "b_sub" / "loop").symlink_to(root, target_is_directory=True)
    (root / "b_sub" / "again.txt").symlink_to(root / "z.txt")
    articles, errors = split(load(str(root)))
    assert [Path(a.path).name for a in articles] == ["a.md", "z.txt", "more.jsonl", "more.jsonl"]
    assert {a.origin for a in articles} == {str(root)}
    assert [(Path(e.where).name, e.reason) for e in errors] == [
        ("more.jsonl:2", errors[0].reason),
        ("more.jsonl:3", "no text (expected a text, content or body field)"),
        ("photo.png", "unsupported file type .png"),
    ]
    assert not any("not to be loaded" in a.text for a in articles)


def test_one_broken_parser_does_not_stop_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.loaders import files

    def explode(html: str, url: str = "") -> None:
        raise RuntimeError("parser crashed")

    monkeypatch.setattr(files, "extract_page", explode)
    shutil.copy(DATA / "article.html", tmp_path / "a.html")
    shutil.copy(DATA / "article.txt", tmp_path / "b.txt")
    articles, errors = split(load(str(tmp_path)))
    assert [Path(a.path).name for a in articles] == ["b.txt"]
    assert [(e.where, e.reason) for e in errors] == [
        (str(tmp_path / "a.html"), "could not be read (RuntimeError: parser crashed)")
    ]


# --- URLs (a local server, never the internet) ---------------------------------------------

Route = tuple[int, dict[str, str], bytes] | Callable[[], tuple[int, dict[str, str], bytes]]


def _slow() -> tuple[int, dict[str, str], bytes]:
    time.sleep(1.5)
    return 200, {"Content-Type": "text/plain"}, b"too late"


ROUTES: dict[str, Route] = {
    "/article.html": (
        200,
        {"Content-Type": "text/html; charset=utf-8"},
        (DATA / "article.html").read_bytes(),
    ),
    "/feed": (200, {"Content-Type": "application/rss+xml"}, (DATA / "rss.xml").read_bytes()),
    "/atom-as-text-xml": (200, {"Content-Type": "text/xml"}, (DATA / "atom.atom").read_bytes()),
    "/note.txt": (
        200,
        {"Content-Type": "text/plain; charset=utf-8"},
        (DATA / "article.txt").read_bytes(),
    ),
    "/latin1": (
        200,
        {"Content-Type": "text/plain; charset=iso-8859-1"},
        (DATA / "latin1.txt").read_bytes(),
    ),
    "/unlabelled": (200, {}, (DATA / "article.html").read_bytes()),
    "/old": (301, {"Location": "/article.html"}, b""),
    "/gone": (404, {"Content-Type": "text/html"}, b"<h1>Not found</h1>"),
    "/broken": (500, {"Content-Type": "text/plain"}, b"oops"),
    "/big": (200, {"Content-Type": "text/plain"}, b"big words " * 2000),
    "/octets": (
        200,
        {"Content-Type": "application/octet-stream"},
        (DATA / "binary.txt").read_bytes(),
    ),
    "/report.pdf": (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4 ..."),
    "/sitemap": (200, {"Content-Type": "application/xml"}, (DATA / "sitemap.xml").read_bytes()),
    "/empty": (200, {"Content-Type": "text/plain"}, b""),
    "/slow": _slow,
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        route = ROUTES.get(self.path, (404, {}, b""))
        status, headers, body = route() if callable(route) else route
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (timeout and size-limit tests)

    def log_message(self, format: str, *args: object) -> None:
        pass


PRIVATE = {"allow_private": True}  # the test server is on loopback (tests/test_netguard.py)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """Base URL of a local HTTP server serving ROUTES."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_url_html_page(server: str) -> None:
    url = f"{server}/article.html"
    a = one(url, **PRIVATE)
    assert a.title == "Wind Farm Off Coast Powers 300,000 Homes"
    assert "uses 84 turbines" in a.text and "Subscribe today" not in a.text
    assert a.url == "https://www.dailyledger.example/energy/wind-farm-powers-homes"
    assert (a.path, a.origin, a.author) == ("", url, "Maria Alvarez")
    assert a.id == article_id(url=url) == one(url, **PRIVATE).id


def test_url_redirect_is_followed(server: str) -> None:
    a = one(f"{server}/old", **PRIVATE)
    assert a.title == "Wind Farm Off Coast Powers 300,000 Homes"
    assert a.id == article_id(url=f"{server}/old")


def test_url_feed_entries_are_identified_by_their_links(server: str) -> None:
    articles, errors = split(load(f"{server}/feed", **PRIVATE))
    assert errors == []
    assert [a.title for a in articles] == [
        "Storm Closes Ports Along the Coast",
        "Fish Market Moves to New Hall",
    ]
    assert [a.id for a in articles] == [article_id(url=a.url) for a in articles]
    assert {a.origin for a in articles} == {f"{server}/feed"}
    atom, _ = split(load(f"{server}/atom-as-text-xml", **PRIVATE))
    assert [a.title for a in atom][0] == "Avalanche Warning Raised to Level Four"


def test_url_plain_text(server: str) -> None:
    a = one(f"{server}/note.txt", **PRIVATE)
    assert a.title == "City Council Approves New Bike Lanes on Main Street"
    assert (a.url, a.source) == (f"{server}/note.txt", "127.0.0.1")
    assert "Noël" in one(f"{server}/latin1", **PRIVATE).title


def test_url_without_content_type_is_sniffed(server: str) -> None:
    a = one(f"{server}/unlabelled", **PRIVATE)
    assert a.title == "Wind Farm Off Coast Powers 300,000 Homes"


@pytest.mark.parametrize(
    ("path", "kwargs", "reason"),
    [
        # At a private address a status or a timeout tells nothing about what listens there.
        ("/gone", {}, "could not fetch"),
        ("/broken", {}, "could not fetch"),
        ("/big", {"max_bytes": 5000}, "response is over the 4.9 KB limit (19.5 KB+)"),
        ("/octets", {}, "binary file"),
        ("/report.pdf", {}, "unsupported content type application/pdf"),
        ("/sitemap", {}, "application/xml document is not an RSS or Atom feed"),
        ("/empty", {}, "empty response"),
        ("/slow", {"timeout": 0.3}, "could not fetch"),
    ],
)
def test_url_failures_are_one_error(
    server: str, path: str, kwargs: dict[str, Any], reason: str
) -> None:
    e = error_of(f"{server}{path}", **kwargs, **PRIVATE)
    assert (e.where, e.reason) == (f"{server}{path}", reason)


def test_url_connection_refused_is_one_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    e = error_of(f"http://127.0.0.1:{port}/x", timeout=2, **PRIVATE)
    assert e.reason == "could not fetch"
    refused = error_of(f"http://127.0.0.1:{port}/x", timeout=2)
    assert "127.0.0.1 is a loopback address" in refused.reason


# --- HTML extraction quality on the shared benchmark ---------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    not (SHARED / "eval" / "article-extraction").is_dir(), reason="needs ../shared/eval"
)
def test_html_extraction_f1_on_the_shared_benchmark() -> None:
    spec = importlib.util.spec_from_file_location(
        "html_bench", ROOT / "bench" / "html_extraction.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    pages = bench.load_pages(SHARED / "eval" / "article-extraction")
    # Local files carry no page URL, so measure the extractor the way the file loader calls it.
    scores = bench.score(bench.shipped_extractor(with_url=False), pages)
    assert len(scores) == 121
    assert sum(scores.values()) / len(scores) >= HTML_F1_REACHED - HTML_F1_MARGIN


def test_records_keep_their_own_ids_as_source_id(tmp_path: Path) -> None:
    path = str(DATA / "news.csv")
    articles, _ = split(load(path))
    assert [a.source_id for a in articles] == ["1", "2", "4"]  # the CSV's article_id column
    assert [a.id for a in articles] == [article_id(path=path, record=n) for n in (1, 2, 4)]
    (tmp_path / "x.json").write_text(
        '[{"id": 901, "text": "Numbered one."}, {"guid": "g-7", "text": "Guid two."},'
        ' {"text": "No id three."}]'
    )
    (tmp_path / "x.jsonl").write_text('{"ID": "ab-12", "text": "Upper-case key."}\n')
    got, errors = split(load(str(tmp_path)))
    assert errors == []
    assert [(a.text, a.source_id) for a in got] == [
        ("Numbered one.", "901"),
        ("Guid two.", "g-7"),
        ("No id three.", ""),
        ("Upper-case key.", "ab-12"),
    ]
    # The source's id is kept beside ours, never instead of it.
    assert got[0].id == article_id(path=str(tmp_path / "x.json"), record=1)
