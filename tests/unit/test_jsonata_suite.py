"""JSONata's own test suite (jsonata-js/jsonata v2.0.6, test/test-suite, vendored in
tests/jsonata_suite) on the engine of the local Step Functions, as workflow/asl/jsonata.py compiles
expressions: Step Functions implements JSONata 2.0.6, every built-in function but $eval
(https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html, "Supported JSONata
version"). The same run as `python -m workflow.drills.jsonata_suite`."""

from __future__ import annotations

import pytest

from workflow.drills import jsonata_suite

# The cases that raise an error, as they should, with another code than jsonata-js's harness
# expects: id -> (expected, raised), and why.
KNOWN_CODE_MISMATCHES = {
    # the expression holds a lone surrogate ("\ud800"), which a Python string cannot hand to Rust:
    # UnicodeEncodeError at compile, no code
    "function-encodeUrl/case002": ("D3140", jsonata_suite.NO_CODE),
    "function-encodeUrlComponent/case002": ("D3140", jsonata_suite.NO_CODE),
    # $string(1/0): jlens reports the division's infinite result (D1001), jsonata-js $string's (D3001)
    "function-string/case019": ("D3001", "D1001"),
    # U1001 is the harness's own code for its time and depth box; jlens's limits raise D1011
    # (too deep) and D1012 (too long)
    "tail-recursion/case002": ("U1001", "D1011"),
    "tail-recursion/case005": ("U1001", "D1011"),
    "tail-recursion/case006": ("U1001", "D1012"),
}


@pytest.fixture(scope="module")
def report() -> jsonata_suite.Report:
    source, cases = jsonata_suite.load()
    return jsonata_suite.Report(source, jsonata_suite.run(cases), repeat=1)


def test_every_case_of_jsonata_2_0_6s_suite_passes(report: jsonata_suite.Report) -> None:
    assert report.source["tag"] == "v2.0.6"
    assert len(report.outcomes) == 1625
    assert [f"{outcome.case.id}: {outcome.detail}" for outcome in report.failed] == []


def test_error_codes_are_jsonata_js_s_but_for_the_known_few(report: jsonata_suite.Report) -> None:
    assert report.code_mismatches == KNOWN_CODE_MISMATCHES


def test_the_cases_of_eval_which_step_functions_refuses_run_without_its_functions(
    report: jsonata_suite.Report,
) -> None:
    """With Step Functions' functions registered, $eval refuses; the suite's $eval cases check
    jsonata's own, and every other case runs with them."""
    calling = [outcome.case for outcome in report.outcomes if outcome.case.calls_eval]
    assert len(calling) == 12 and all(case.id.startswith("function-eval/") for case in calling)
    refused = jsonata_suite.run_case(calling[0], step_functions=True)
    assert not refused.passed and "use $parse" in refused.detail
