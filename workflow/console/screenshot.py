"""A PNG of the console's view of one execution (for docs/console.md, or a bug report).

.venv/bin/python -m workflow.console.screenshot http://127.0.0.1:8080/ EXECUTION_ARN -o console.png
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from workflow.console.browser import BrowserUnavailable, chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser


def execution_url(console_url: str, execution_arn: str, state: str | None = None) -> str:
    url = console_url.rstrip("/") + "/#/execution/" + quote(execution_arn, safe="")
    return url + ("?state=" + quote(state, safe="") if state else "")


def screenshot_execution(
    console_url: str,
    execution_arn: str,
    path: str | Path,
    *,
    state: str | None = None,
    width: int = 1480,
    height: int = 1150,
    full_page: bool = False,
    timeout: float = 30.0,
    browser: Browser | None = None,
) -> Path:
    """Open the execution in headless Chromium (`browser`, or one started for this), wait until
    its graph is drawn and the selected state shown, save a PNG."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with chromium() if browser is None else nullcontext(browser) as active:
        page = active.new_page(viewport={"width": width, "height": height})
        try:
            page.goto(execution_url(console_url, execution_arn, state), timeout=timeout * 1000)
            page.wait_for_selector("#diagram svg .ef-node[data-outcome]", timeout=timeout * 1000)
            page.wait_for_selector("#state-panel h2", timeout=timeout * 1000)
            page.screenshot(path=str(target), full_page=full_page)
        finally:
            page.close()
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workflow.console.screenshot", description=__doc__)
    parser.add_argument("console_url", help="the console, e.g. http://127.0.0.1:8080/")
    parser.add_argument("execution_arn")
    parser.add_argument("-o", "--output", default="console.png")
    parser.add_argument("--state", help="the state to select (default: the failed one, else the last)")
    parser.add_argument("--width", type=int, default=1480)
    parser.add_argument("--height", type=int, default=1150)
    parser.add_argument("--full-page", action="store_true")
    args = parser.parse_args(argv)
    try:
        saved = screenshot_execution(
            args.console_url,
            args.execution_arn,
            args.output,
            state=args.state,
            width=args.width,
            height=args.height,
            full_page=args.full_page,
        )
    except BrowserUnavailable as error:
        sys.stderr.write(f"screenshot: {error}\n")
        return 2
    sys.stdout.write(f"{saved}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
