"""Names shared by the stack, the handlers, the local runtime and the tests.

Keeping them in one module means a rename cannot leave one side behind.
"""

from __future__ import annotations

# Environment variables read by the composition root.
ENV_TABLE_NAME = "EVENTFLOW_TABLE_NAME"
ENV_STATE_MACHINE_ARN = "EVENTFLOW_STATE_MACHINE_ARN"
ENV_TOPIC_ARN = "EVENTFLOW_TOPIC_ARN"
ENV_RETENTION_DAYS = "EVENTFLOW_RETENTION_DAYS"
# `standard` (StartExecution, de-duplicated by name) or `express` (StartSyncExecution).
ENV_WORKFLOW_TYPE = "EVENTFLOW_WORKFLOW_TYPE"
WORKFLOW_STANDARD = "standard"
WORKFLOW_EXPRESS = "express"
ENV_ENDPOINT_URL = "AWS_ENDPOINT_URL"
ENV_REGION = "AWS_REGION"

# Powertools settings every function gets.
POWERTOOLS_SERVICE_NAME = "eventflow"
METRICS_NAMESPACE = "eventflow"

# SNS message attributes, used by the lanes' filter policies.
ATTR_EVENT_TYPE = "event_type"
ATTR_SOURCE = "source"

# Table keys and indexes.
PK = "PK"
SK = "SK"
GSI_BY_USER = "by-user"
GSI_BY_USER_PK = "GSI1PK"
GSI_BY_USER_SK = "GSI1SK"
GSI_BY_KIND = "by-kind-day"
GSI_BY_KIND_PK = "GSI2PK"
GSI_BY_KIND_SK = "GSI2SK"
TTL_ATTRIBUTE = "expires_at"

# State machine definition substitutions (the ${...} names in statemachine.asl.json).
SUB_VALIDATE_FUNCTION = "ValidateFunctionArn"
SUB_PROJECT_FUNCTION = "ProjectFunctionArn"
SUB_TABLE_NAME = "TableName"
SUB_OUTBOUND_TOPIC = "OutboundTopicArn"
DEFINITION_SUBSTITUTIONS = (
    SUB_VALIDATE_FUNCTION,
    SUB_PROJECT_FUNCTION,
    SUB_TABLE_NAME,
    SUB_OUTBOUND_TOPIC,
)

# Stack outputs (as `cdk deploy --outputs-file` and `eventflow local up --outputs-file` write them).
OUT_TOPIC_ARN = "TopicArn"
OUT_OUTBOUND_TOPIC_ARN = "OutboundTopicArn"
OUT_TABLE_NAME = "TableName"
OUT_STATE_MACHINE_ARN = "StateMachineArn"
OUT_WEB_QUEUE_URL = "WebQueueUrl"
OUT_WEB_DLQ_URL = "WebDeadLetterQueueUrl"
OUT_BATCH_QUEUE_URL = "BatchQueueUrl"
OUT_BATCH_DLQ_URL = "BatchDeadLetterQueueUrl"
OUT_UNROUTED_QUEUE_URL = "UnroutedQueueUrl"
OUT_ALARMS_TOPIC_ARN = "AlarmsTopicArn"
OUT_OPERATOR_POLICY_ARN = "OperatorPolicyArn"
# Written by `eventflow local up` only: the local operator role's session, for the other commands.
OUT_OPERATOR_ACCESS_KEY_ID = "OperatorAccessKeyId"
OUT_OPERATOR_SECRET_ACCESS_KEY = "OperatorSecretAccessKey"
OUT_OPERATOR_SESSION_TOKEN = "OperatorSessionToken"

STACK_NAME = "Eventflow"

# Limits. A state's input/output is capped at 256 KiB by Step Functions, and the workflow's
# state carries an event about three times (raw input, stored item, outbound body).
MAX_EVENT_BYTES = 32 * 1024
EXPRESS_MAX_SECONDS = 300  # an Express execution's longest run
SNS_MAX_BATCH_ENTRIES = 10
MAX_JSON_DEPTH = 8
MAX_QUERY_DAYS = 366  # the widest window of a by-day query (one DynamoDB query per day)
MAX_REJECTED_BODY_CHARS = 4096
DEFAULT_RETENTION_DAYS = 365

# The functions' handlers (module.function), as the stack deploys them.
HANDLER_INGEST = "functions.ingest.handler"
HANDLER_VALIDATE = "functions.validate.handler"
HANDLER_PROJECT = "functions.project.handler"
