"""JSONPath in the Amazon States Language (workflow.asl.paths): paths, InputPath/OutputPath,
ResultPath and payload templates, as AWS documents them.

- Paths and reference paths: https://states-language.net/spec.html#path and #ref-paths
- Payload templates: https://states-language.net/spec.html#payload-template
- InputPath, Parameters: https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
- ResultPath: https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html
- OutputPath: https://docs.aws.amazon.com/step-functions/latest/dg/input-output-example.html
- Error names: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conformance.case import Case
from tests.unit.asl_cases import cases, run
from workflow.asl.paths import MISSING, NoSuchPath, compile_input_path, compile_path, compile_result_path
from workflow.asl.templates import compile_expression, compile_template
from workflow.asl.values import AslError, DefinitionError, Scope

SCOPE = Scope(context={"Execution": {"Id": "arn:x", "Input": {"k": "v"}}, "Map": {"Item": {"Index": 2}}})
MOVIES = {"movies": [{"title": "Alien", "year": 1979}, {"title": "Heat", "year": 1995}]}


@pytest.mark.parametrize("case", cases("paths", "pass", "context"), ids=lambda case: case.id)
def test_conformance_case(case: Case) -> None:
    """The conformance cases of paths, Pass and the context object (each names its doc section)."""
    case.verify(run(case))


# --- paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "definite", "value"),
    [
        ("$", True, MOVIES),
        ("$.movies[1].title", True, "Heat"),  # spec #ref-paths: an index then a field, one value
        ("$.movies[0]", True, MOVIES["movies"][0]),
        ("$['movies'][1]['year']", True, 1995),  # the guide's bracket notation
        ('$["movies"][-1].title', True, "Heat"),  # Jayway's negative index: the last
        ("$.movies[*].title", False, ["Alien", "Heat"]),  # a wildcard selects a list
        ("$.movies[0:1]", False, [MOVIES["movies"][0]]),  # a slice selects a list
        ("$.movies[0,1].year", False, [1979, 1995]),
        ("$..year", False, [1979, 1995]),
        ("$.movies[?(@.year > 1990)].title", False, ["Heat"]),
        ("$.movies[?(@.year > 2000)].title", False, []),  # nothing matched: an empty list
        ("$.nothing[*]", False, []),
    ],
)
def test_paths_select_one_value_or_a_list(text: str, definite: bool, value: Any) -> None:
    """Developer guide, "Paths": a reference path (fields and single indexes) selects one value;
    any other path the list of what it matches."""
    path = compile_path(text)
    assert (path.text, path.definite) == (text, definite)
    assert path(MOVIES, SCOPE) == value


def test_field_names_with_special_characters() -> None:
    data = {"first name": "Hanako", "delivery-partner": "UQS", "a'b": 1, "weird:key": 2}
    assert compile_path("$['first name']")(data, SCOPE) == "Hanako"
    assert compile_path("$.delivery-partner")(data, SCOPE) == "UQS"
    assert compile_path("$['a\\'b']")(data, SCOPE) == 1
    assert compile_path("$.weird:key")(data, SCOPE) == 2


def test_context_paths_read_the_context_object() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html: `$$`."""
    assert compile_path("$$.Execution.Id")({}, SCOPE) == "arn:x"
    assert compile_path("$$.Map.Item.Index")({}, SCOPE) == 2
    assert compile_path("$$")({}, SCOPE) is SCOPE.context
    assert compile_path("$$.Execution.Input.k").definite


def test_variables_are_read_from_the_scope() -> None:
    scope = Scope(context={}, variables={"order": {"lines": [{"sku": "A"}]}})
    assert compile_path("$order.lines[0].sku")({}, scope) == "A"
    assert compile_path("$order.lines[*].sku")({}, scope) == ["A"]
    with pytest.raises(AslError, match="not defined"):
        compile_path("$other")({}, scope)
    assert not compile_path("$other.x").exists({}, scope)


@pytest.mark.parametrize(
    ("text", "data", "rendered"),
    [
        ("$.missing", {"a": 1}, "$['missing']"),
        ("$.a.b", {"a": 1}, "$['a']['b']"),
        ("$.a[3]", {"a": [1]}, "$['a'][3]"),
        ("$.a[0]", {"a": {"0": 1}}, "$['a'][0]"),  # an index reads arrays only
        ("$.a.x", {"a": [1]}, "$['a']['x']"),  # a field reads objects only
    ],
)
def test_a_definite_path_that_matches_nothing_is_states_runtime(text: str, data: Any, rendered: str) -> None:
    """Error handling guide: an InputPath or OutputPath that matches nothing fails with States.Runtime."""
    path = compile_path(text)
    with pytest.raises(NoSuchPath) as raised:
        path(data, SCOPE)
    assert raised.value.error == "States.Runtime"
    assert raised.value.cause == f"Invalid path '{text}' : No results for path: {rendered}"
    assert not path.exists(data, SCOPE)
    assert path.get(data, SCOPE) is MISSING and path.get(data, SCOPE, None) is None


def test_exists_and_get() -> None:
    data = {"a": None, "l": []}
    assert compile_path("$.a").exists(data, SCOPE)  # present, even null
    assert compile_path("$.a").get(data, SCOPE) is None
    assert not compile_path("$.l[*]").exists(data, SCOPE)
    assert compile_path("$.l[*]").get(data, SCOPE) == []


@pytest.mark.parametrize("text", ["", "a.b", "$.", "$.a[", "$.a b", "$[?(", "$$$", 5, None])
def test_invalid_paths_are_definition_errors(text: Any) -> None:
    with pytest.raises(DefinitionError, match="JSONPath"):
        compile_path(text)


# --- InputPath, OutputPath -------------------------------------------------------------------


def test_input_path_absent_null_and_path() -> None:
    """InputPath guide: absent is `$`; null discards the input (the state sees {}); a path selects."""
    data = {"a": {"b": 1}, "c": 2}
    assert compile_input_path(None, False)(data, SCOPE) is data
    assert compile_input_path("$", True)(data, SCOPE) is data
    empty = compile_input_path(None, True)
    assert empty(data, SCOPE) == {} and empty(data, SCOPE) is not empty(data, SCOPE)
    assert compile_input_path("$.a", True)(data, SCOPE) == {"b": 1}
    with pytest.raises(AslError, match=r"Invalid path '\$.x'"):
        compile_input_path("$.x", True)(data, SCOPE)
    with pytest.raises(DefinitionError):
        compile_input_path("nope", True)


# --- ResultPath ------------------------------------------------------------------------------


def test_result_path_absent_root_and_null() -> None:
    """ResultPath guide: `$` (the default) replaces the input with the result; null keeps the input."""
    state_input, result = {"a": 1}, {"r": 1}
    assert compile_result_path(None, False)(state_input, result) is result
    assert compile_result_path("$", True)(state_input, result) is result
    assert compile_result_path(None, True)(state_input, result) is state_input


def test_result_path_writes_a_copy_creating_objects_and_sharing_the_rest() -> None:
    """ResultPath guide: the result is inserted at the path, creating the fields that are missing."""
    kept = {"deep": [1, 2]}
    state_input = {"a": {"keep": True}, "other": kept}
    before = copy.deepcopy(state_input)
    output = compile_result_path("$.a.b.c", True)(state_input, 5)
    assert output == {"a": {"keep": True, "b": {"c": 5}}, "other": {"deep": [1, 2]}}
    assert state_input == before  # the input is left as it was
    assert output["other"] is kept  # what the path does not cross is shared, not copied
    assert compile_result_path("$.a", True)({"a": "old", "b": 1}, "new") == {"a": "new", "b": 1}


def test_result_path_into_an_array_index() -> None:
    state_input = {"l": [{"v": 0}, {"v": 1}]}
    output = compile_result_path("$.l[1].v", True)(state_input, 9)
    assert output == {"l": [{"v": 0}, {"v": 9}]} and state_input == {"l": [{"v": 0}, {"v": 1}]}
    assert output["l"][0] is state_input["l"][0]
    with pytest.raises(AslError) as raised:
        compile_result_path("$.l[5]", True)(state_input, 9)
    assert raised.value.error == "States.ResultPathMatchFailure"


@pytest.mark.parametrize(
    ("text", "state_input"),
    [("$.x", "just text"), ("$.x", [1, 2]), ("$.x", None), ("$.a.b", {"a": "text"}), ("$.a.b", {"a": None})],
)
def test_result_path_through_a_non_object_is_result_path_match_failure(text: str, state_input: Any) -> None:
    """Error handling guide: States.ResultPathMatchFailure, "a state's ResultPath field cannot be
    applied to the input the state received"."""
    with pytest.raises(AslError) as raised:
        compile_result_path(text, True)(state_input, 1)
    assert raised.value.error == "States.ResultPathMatchFailure"
    assert raised.value.cause.startswith(f'Unable to apply ResultPath "{text}" to input ')


@pytest.mark.parametrize("text", ["$.a[*]", "$..a", "$$.Execution", "x", 3])
def test_result_path_must_be_a_reference_path(text: Any) -> None:
    """Spec #ref-paths: ResultPath is a reference path (fields and single indexes of the input)."""
    with pytest.raises(DefinitionError):
        compile_result_path(text, True)


# --- payload templates -----------------------------------------------------------------------


def test_template_binds_paths_in_nested_objects_and_arrays() -> None:
    """Spec #payload-template (the spec's own example), and templates inside arrays."""
    template = compile_template(
        {
            "flagged": True,
            "parts": {"first.$": "$.vals[0]", "last.$": "$.vals[3]"},
            "weekday.$": "$.weekday",
            "list": [{"a.$": "$.vals[1]"}, "literal", 3, ["x", {"b.$": "$$.Execution.Id"}]],
            "formatted.$": "States.Format('{} is {}', $.weekday, $.vals[2])",
            "everything.$": "$",
        }
    )
    data = {"vals": [0, 10, 20, 30], "weekday": "Tuesday"}
    before = copy.deepcopy(data)
    output = template(data, SCOPE)
    assert not template.static
    assert output == {
        "flagged": True,
        "parts": {"first": 0, "last": 30},
        "weekday": "Tuesday",
        "list": [{"a": 10}, "literal", 3, ["x", {"b": "arn:x"}]],
        "formatted": "Tuesday is 20",
        "everything": data,
    }
    assert data == before
    assert template(data, SCOPE) is not output  # a new value each call


def test_static_template_is_a_constant() -> None:
    payload = {"a": 1, "b": [{"c": "$.not-a-binding"}], "d": {"e": None}}
    template = compile_template(payload)
    assert template.static
    assert template({}, SCOPE) == payload


def test_template_keys_keep_their_order_and_literals() -> None:
    output = compile_template({"z": 1, "y.$": "$.v", "x": "$.v"})({"v": 2}, SCOPE)
    assert list(output) == ["z", "y", "x"] and output == {"z": 1, "y": 2, "x": "$.v"}


def test_template_path_that_matches_nothing_names_the_field() -> None:
    """AWS's cause for a Parameters path that matches nothing (States.Runtime)."""
    template = compile_template({"outer": {"x.$": "$.missing"}})
    with pytest.raises(AslError) as raised:
        template({"a": 1}, SCOPE)
    assert raised.value.error == "States.Runtime"
    assert raised.value.cause == (
        "The JSONPath '$.missing' specified for the field 'x.$' could not be found in the input '{\"a\":1}'"
    )
    with pytest.raises(AslError, match=r"'\$.missing' specified for the field 'r.\$'"):
        compile_template({"r.$": "States.Array($.missing)"})({"a": 1}, SCOPE)


def test_template_non_definite_path_with_no_match_is_an_empty_list() -> None:
    assert compile_template({"r.$": "$.l[?(@ > 5)]"})({"l": [1, 2]}, SCOPE) == {"r": []}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"x.$": 5}, "The value for the field 'x.$' must be a STRING that contains a JSONPath but was an INTEGER"),
        ({"x.$": True}, "but was an BOOLEAN"),
        ({"x.$": None}, "but was an NULL"),
        ({"a": [{"x.$": {"b": 1}}]}, "but was an OBJECT"),
        ({"x.$": "nope"}, "The value for the field 'x.$' must be a valid JSONPath or a valid intrinsic function call"),
        ({"x.$": "$.a["}, "must be a valid JSONPath or a valid intrinsic function call"),
        ({"x.$": "States.Nope()"}, "unknown intrinsic function States.Nope"),
        ({"x.$": "States.Array(1 2)"}, "expected ',' or ')'"),
    ],
)
def test_invalid_template_keys_are_definition_errors(payload: Any, message: str) -> None:
    with pytest.raises(DefinitionError) as raised:
        compile_template(payload)
    assert message in str(raised.value)


def test_the_expression_modules_are_pure_python() -> None:
    """The interpreter's expressions import neither boto3 nor moto (nor anything of AWS's SDK)."""
    import ast
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "workflow" / "asl"
    for name in ("values", "paths", "intrinsics", "choice", "timestamps"):
        tree = ast.parse((folder / f"{name}.py").read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {module for module in imported if module.split(".")[0] in ("boto3", "botocore", "moto")}, name


def test_an_expression_field_is_a_path_or_an_intrinsic() -> None:
    """The guide's Fail state: ErrorPath and CausePath take a path or an intrinsic function."""
    data = {"order": 7, "codes": ["A", "B"]}
    assert compile_expression("$.order", "CausePath")(data, SCOPE) == 7
    assert compile_expression("States.ArrayGetItem($.codes, 1)", "ErrorPath")(data, SCOPE) == "B"
    assert compile_expression("$$.Execution.Id", "CausePath")(data, SCOPE) == "arn:x"
    with pytest.raises(DefinitionError, match="The value for the field 'ErrorPath' must be a valid JSONPath"):
        compile_expression("Oops", "ErrorPath")
