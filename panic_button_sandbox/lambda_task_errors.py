"""Step Functions names a Lambda service error by its code, as AWS does: `Lambda.TooManyRequestsException`
for a throttled invoke, which the workflow's Retry matches by that name.

Replaced: StateTaskLambda._from_error for a ClientError (stock: every such error is named `Exception`; only
the `arn:aws:states:::lambda:invoke` integration names it `Lambda.<code>`). Tasks whose Resource is the
function's ARN, as CDK's LambdaInvoke with payload_response_only writes them, take this path."""

from __future__ import annotations

from typing import Any, cast

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from panic_button_sandbox.patches import Patches


def install_lambda_task_errors(patches: Patches) -> None:
    def from_error(self: StateTaskLambda, env: Environment, ex: Exception) -> Any:
        if not isinstance(ex, ClientError):
            return stock_from_error(self, env, ex)
        error = f"Lambda.{ex.response['Error']['Code']}"
        return FailureEvent(
            env=env, error_name=CustomErrorName(error), event_type=HistoryEventType.LambdaFunctionFailed,
            # EventDetails is a total TypedDict in moto's stubs, built partially everywhere in moto itself.
            event_details=cast(EventDetails, {"lambdaFunctionFailedEventDetails": LambdaFunctionFailedEventDetails(
                error=error, cause=ex.response["Error"]["Message"])}),
        )

    stock_from_error = patches.replace(StateTaskLambda, "_from_error", from_error)
