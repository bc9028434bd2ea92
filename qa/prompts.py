"""Prompt templates are package files (prompts/*.txt), rendered strictly.

`string.Template.substitute` raises on a missing variable, and we also reject variables the
template does not use, so a renamed placeholder fails loudly instead of silently vanishing.
"""

from __future__ import annotations

import functools
import string
from importlib import resources

from qa.errors import ConfigError


@functools.cache
def template(name: str) -> string.Template:
    """The template prompts/<name>.txt."""
    try:
        text = resources.files("prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"prompt template {name!r} not found in prompts/") from None
    return string.Template(text)


def render(name: str, **values: object) -> str:
    """Fill a template; every placeholder must be given and every value used."""
    tpl = template(name)
    wanted = set(tpl.get_identifiers())
    if missing := wanted - values.keys():
        raise ConfigError(f"prompt {name!r}: missing {sorted(missing)}")
    if extra := values.keys() - wanted:
        raise ConfigError(f"prompt {name!r}: unused {sorted(extra)}")
    return tpl.substitute({k: str(v) for k, v in values.items()}).strip()
