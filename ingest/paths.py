"""File names as the OS gives them and as they may be stored and shown.

On Linux a file name is bytes; Python hands names that are not valid UTF-8 over as `str` with
lone surrogates (PEP 383), which open() accepts but Chroma, JSON output and terminals reject.
Such a name is read with its real (escaped) name, stored and shown with U+FFFD in place of the
bad bytes, and identified by its raw bytes, so that two names differing only there stay apart.
"""

from __future__ import annotations

import os
import stat

# The file kinds that can be read without blocking: a FIFO or a device opened for reading
# waits for a writer or never ends.
_KINDS = (
    (stat.S_ISDIR, "folder"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


def raw_bytes(path: str) -> bytes:
    """The bytes the OS knows path by (surrogate escapes turned back into their bytes)."""
    try:
        return os.fsencode(path)
    except UnicodeEncodeError:  # a surrogate that no OS name produced: keep what can be kept
        return path.encode("utf-8", "replace")


def is_clean(path: str) -> bool:
    """True when path is valid UTF-8 text (nothing to replace before storing or printing)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(path: str) -> str:
    """path as valid UTF-8 for storing and printing: undecodable bytes become U+FFFD."""
    if is_clean(path):
        return path
    return raw_bytes(path).decode("utf-8", "replace")


def identity(path: str) -> str:
    """A stable key for path: the path itself when clean, else its shown form plus its raw
    bytes in hex (two names that show the same stay two files)."""
    if is_clean(path):
        return path
    return f"{shown(path)}\x00{raw_bytes(path).hex()}"


def within(path: str, folder: str) -> bool:
    """True when path is folder or lies under it (compared as text: both as the OS names them,
    or both as stored)."""
    return bool(path) and (path == folder or path.startswith(folder.rstrip(os.sep) + os.sep))


def not_regular(path: str) -> str:
    """Why path cannot be read as a file ("" when it is a regular file or missing), found with
    stat() alone: opening a FIFO to look would block."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return ""  # missing or unreadable: the caller's open() reports it
    if stat.S_ISREG(mode):
        return ""
    for test, kind in _KINDS:
        if test(mode):
            return f"not a regular file ({kind})"
    return "not a regular file"
