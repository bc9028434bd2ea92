"""Bytes to text: UTF-8 first, then charset detection; binary data is refused."""

from __future__ import annotations

import codecs

from qa.errors import LoadError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Enough to judge the encoding of a streamed file without reading all of it.
SAMPLE_BYTES = 64 * 1024
# Detection on short texts often ranks a rarer code page first by a hair. Windows-1252 (a
# superset of Latin-1) is by far the most common legacy encoding of Western news text, so it
# wins whenever it decodes nearly as cleanly as the top guess.
_PREFERRED = "cp1252"
_PREFERRED_SLACK = 0.1


def _valid_utf8(sample: bytes, complete: bool) -> bool:
    # A sample may end in the middle of a multi-byte character; only a complete text must end well.
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(sample: bytes, where: str, *, complete: bool = True) -> str:
    """Return the codec name for sample (the whole text when complete), or raise LoadError."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    if b"\x00" in sample:
        raise LoadError(where, "binary file")
    if _valid_utf8(sample, complete):
        return "utf-8"
    from charset_normalizer import from_bytes

    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        raise LoadError(where, "not valid UTF-8 and no encoding detected")
    for match in matches:
        if match.encoding == _PREFERRED and match.chaos <= best.chaos + _PREFERRED_SLACK:
            return _PREFERRED
    return best.encoding


def decode_bytes(data: bytes, where: str, declared: str = "") -> str:
    """Return data decoded as text (declared charset, UTF-8, or detected), or raise LoadError."""
    if declared:
        try:
            text = data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
        else:
            if "\x00" not in text:
                return text.removeprefix("\ufeff")
    return data.decode(detect_encoding(data, where), errors="replace").removeprefix("\ufeff")
