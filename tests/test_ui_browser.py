"""The chat UI in a real browser: Debian's chromium driven by playwright, the app served in this
process over real embeddings and real on-disk Chroma.

Set ARTICLEQA_SCREENSHOTS=docs to refresh docs/ui-chat.png and docs/ui-library.png.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qa.app import App
from tests.conftest import DATA, ROOT, SEED, make_settings, missing
from tests.ui_support import SEED_QUESTION, served, slow_fake

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INJECTION_QUESTION = "Which pier did the Gullport harbor council vote to close?"
FERRY_QUESTION = "How often will the harbor ferry run until the second boat returns?"
LAST_BOT = "[...document.querySelectorAll('#aq-chat [data-testid=bot]')].pop()"
SHOTS = os.environ.get("ARTICLEQA_SCREENSHOTS", "")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def ui_app(tmp_path_factory: pytest.TempPathFactory, embeddings) -> App:
    """The sample articles; the "local" backend is a fake model that streams slowly (the
    Advanced section switches to extractive)."""
    settings = make_settings(tmp_path_factory.mktemp("ui-browser"))
    app = App(settings.model_copy(update={"llm": "local"}))
    app.__dict__["embeddings"] = embeddings
    app.__dict__["llm"] = slow_fake()
    report = app.index([str(ROOT / "examples" / "articles")])
    assert report.added >= 5 and not report.failed
    return app


@pytest.fixture(scope="module")
def url(ui_app: App) -> Iterator[str]:
    with served(ui_app) as u:
        yield u


@pytest.fixture
def page(browser: Any, url: str) -> Iterator[Any]:
    """A fresh session on the app; after the test, no dialog opened and nothing was fetched
    from anywhere but the app itself."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
    pg = context.new_page()
    dialogs: list[str] = []
    outside: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.on("request", lambda r: None if r.url.startswith(url) else outside.append(r.url))
    pg.goto(url)
    pg.wait_for_selector("#aq-question textarea")
    pg.wait_for_selector("#aq-chat .example")  # the page's load event has filled things in
    yield pg
    context.close()
    assert dialogs == [], f"a dialog opened: {dialogs}"
    assert [u for u in outside if not u.startswith(("data:", "blob:"))] == []


def ask(page: Any, question: str) -> None:
    page.fill("#aq-question textarea", question)
    page.click("#aq-send")


def wait_answer(page: Any, count: int = 1) -> str:
    """Wait until the `count`-th answer is final (cited or refused); return its text."""
    page.wait_for_function(
        f"""() => {{
          const bots = document.querySelectorAll('#aq-chat [data-testid=bot]');
          const b = bots[{count - 1}];
          return bots.length === {count} && b &&
            (b.querySelector('a.aq-cite') || b.innerText.includes('do not say'));
        }}""",
        timeout=60_000,
    )
    return str(page.evaluate(f"{LAST_BOT}.innerText"))


def use_extractive(page: Any) -> None:
    page.get_by_text("Advanced").click()
    page.locator("#aq-backend").get_by_text("extractive").click()


def open_tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_streamed_answer_with_highlighted_snippet(page: Any) -> None:
    # Record every state of the answer bubble, to see the draft grow before the final answer.
    page.evaluate(
        """() => {
          window.aqSeen = [];
          new MutationObserver(() => {
            const b = [...document.querySelectorAll('#aq-chat [data-testid=bot]')].pop();
            if (b && window.aqSeen.at(-1) !== b.innerText) window.aqSeen.push(b.innerText);
          }).observe(document.querySelector('#aq-chat'),
                     {subtree: true, childList: true, characterData: true});
        }"""
    )
    ask(page, SEED_QUESTION)
    final = wait_answer(page)
    assert "Huawei" in final and "[1]" in final
    drafts = [s for s in page.evaluate("window.aqSeen") if s.startswith("Draft")]
    assert len(drafts) >= 3, drafts  # the model's words arrived a few at a time
    assert len(drafts[0]) < len(drafts[-1]) and "weird fashion" not in drafts[0]
    # The source panel: the cited sentence marked inside its paragraph of the seed article.
    mark = page.inner_text("#aq-sources .aq-context mark")
    context = page.inner_text("#aq-sources .aq-context")
    assert "abandon Huawei products" in mark and len(context) > len(mark)
    seed = " ".join(SEED.read_text().split())
    assert " ".join(mark.split()) in seed and " ".join(context.split()) in seed
    if SHOTS:
        page.locator("#aq-chat a.aq-cite").first.click()
        page.wait_for_selector("#aq-sources .aq-active")
        page.screenshot(path=str(Path(SHOTS) / "ui-chat.png"))


def test_citation_click_opens_that_answers_source(page: Any) -> None:
    use_extractive(page)
    ask(page, SEED_QUESTION)
    first = wait_answer(page)
    # Two quotes: a marker, a space, the next quote ("[1]“Now" ran them together).
    assert re.search(r"\[1\] “\w", first) and not re.search(r"\[\d+\][“\w]", first)
    ask(page, FERRY_QUESTION)
    assert "40 minutes" in wait_answer(page, 2)
    assert "harbor ferry" in page.inner_text("#aq-sources .aq-question").lower()
    # A citation in the first answer brings back the first answer's sources, at that card.
    page.locator("#aq-chat [data-testid=bot]").first.locator("a.aq-cite").first.click()
    page.wait_for_function(
        "document.querySelector('#aq-sources .aq-question')?.innerText.includes('South Korea')"
    )
    active = page.locator("#aq-sources .aq-active")
    assert active.get_attribute("id") == "aq-card-1" and "Huawei" in active.inner_text()
    assert active.is_visible()
    whole = active.locator(".aq-article")
    assert not whole.is_visible()
    active.get_by_text("Show whole article").click()
    assert whole.is_visible() and "ARM has also banned Huawei" in whole.inner_text()


def test_upload_in_library_then_ask_about_it(page: Any, tmp_path: Path) -> None:
    note = tmp_path / "lighthouse-keeper.md"
    note.write_text(
        "# Lighthouse keeper retires after forty years\n\nMarta Ilves switched on the "
        "Kessbay lighthouse lamp for the last time on Sunday, after forty years as its keeper. "
        "The light is now run automatically from the coastguard station.\n"
    )
    open_tab(page, "Library")
    page.set_input_files("#aq-upload input[type=file]", str(note))
    page.wait_for_function(
        "document.querySelector('#aq-summary textarea')?.value.startsWith('added 1,')",
        timeout=60_000,
    )
    summary = page.input_value("#aq-summary textarea")
    assert "failed 0" in summary and "unchanged" in summary and "removed 0" in summary
    row = page.locator("#aq-library").get_by_text("Lighthouse keeper retires after forty years")
    row = row.filter(visible=True)
    row.first.wait_for()
    if SHOTS:
        page.wait_for_timeout(1000)  # let the table's "updating" shade fade
        page.screenshot(path=str(Path(SHOTS) / "ui-library.png"), full_page=True)
    open_tab(page, "Chat")
    use_extractive(page)
    ask(page, "Who switched on the Kessbay lighthouse lamp for the last time?")
    assert "Marta Ilves" in wait_answer(page)
    assert "Lighthouse keeper retires" in page.inner_text("#aq-sources .aq-title")
    # Remove it again: click its row, then Remove.
    open_tab(page, "Library")
    row.first.click()
    page.wait_for_function(
        "document.querySelector('#aq-remove-target textarea, "
        "#aq-remove-target input')?.value.length > 0"
    )
    page.click("#aq-remove")
    page.wait_for_function(
        "document.querySelector('#aq-summary textarea')?.value.includes('removed 1 article')",
        timeout=30_000,
    )
    assert row.count() == 0


def test_library_titles_use_the_pages_font(page: Any) -> None:
    open_tab(page, "Library")
    library = page.locator("#aq-library")
    title = library.get_by_text("Harbor ferry service resumes after storm repairs", exact=True)
    title = title.filter(visible=True).first
    title.wait_for()
    header = library.get_by_text("Source", exact=True).filter(visible=True).first

    def font(element: Any) -> str:
        return str(element.evaluate("e => getComputedStyle(e).fontFamily"))

    fonts = [font(title), font(page.locator("#aq-stats")), font(header)]
    cell, page_font, header_font = fonts
    assert "monospace" not in cell and "monospace" not in header_font, fonts
    assert cell == page_font == header_font, fonts


def test_filters_and_an_answer_the_articles_do_not_hold(page: Any) -> None:
    use_extractive(page)
    page.locator("#aq-sources-filter input").click()
    page.get_by_role("option", name="example.org", exact=True).click()
    page.keyboard.press("Escape")
    ask(page, SEED_QUESTION)  # the seed article is not from example.org
    text = wait_answer(page)
    assert "The indexed articles do not say" in text
    panel = page.inner_text("#aq-sources")
    assert "do not answer this" in panel and "Huawei" not in panel
    assert "example.org" in panel
    # A date range that ends before the ferry story (2024-02-12) leaves it out.
    page.fill("#aq-until input", "2024-02-01")
    page.keyboard.press("Enter")
    ask(page, FERRY_QUESTION)
    assert "The indexed articles do not say" in wait_answer(page, 2)
    page.fill("#aq-until input", "2024-02-29")
    page.keyboard.press("Enter")
    ask(page, FERRY_QUESTION)
    assert "40 minutes" in wait_answer(page, 3)


def test_examples_copy_regenerate_clear(page: Any) -> None:
    use_extractive(page)
    examples = page.locator("#aq-chat .example")
    assert examples.count() >= 2 and "What does the article" in examples.first.inner_text()
    examples.first.click()
    answer = wait_answer(page)
    page.click("#aq-copy")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(answer.split(" [1]")[0]) and "Sources:" in copied
    page.click("#aq-regenerate")
    page.wait_for_timeout(500)
    assert wait_answer(page) == answer  # the same single exchange, answered again
    page.click("#aq-clear")
    page.wait_for_function("document.querySelectorAll('#aq-chat [data-testid=bot]').length == 0")
    assert "appear here" in page.inner_text("#aq-sources")


@pytest.fixture
def injection(ui_app: App) -> Iterator[None]:
    """An article full of script and markdown tricks, indexed for one test."""
    source = str(DATA / "ui" / "injection.json")
    assert ui_app.index([source]).added == 1
    yield
    ui_app.remove(source)


def test_injection_article_runs_nothing(injection: None, page: Any) -> None:
    use_extractive(page)
    ask(page, INJECTION_QUESTION)
    text = wait_answer(page)
    # Shown as the text it is...
    assert "<script>window.__pwned='script'" in text
    for summary in page.locator("#aq-sources summary").all():
        summary.click()  # open every "show whole article"
    panel = page.inner_text("#aq-sources")
    assert "<img src=x onerror=" in panel and "[here](javascript:" in panel
    assert "{{constructor.constructor" in panel and "${window.__pwned='template'}" in panel
    page.hover("#aq-sources .aq-meta")
    page.locator("#aq-sources-filter input").click()  # the hostile source as a filter option
    page.keyboard.press("Escape")
    open_tab(page, "Library")  # and its title in the table
    page.locator("#aq-library").get_by_text("Gullport").filter(visible=True).first.wait_for()
    page.wait_for_timeout(500)
    # ...and nothing of it ran or became markup.
    assert page.evaluate("window.__pwned") is None
    for root in ("#aq-chat .message-content", "#aq-sources .prose", "#aq-library table"):
        assert page.locator(f"{root} :is(script, img, iframe, style, svg[onload])").count() == 0
    assert page.locator("[onerror], [onload], [onmouseover], a[href^='javascript']").count() == 0


@pytest.fixture(autouse=True, scope="module")
def _screenshot_dir() -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
