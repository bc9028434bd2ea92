"""Pure normalization: text, dates, sources and canonical URLs."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from ingest.normalize import canonical_url, normalize_text, one_line, parse_date, source_of


def test_normalize_text_unifies_whitespace_and_paragraphs() -> None:
    raw = "  Title\u00a0 here \r\n\r\n\r\n\n  First\t\tline  \rsecond   line \n\n\n\nLast.  \n"
    assert normalize_text(raw) == "Title here\n\nFirst line\nsecond line\n\nLast."


def test_normalize_text_composes_unicode_and_drops_controls() -> None:
    decomposed = "Cafe\u0301 \ufeffcre\u0300me\x00\x07"
    assert normalize_text(decomposed) == "Café crème"
    assert normalize_text("a\u2028b\u2029c") == "a\nb\nc"


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t\n", "\x00"])
def test_normalize_text_of_blank_is_empty(text: str) -> None:
    assert normalize_text(text) == ""


def test_normalize_text_is_idempotent() -> None:
    once = normalize_text(" A  b\r\n\r\n\r\nc\u00a0d \n")
    assert normalize_text(once) == once == "A b\n\nc d"


def test_one_line_folds_newlines() -> None:
    assert one_line("  Breaking:\n  Storm\tHits \n\n Coast ") == "Breaking: Storm Hits Coast"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2017-03-01", "2017-03-01"),
        ("2017-03-01 12:00:00", "2017-03-01T12:00:00"),
        ("2017-03-01T12:00:00Z", "2017-03-01T12:00:00"),
        ("2017-03-01T12:00:00.250Z", "2017-03-01T12:00:00"),
        ("2017-03-01T12:00:00+02:00", "2017-03-01T10:00:00"),
        ("2017-03-01T23:30:00-05:00", "2017-03-02T04:30:00"),
        ("Wed, 01 Mar 2017 12:00:00 GMT", "2017-03-01T12:00:00"),
        ("Wed, 01 Mar 2017 12:00:00 +0100", "2017-03-01T11:00:00"),
        ("Wed, 01 Mar 2017", "2017-03-01"),
        ("2017/2/7", "2017-02-07"),
        ("          2016/12/30 7:11", "2016-12-30T07:11:00"),
        ("March 1, 2017", "2017-03-01"),
        ("1 Mar 2017", "2017-03-01"),
        ("20170301", "2017-03-01"),
        ("1488369600", "2017-03-01T12:00:00"),
        (1488369600, "2017-03-01T12:00:00"),
        (1488369600000, "2017-03-01T12:00:00"),
        (1488369600.9, "2017-03-01T12:00:00"),
        (time.gmtime(1488369600), "2017-03-01T12:00:00"),
        (dt.date(2017, 3, 1), "2017-03-01"),
        (dt.datetime(2017, 3, 1, 12, 0, 5), "2017-03-01T12:00:05"),
        (
            dt.datetime(2017, 3, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=3))),
            "2017-02-28T22:00:00",
        ),
    ],
)
def test_parse_date_reads_common_formats(value: object, expected: str) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "garbage",
        "yesterday",
        "03/01/2017",
        "0001-01-01",
        "2017-13-45",
        None,
        True,
        float("nan"),
        float("inf"),
        10**30,
        [2017, 3, 1],
        {"date": "2017-03-01"},
    ],
)
def test_parse_date_returns_empty_instead_of_raising(value: object) -> None:
    assert parse_date(value) == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://www.bbc.co.uk/news/world-123", "bbc.co.uk"),
        ("HTTP://News.Example.COM:8080/a?b=c", "news.example.com"),
        ("http://wwwhat.example/", "wwwhat.example"),
        ("/home/me/news/2017/storm.txt", "storm.txt"),
        ("relative/dir/feed.xml", "feed.xml"),
        ("", ""),
    ],
)
def test_source_of(value: str, expected: str) -> None:
    assert source_of(value) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTPS://WWW.Example.com/a/b/?utm_source=x&id=3&fbclid=y#frag",
            "https://www.example.com/a/b?id=3",
        ),
        ("http://example.com", "http://example.com/"),
        ("http://example.com/", "http://example.com/"),
        ("http://Example.com:80/x/", "http://example.com/x"),
        ("https://example.com:443/x", "https://example.com/x"),
        ("https://e.com:8443/x?a=b%20c&UTM_Medium=z&gclid=1", "https://e.com:8443/x?a=b%20c"),
        ("https://e.com/x?b=2&a=1", "https://e.com/x?b=2&a=1"),
        ("https://e.com/Case/Path", "https://e.com/Case/Path"),
        ("  https://e.com/x  ", "https://e.com/x"),
        ("not a url", "not a url"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("HTTP://A.example/x/?utm_term=1&q=2#top")
    assert canonical_url(once) == once
