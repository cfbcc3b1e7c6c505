"""The console in a real browser (headless Chromium through Playwright): a failed execution shows
its failed state and error, the list filters and links, a running execution refreshes itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import state_machine
from tests.console.conftest import Console, MockedRuns
from workflow.console import browser
from workflow.console.screenshot import execution_url, screenshot_execution

pytestmark = pytest.mark.console


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    problem = browser.missing()
    if problem:
        pytest.skip(problem)
    with browser.chromium() as instance:
        yield instance


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    page = chromium.new_page(viewport={"width": 1400, "height": 950})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.set_default_timeout(15_000)
    yield page
    page.close()
    assert not problems, problems  # no script error, no refused resource, no CSP violation


def test_a_failed_execution_shows_its_failed_state_and_error(
    page: Any, console: Console, mocked_runs: MockedRuns
) -> None:
    page.goto(execution_url(console.url, mocked_runs.arns["ProjectFails"]))
    project = page.locator('#diagram .ef-node[data-state="Project"]')
    project.wait_for()
    assert project.get_attribute("data-outcome") == "failed"
    assert "ef-outcome-failed" in (project.get_attribute("class") or "")
    assert project.get_attribute("data-retries") == "3"
    assert "Lambda.ServiceException" in (project.text_content() or "")

    banner = page.locator("#execution-error")
    assert banner.is_visible()
    assert "Lambda.ServiceException" in banner.inner_text()

    # the failed state is selected at first: its error and retries are beside the graph
    assert page.locator("#selected-state").inner_text() == "Project"
    assert page.locator("#selected-error").is_visible()
    assert page.locator("#selected-error").inner_text() == "Lambda.ServiceException"
    assert page.locator("#selected-retries").inner_text() == "retries: 3"
    assert page.locator("#events tr.event.mine").count() >= 8  # Project's 4 attempts, each scheduled, started, failed

    outcomes = {
        name: page.locator(f'#diagram .ef-node[data-state="{name}"]').get_attribute("data-outcome")
        for name in ("Validate", "Store", "FanOut", "Notify", "Done")
    }
    assert outcomes == {
        "Validate": "succeeded",
        "Store": "succeeded",
        "FanOut": "failed",  # where the execution stopped, and where a redrive continues
        "Notify": "succeeded",
        "Done": "not_reached",
    }

    page.locator('#diagram .ef-node[data-state="Store"]').click()
    assert page.locator("#selected-state").inner_text() == "Store"
    assert page.locator("#state-panel [data-outcome]").first.get_attribute("data-outcome") == "succeeded"
    assert "ef-selected" in (page.locator('#diagram .ef-node[data-state="Store"]').get_attribute("class") or "")
    assert (
        '"TableName"' not in page.locator("#state-panel").inner_text()
    )  # the state's input and output, not its task's
    assert json.loads(page.locator("#state-panel pre.json").first.inner_text())["event"]["user_id"]

    page.locator('#events tr.event[data-state="Store"]').first.click()
    assert page.locator("#events tr.event-details pre").first.is_visible()


def test_an_uncaught_error_fails_in_its_state(page: Any, console: Console, mocked_runs: MockedRuns) -> None:
    page.goto(execution_url(console.url, mocked_runs.arns["ValidateUnhandledError"]))
    validate = page.locator('#diagram .ef-node[data-state="Validate"]')
    validate.wait_for()
    assert validate.get_attribute("data-outcome") == "failed"
    assert page.locator('#diagram .ef-node[data-state="IsValid"]').get_attribute("data-outcome") == "not_reached"
    assert "KeyError" in page.locator("#execution-error").inner_text()


def test_the_list_filters_failed_executions_and_links_to_them(
    page: Any, console: Console, mocked_runs: MockedRuns
) -> None:
    machine = quote(mocked_runs.machine_arn, safe="")
    page.goto(f"{console.url}#/?machine={machine}&status=FAILED")
    row = page.locator(f'#executions tr[data-arn="{mocked_runs.arns["ProjectFails"]}"]')
    row.wait_for()
    assert (
        page.locator("#executions tbody tr[data-status]").count()
        == page.locator('#executions tbody tr[data-status="FAILED"]').count()
    )
    assert "card.imported" in row.inner_text()
    assert mocked_runs.inputs["ProjectFails"]["event"]["user_id"] in row.inner_text()
    row.locator("a").first.click()
    page.locator('#diagram .ef-node[data-state="Project"][data-outcome="failed"]').wait_for()
    page.locator('[data-status="ALL"]').wait_for(state="detached")


def test_stored_event_lookup_finds_the_event_of_a_failed_follow_up(
    page: Any, console: Console, mocked_runs: MockedRuns
) -> None:
    event = mocked_runs.inputs["ProjectFails"]["event"]  # stored for real, then the execution failed in FanOut
    page.goto(f"{console.url}#/events?event={quote(event['event_id'])}")
    body = page.locator("#event-body")
    body.wait_for()
    assert json.loads(body.inner_text())["event_id"] == event["event_id"]
    page.locator("#q-user").fill(event["user_id"])
    page.locator("#q-user").press("Enter")
    page.locator("#timeline tr.item").first.wait_for()
    assert event["event_id"] in page.locator("#timeline").inner_text()


# Everything the diagram draws, as laid out by the browser: edges and labels inside the canvas,
# no label over another label or over a state.
DIAGRAM_PROBLEMS = """svg => {
  const problems = [];
  const canvas = svg.getBoundingClientRect();
  const rect = (node) => node.getBoundingClientRect();
  const inside = (b, what) => {
    const out = b.left < canvas.left - 1 || b.top < canvas.top - 1;
    if (out || b.right > canvas.right + 1 || b.bottom > canvas.bottom + 1) {
      problems.push(what + " runs past the canvas");
    }
  };
  const overlap = (a, b) =>
    a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  for (const edge of svg.querySelectorAll(".ef-wire")) {
    inside(rect(edge), "edge " + edge.dataset.from + " -> " + edge.dataset.to);
  }
  const labels = [...svg.querySelectorAll(".ef-wire-label")].map((l) => [l.firstChild.textContent, rect(l)]);
  const states = [...svg.querySelectorAll(".ef-state > rect, .ef-start > rect")]
    .map((r) => [r.parentNode.dataset.state || "Start", rect(r)]);
  labels.forEach(([text, box], i) => {
    inside(box, "label " + text);
    for (const [other, box2] of labels.slice(i + 1)) {
      if (overlap(box, box2)) problems.push("labels overlap: " + text + " / " + other);
    }
    for (const [name, box2] of states) {
      if (overlap(box, box2)) problems.push("label over state " + name + ": " + text);
    }
  });
  return problems;
}"""


def test_a_succeeded_execution_shows_no_stray_text_and_its_diagram_fits(
    page: Any, console: Console, mocked_runs: MockedRuns
) -> None:
    page.goto(execution_url(console.url, mocked_runs.arns["StoreThrottledThenOk"]))
    page.locator('#diagram .ef-node[data-state="Store"][data-outcome="retried"]').wait_for()
    assert page.locator(".exec-title .badge").inner_text().lower() == "succeeded"
    assert page.locator("#execution-error").count() == 0
    stray = page.locator("#view").evaluate(
        "view => [...view.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent)"
    )
    assert stray == []  # no "null" where a failed execution has its error banner
    assert page.locator("#diagram svg").evaluate(DIAGRAM_PROBLEMS) == []


def test_a_running_execution_refreshes_until_it_ends(page: Any, console: Console, runtime: Any) -> None:
    sfn = runtime.client("stepfunctions")
    definition = {
        "StartAt": "Pause",
        "States": {"Pause": {"Type": "Wait", "Seconds": 3, "Next": "Finish"}, "Finish": {"Type": "Pass", "End": True}},
    }
    machine = state_machine(sfn, definition, name="console-wait", role="eventflow-test")
    arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    page.goto(execution_url(console.url, arn))
    page.locator('#diagram .ef-node[data-state="Pause"][data-outcome="running"]').wait_for()
    assert page.locator("#live").is_visible()
    assert page.locator(".exec-title .badge").inner_text().lower() == "running"
    # no reload: the page polls every 2 s while the execution runs
    page.locator('#diagram .ef-node[data-state="Finish"][data-outcome="succeeded"]').wait_for(timeout=20_000)
    # the history can show the last state left a moment before the execution reports SUCCEEDED:
    # the next poll brings the status, and polling stops
    page.locator(".exec-title .badge", has_text="succeeded").wait_for(timeout=20_000)
    page.locator("#live").wait_for(state="hidden", timeout=5_000)
    assert page.locator(".exec-title .badge").inner_text().lower() == "succeeded"
    assert page.locator("#live").is_hidden()


def test_a_screenshot_of_an_execution(chromium: Any, console: Console, mocked_runs: MockedRuns, tmp_path: Path) -> None:
    arn = mocked_runs.arns["ProjectFails"]
    saved = screenshot_execution(console.url, arn, tmp_path / "console.png", browser=chromium)
    assert saved.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and saved.stat().st_size > 20_000
    # the command, with a browser of its own
    done = subprocess.run(
        [sys.executable, "-m", "workflow.console.screenshot", console.url, arn, "-o", str(tmp_path / "cli.png")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "cli.png").read_bytes().startswith(b"\x89PNG")
    keep = os.environ.get("EVENTFLOW_SCREENSHOT_TO")  # `make screenshot`: docs/console.md's picture
    if keep:
        shutil.copyfile(saved, keep)


def test_the_dashboard_shows_the_local_run_s_figures_as_they_change(page: Any, console: Console, runtime: Any) -> None:
    from tests.factories import card_imported
    from tests.waiting import eventually
    from workflow import bootstrap
    from workflow.dashboard import WIDGETS

    page.goto(f"{console.url}#/dashboard")
    page.locator("#dashboard .widget").nth(len(WIDGETS) - 1).wait_for()
    assert page.locator("#dashboard .widget").count() == len(WIDGETS)
    assert page.locator("#dashboard .widget h2").first.inner_text() == WIDGETS[0].title
    started = '#dashboard tr[data-key="workflow:eventflow:EventsStarted"] td.figure'
    before = float(page.locator(started).get_attribute("data-value") or 0)
    throttled = page.locator('#dashboard tr[data-key="function:Ingest:Throttles"]')
    assert throttled.locator("td.figure").inner_text() == "0" and "never throttles" in throttled.inner_text()

    event = card_imported(f"dash-{uuid.uuid4().hex[:8]}")
    bootstrap.publisher(runtime.settings()).publish(event)
    store = bootstrap.event_store(runtime.settings())
    eventually(lambda: store.get_event(event.event_id), what="stored")
    # no reload: the page reads the figures again every 2 s
    page.wait_for_function(
        "([selector, before]) => Number(document.querySelector(selector).dataset.value) > before",
        arg=[started, before],
        timeout=20_000,
    )
    assert page.locator("#live").is_visible()
