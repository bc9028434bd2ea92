"""Article records from JSON, JSONL and CSV: one mapping of field names to article fields."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from typing import TextIO

from ingest.loaders.articles import article_id, build_article
from ingest.normalize import normalize_text
from ingest.paths import shown
from qa.errors import LoadError
from qa.types import Article

# Field names seen in news exports; the first one present (and not blank) wins.
TEXT_FIELDS = ("text", "content", "body")
URL_FIELDS = ("url", "link", "article_source_link")
DATE_FIELDS = ("published", "date", "publish_date")
AUTHOR_FIELDS = ("author", "authors")
# The record's own id in its export, kept as `source_id` (our ids follow the file and row).
ID_FIELDS = ("article_id", "id", "guid", "uuid")
# The news corpus stores each article's deck here; it is the article's summary lead, so it
# belongs to the searchable text unless the body already repeats it.
SUBTITLE_FIELD = "subtitle"
# A record's text is capped by the caller (max_record_chars); the raw line or CSV field it
# comes in may be somewhat longer (other fields, JSON escapes), up to this many times the cap.
_RAW_FACTOR = 2


def _first(record: Mapping[str, object], fields: tuple[str, ...]) -> object:
    for name in fields:
        value = record.get(name)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return value
    return ""


def record_article(
    record: object, where: str, *, path: str, number: int | None, origin: str
) -> Article:
    """Return the Article of one JSON/CSV record, or raise LoadError(where) if it has no text."""
    if not isinstance(record, Mapping):
        raise LoadError(where, f"expected an object, got {type(record).__name__}")
    fields = {str(k).strip().lower(): v for k, v in record.items() if k is not None}
    text = _first(fields, TEXT_FIELDS)
    if not isinstance(text, str) or not text.strip():
        raise LoadError(where, "no text (expected a text, content or body field)")
    subtitle = fields.get(SUBTITLE_FIELD)
    if isinstance(subtitle, str) and normalize_text(subtitle) not in normalize_text(text):
        text = f"{subtitle}\n\n{text}"
    url = _first(fields, URL_FIELDS)
    return build_article(
        where,
        text=text,
        id=article_id(path=path, record=number),
        title=fields.get("title", ""),
        url=url if isinstance(url, str) else "",
        path=path,
        source=fields.get("source", ""),
        published=_first(fields, DATE_FIELDS),
        author=_first(fields, AUTHOR_FIELDS),
        origin=origin,
        source_id=_first(fields, ID_FIELDS),
    )


def _attempt(
    record: object, where: str, path: str, number: int | None, origin: str
) -> Article | LoadError:
    # A bad record is reported in place so that the rest of the file still loads.
    try:
        return record_article(record, where, path=path, number=number, origin=origin)
    except LoadError as error:
        return error


def json_articles(text: str, path: str, *, origin: str) -> Iterator[Article | LoadError]:
    """Yield the articles of a JSON document: an object, a list, or {"articles": [...]}."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise LoadError(path, f"invalid JSON at line {e.lineno}: {e.msg}") from None
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if isinstance(data, dict):
        yield _attempt(data, path, path, None, origin)
        return
    if not isinstance(data, list):
        raise LoadError(path, "expected a JSON object or a list of objects")
    if not data:
        raise LoadError(path, "no articles in JSON list")
    for number, item in enumerate(data, 1):
        yield _attempt(item, f"{path}:{number}", path, number, origin)


def over_limit(where: str, size: int, max_chars: int) -> LoadError:
    """The error for one record whose text is longer than max_chars ("size+": at least)."""
    return LoadError(
        where,
        f"record is {size:,}+ characters, over the {max_chars:,}-character limit "
        "(max_record_chars): not indexed",
    )


def _capped(item: Article | LoadError, where: str, max_chars: int) -> Article | LoadError:
    if isinstance(item, Article) and len(item.text) > max_chars:
        return over_limit(where, len(item.text), max_chars)
    return item


def bounded_lines(stream: TextIO, limit: int) -> Iterator[str | int]:
    """The lines of stream, each read at most `limit` characters at a time: a longer line is
    skipped to its end unread and given as its length (an int), so memory stays bounded."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or line.endswith("\n"):
            yield line
            continue
        size = len(line)
        while line and not line.endswith("\n"):
            line = stream.readline(limit)
            size += len(line)
        yield size


def jsonl_articles(
    stream: TextIO, path: str, *, origin: str, max_chars: int = 2 * 1024 * 1024
) -> Iterator[Article | LoadError]:
    """Yield one article per non-blank line of a JSON Lines stream; a bad line is one error.
    A line over the record cap (max_chars, with room for other fields) is skipped unread."""
    shown_path = shown(path)
    for line_no, line in enumerate(bounded_lines(stream, _RAW_FACTOR * max_chars), 1):
        where = f"{shown_path}:{line_no}"
        if isinstance(line, int):
            yield over_limit(where, line, max_chars)
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            yield LoadError(where, f"invalid JSON at column {e.colno}: {e.msg}")
            continue
        yield _capped(_attempt(record, where, path, line_no, origin), where, max_chars)


class _Pieces:
    """A text stream as lines of at most `limit` characters (longer ones come in pieces), with
    the quote parity of what was handed out, so a reader can skip to the end of a record."""

    def __init__(self, stream: TextIO, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.quotes = 0  # '"' characters handed out: odd means inside a quoted field
        self.last = "\n"  # the last piece handed out

    def __iter__(self) -> _Pieces:
        return self

    def __next__(self) -> str:
        piece = self.stream.readline(self.limit)
        if not piece:
            raise StopIteration
        self.quotes += piece.count('"')
        self.last = piece
        return piece

    def skip_record(self) -> int:
        """Read on to the end of the record being read (outside quotes, at a line end);
        return how many characters were skipped."""
        size = 0
        while not (self.quotes % 2 == 0 and self.last.endswith("\n")):
            try:
                size += len(next(self))
            except StopIteration:
                break
        return size


def csv_articles(
    stream: TextIO, path: str, *, origin: str, max_chars: int = 2 * 1024 * 1024
) -> Iterator[Article | LoadError]:
    """Yield one article per CSV row (header names as in JSON records), streaming the file.
    A field over the record cap (max_chars) stops being read there: its row is one error."""
    # The csv module stops a field at its limit (global to the module: set for each file).
    csv.field_size_limit(max_chars)
    pieces = _Pieces(stream, _RAW_FACTOR * max_chars)
    reader = csv.DictReader(pieces)
    shown_path = shown(path)
    try:
        columns = {str(name).strip().lower() for name in reader.fieldnames or ()}
    except csv.Error as e:
        raise LoadError(path, f"invalid CSV header: {e}") from None
    if not columns & set(TEXT_FIELDS):
        raise LoadError(path, f"no text column (expected one of: {', '.join(TEXT_FIELDS)})")
    number = 0
    while True:
        line_no = reader.line_num + 1
        where = f"{shown_path}:{line_no}"
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            if "field limit" in str(e):
                number += 1  # ids count rows: the rows after this one keep theirs
                skipped = pieces.skip_record()
                yield over_limit(where, max_chars + skipped, max_chars)
                continue
            # The reader cannot resynchronize after a broken quote; stop with what was read.
            yield LoadError(where, f"invalid CSV: {e}")
            return
        number += 1
        yield _capped(_attempt(row, where, path, number, origin), where, max_chars)
