"""What the state machine hands each workflow Lambda, typed: the ``Payload`` of its Task in
statemachine.asl.json, parsed at the handler's edge.

A payload the definition cannot produce (a hand-started execution, an edited definition) fails
the invocation with :class:`MalformedPayload`, whose message names the fields and rules broken,
never their values: an event's fields may be personal data.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workflow.domain.naming import MAX_EXECUTION_NAME
from workflow.domain.projection import ProjectionChange


class MalformedPayload(ValueError):
    """The state machine handed a function what its definition never sends."""


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValidateInput(_Payload):
    """Validate: ``{"event.$": "$.event", "execution_name.$": "$$.Execution.Name"}``."""

    # Whatever the message held: judging it is the function's work, and a rejection its answer.
    event: Any = None
    execution_name: str = Field(min_length=1, max_length=MAX_EXECUTION_NAME)


class EventSummary(_Payload):
    """What the follow-ups get of a stored event (Validate's ``summary``): no personal data."""

    user_id: str
    event_id: str
    event_type: str
    occurred_at: str

    def change(self) -> ProjectionChange:
        return ProjectionChange(
            user_id=self.user_id, event_id=self.event_id, event_type=self.event_type, occurred_at=self.occurred_at
        )


class ProjectInput(_Payload):
    """Project: ``{"event.$": "$.validation.summary"}``."""

    event: EventSummary


Model = TypeVar("Model", bound=_Payload)


def parse(model: type[Model], payload: Any) -> Model:
    """The payload as `model`, or :class:`MalformedPayload` naming what is wrong with it."""
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'payload'}: {problem['msg']}"
            for problem in error.errors(include_input=False, include_url=False, include_context=False)
        )
        raise MalformedPayload(f"{model.__name__}: {problems}") from None
