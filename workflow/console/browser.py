"""Headless Chromium for the console's browser test and its screenshots: Debian's ``chromium``
driven by Playwright's Python package. ``playwright install`` (a browser download) is not used."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ENV_CHROMIUM = "EVENTFLOW_CHROMIUM"
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "the console's browser test needs Playwright's Python package and a Chromium: "
    "`.venv/bin/pip install playwright` and `apt-get install -y chromium` "
    f"(or set {ENV_CHROMIUM} to a Chromium binary); do not run `playwright install`"
)


class BrowserUnavailable(RuntimeError):
    pass


def chromium_path() -> str | None:
    configured = os.environ.get(ENV_CHROMIUM)
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for candidate in CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing() -> str | None:
    """What is missing to drive a browser, or None when everything is there."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: " + INSTALL_HINT
    if chromium_path() is None:
        return "no Chromium found: " + INSTALL_HINT
    return None


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium, closed afterwards."""
    problem = missing()
    if problem:
        raise BrowserUnavailable(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
