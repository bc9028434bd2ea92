"""Pure text, date and URL normalization shared by every loader."""

from __future__ import annotations

import re
import time
import unicodedata
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import PurePath
from urllib.parse import urlsplit, urlunsplit

# Unicode spaces that show up in scraped news (NBSP, thin and em spaces...) count as blanks,
# so that search and chunking see one plain space between words.
_BLANKS = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
# Control characters other than tab/newline only ever come from broken encodings.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85\x0b\x0c]")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """Return NFC text with unified newlines, single spaces, paragraphs split by one blank line."""
    text = unicodedata.normalize("NFC", _NEWLINES.sub("\n", text))
    text = _CONTROLS.sub("", text)
    lines = (_BLANKS.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def one_line(text: str) -> str:
    """Return text normalized and folded onto a single line (titles, authors)."""
    return " ".join(normalize_text(text).split())


# Tried in order after ISO 8601 and RFC 822; day-first numeric dates are left out on purpose
# because "03/01/2017" is ambiguous and a wrong date is worse than none.
_DATE_FORMATS = (
    ("%Y/%m/%d %H:%M:%S", True),
    ("%Y/%m/%d %H:%M", True),
    ("%Y/%m/%d", False),
    ("%Y-%m-%d %H:%M", True),
    ("%Y.%m.%d", False),
    ("%B %d, %Y %H:%M", True),
    ("%B %d, %Y", False),
    ("%b %d, %Y", False),
    ("%d %B %Y", False),
    ("%d %b %Y", False),
    ("%a, %d %b %Y", False),
)
_MIN_YEAR, _MAX_YEAR = 1800, 2200


def _to_utc_naive(value: datetime) -> datetime:
    if value.tzinfo is not None and value.utcoffset() is not None:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None, microsecond=0)


def _format(value: datetime | date, with_time: bool) -> str:
    if not _MIN_YEAR <= value.year <= _MAX_YEAR:
        return ""
    if isinstance(value, datetime):
        value = _to_utc_naive(value)
        return value.isoformat() if with_time else value.date().isoformat()
    return value.isoformat()


def _from_epoch(seconds: float) -> str:
    # Feeds and JSON exports use milliseconds as often as seconds.
    if abs(seconds) > 1e11:
        seconds /= 1000
    try:
        return _format(datetime.fromtimestamp(seconds, UTC), True)
    except (OverflowError, OSError, ValueError):
        return ""


def _from_string(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        return ""
    if re.fullmatch(r"-?\d{9,13}(\.\d+)?", value):
        return _from_epoch(float(value))
    iso = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(iso)
        return _format(parsed, with_time=bool(re.search(r"\d[T ]\d", iso)))
    except ValueError:
        pass
    try:
        return _format(parsedate_to_datetime(value), True)
    except (TypeError, ValueError, IndexError):
        pass
    for fmt, with_time in _DATE_FORMATS:
        try:
            return _format(datetime.strptime(value, fmt), with_time)
        except ValueError:
            continue
    return ""


def parse_date(value: object) -> str:
    """Return value as ISO 8601 "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS" in UTC, "" if unparseable."""
    try:
        if value is None or isinstance(value, bool):
            return ""
        if isinstance(value, datetime | date):
            return _format(value, True)
        if isinstance(value, time.struct_time):
            return _format(datetime(*value[:6]), True)
        if isinstance(value, int | float):
            return _from_epoch(float(value))
        if isinstance(value, str):
            return _from_string(value)
    except (ValueError, OverflowError, TypeError):
        pass
    return ""


def parse_filter_date(value: object) -> str:
    """A date bound given by the user (--since, --until): any valid ISO 8601 date, however far
    off (the plausible-year window is for dates found in articles), else what parse_date reads."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    return parse_date(value)


def is_url(value: str) -> bool:
    """Return True when value is an http(s) URL rather than a local path."""
    return value.strip().lower().startswith(("http://", "https://"))


ONLY_HTTP = "only http(s) URLs are fetched"


def has_scheme(value: str) -> bool:
    """Return True when value starts like a URL of any scheme (`file://`, `ftp://`...)."""
    return re.match(r"^[a-z][a-z0-9+.-]*://", value.strip(), re.I) is not None


def source_of(url_or_path: str) -> str:
    """Return the domain of a URL (without "www.") or the file name of a path."""
    if is_url(url_or_path):
        host = (urlsplit(url_or_path.strip()).hostname or "").lower()
        return host.removeprefix("www.")
    return PurePath(url_or_path).name


# Parameters that only say how a reader arrived at the page; the page is the same without them.
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "cmpid",
        "ncid",
        "sr_share",
        "smid",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name in _TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """Return url with lowercase scheme/host and no fragment, tracking parameters or final "/"."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        host = f"{userinfo}@{host}"
    # Filter the raw "name=value" pairs so the kept ones stay encoded exactly as given.
    query = "&".join(
        pair for pair in parts.query.split("&") if pair and not _is_tracking(pair.split("=")[0])
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((scheme, host, path, query, ""))
