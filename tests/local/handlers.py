"""Handlers for testing the local event source mapping: their behaviour is set by the body."""

from __future__ import annotations

from typing import Any

from workflow.bootstrap import Handler, LambdaHandler, Settings

SEEN: list[str] = []


def partial(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fails the records whose body is "fail"; a body "bogus-id" reports an unknown id."""
    failures = []
    for record in event["Records"]:
        SEEN.append(record["body"])
        if record["body"] == "fail":
            failures.append({"itemIdentifier": record["messageId"]})
        if record["body"] == "bogus-id":
            failures.append({"itemIdentifier": "not-in-this-batch"})
    return {"batchItemFailures": failures}


def crash(event: dict[str, Any], context: Any) -> None:
    raise RuntimeError("handler crashed")


def remaining_time(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"remaining": context.get_remaining_time_in_millis(), "name": context.function_name}


def sleepy(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Sleeps for the event's "seconds"."""
    import time

    time.sleep(float(event.get("seconds", 0)))
    return {"slept": event.get("seconds", 0)}


ANSWERED: list[str] = []


def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Sleeps for the event's "seconds", then records its "id" in ANSWERED (the call has answered)."""
    import time

    time.sleep(float(event["seconds"]))
    ANSWERED.append(str(event["id"]))
    return {"answered": event["id"]}


def answer_token(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answers the task token of the SQS message body in the event (SendTaskSuccess, to the
    event's "endpoint"), as a step of a sibling branch would."""
    import json

    import boto3

    token = json.loads(event["body"])["token"]
    sfn = boto3.client("stepfunctions", endpoint_url=event["endpoint"], region_name="us-east-1")
    sfn.send_task_success(taskToken=token, output=json.dumps({"from": "sibling"}))
    return {"answered": True}


def counted(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Adds one metric named by the event, waits for the others to add theirs, then flushes
    (Powertools' `log_metrics`)."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics(namespace="LocalTest", service="counted")

    @metrics.log_metrics
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        metrics.add_metric(name=event["metric"], unit=MetricUnit.Count, value=1)
        event["barrier"].wait(timeout=10)
        return {"metrics": sorted(metrics.provider.metric_set)}

    return handle(event, context)


BUILT: list[Settings] = []


def _settings_answer(settings: Settings) -> Handler:
    """A handler answering with what it was built from."""
    BUILT.append(settings)
    key = settings.credentials.access_key_id if settings.credentials else None

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"table": settings.table_name, "key": key, "function": context.function_name}

    return handler


own_settings = LambdaHandler(_settings_answer)
