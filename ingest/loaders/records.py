"""Article records from JSON, JSONL and CSV: one mapping of field names to article fields."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from typing import TextIO

from ingest.loaders.articles import article_id, build_article
from ingest.normalize import normalize_text
from qa.errors import LoadError
from qa.types import Article

# Field names seen in news exports; the first one present (and not blank) wins.
TEXT_FIELDS = ("text", "content", "body")
URL_FIELDS = ("url", "link", "article_source_link")
DATE_FIELDS = ("published", "date", "publish_date")
AUTHOR_FIELDS = ("author", "authors")
# The news corpus stores each article's deck here; it is the article's summary lead, so it
# belongs to the searchable text unless the body already repeats it.
SUBTITLE_FIELD = "subtitle"
# CSV cells hold whole articles; the csv module's default cap is 128 KiB.
_CSV_FIELD_LIMIT = 2**31 - 1


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


def jsonl_articles(stream: TextIO, path: str, *, origin: str) -> Iterator[Article | LoadError]:
    """Yield one article per non-blank line of a JSON Lines stream; a bad line is one error."""
    for line_no, line in enumerate(stream, 1):
        if not line.strip():
            continue
        where = f"{path}:{line_no}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            yield LoadError(where, f"invalid JSON at column {e.colno}: {e.msg}")
            continue
        yield _attempt(record, where, path, line_no, origin)


def csv_articles(stream: TextIO, path: str, *, origin: str) -> Iterator[Article | LoadError]:
    """Yield one article per CSV row (header names as in JSON records), streaming the file."""
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    reader = csv.DictReader(stream)
    try:
        columns = {str(name).strip().lower() for name in reader.fieldnames or ()}
    except csv.Error as e:
        raise LoadError(path, f"invalid CSV header: {e}") from None
    if not columns & set(TEXT_FIELDS):
        raise LoadError(path, f"no text column (expected one of: {', '.join(TEXT_FIELDS)})")
    number = 0
    while True:
        line_no = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            # The reader cannot resynchronize after a broken quote; stop with what was read.
            yield LoadError(f"{path}:{line_no}", f"invalid CSV: {e}")
            return
        number += 1
        yield _attempt(row, f"{path}:{line_no}", path, number, origin)
