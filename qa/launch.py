"""What the command line gave: the global options and a command's own --llm, turned into the one
App (and its Settings) that the command runs with.

The group's options come before the subcommand is parsed, and a command's own --llm after, so
Settings are built when the command runs, once, with both; the command's value wins.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, TypeVar

import click

from qa.app import App
from qa.settings import LLM_BACKENDS, load_settings

F = TypeVar("F", bound=Callable[..., Any])


class Launch:
    """The Settings overrides named on the command line, and the App built from them."""

    def __init__(self, **overrides: Any) -> None:
        self.overrides = {k: v for k, v in overrides.items() if v is not None}
        self._app: App | None = None

    @property
    def flags(self) -> dict[str, str]:
        """Setting name -> the flag that set it (what `articleqa config` reports)."""
        return {name: "--" + name.replace("_", "-") for name in self.overrides}

    def app(self, llm: str | None = None) -> App:
        """The App of this run: Settings built on the first call, with `llm` (a command's own
        --llm) over the global one."""
        if self._app is None:
            if llm is not None:
                self.overrides["llm"] = llm
            self._app = App(load_settings(**self.overrides))
        return self._app


def llm_option(f: F) -> F:
    """The --llm option of a command that answers (also accepted before the command)."""
    option = click.option(
        "--llm",
        type=click.Choice(LLM_BACKENDS),
        help="Answer backend (ARTICLEQA_LLM); wins over an --llm before the command.",
    )
    return option(f)


def pass_app(f: F) -> F:
    """Call the command with the App as its first argument (its --llm, if any, consumed)."""

    def run(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        launch = ctx.find_object(Launch)
        if launch is None:  # a command invoked on its own (tests): no global options
            launch = ctx.ensure_object(Launch)
        return ctx.invoke(f, launch.app(kwargs.pop("llm", None)), *args, **kwargs)

    return update_wrapper(run, f)  # type: ignore[return-value]
