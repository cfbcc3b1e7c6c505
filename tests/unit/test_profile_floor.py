"""`make profile`'s summary: each sample goes to the innermost layer on its stack, the layers'
milliseconds follow from the run's CPU an execution, and the floor is other projects' code."""

from __future__ import annotations

from workflow.drills import profile

WORKER = "Thread.run (threading.py:982);FairWorkers._work (workflow/local/stepfunctions.py:149)"


def _line(*frames: str, count: int) -> str:
    return ";".join((WORKER, *frames)) + f" {count}"


def test_samples_go_to_the_innermost_layer_and_start_up_is_left_out() -> None:
    lines = [
        _line(
            "Run.run (workflow/asl/interpreter.py:1)",
            "DynamoHandler.update_item (moto/dynamodb/responses.py:9)",
            count=6,
        ),
        _line("Run.run (workflow/asl/interpreter.py:1)", count=3),
        _line("LambdaRouter.handle (workflow/local/server.py:1)", "_make_api_call (botocore/client.py:1)", count=1),
        "MainThread (x.py:1);deploy (workflow/local/stack.py:1) 50",  # not an execution's thread
    ]
    assert profile.summarize(lines) == {
        "moto: DynamoDB": 60.0,
        "the interpreter (workflow/asl/)": 30.0,
        "botocore (the SDK)": 10.0,
    }


def test_the_floor_is_other_projects_share_of_the_cpu_an_execution() -> None:
    shares = {"moto: DynamoDB": 60.0, "the interpreter (workflow/asl/)": 30.0, "botocore (the SDK)": 10.0}
    assert profile.floor_ms(shares, 10.0) == 7.0
    rendered = profile.render(shares, 10.0)
    assert "| moto: DynamoDB | 60.0% | 6.00 |" in rendered
    assert "7.0 ms an execution" in rendered and "one core would run 143 executions a second" in rendered
    assert "ms an execution" not in profile.render(shares)
