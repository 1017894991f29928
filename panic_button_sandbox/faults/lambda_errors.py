"""Step Functions names a Lambda Task's failed invoke `Lambda.<error code>` (`Lambda.ServiceException`,
`Lambda.TooManyRequestsException`, ...), which a Task's Retry matches. moto's interpreter names every
ClientError of a function-ARN Task "Exception", so no Retry for Lambda service errors could ever match.

Replaced: `StateTaskLambda._from_error` for a ClientError (stock: error name "Exception")."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from panic_button_sandbox.patches import Patches


def install_lambda_error_names(patches: Patches) -> None:
    stock = StateTaskLambda._from_error

    def from_error(self: StateTaskLambda, env: Any, ex: Exception) -> FailureEvent:
        if not isinstance(ex, ClientError):
            return stock(self, env, ex)
        error = f"Lambda.{ex.response['Error']['Code']}"
        metadata = ex.response.get("ResponseMetadata", {})
        cause = (f"{ex.response['Error'].get('Message', '')} (Service: AWSLambda; Status Code: "
                 f"{metadata.get('HTTPStatusCode')}; Error Code: {ex.response['Error']['Code']}; "
                 f"Request ID: {metadata.get('RequestId')}; Proxy: null)")
        details = LambdaFunctionFailedEventDetails(error=error, cause=cause)
        return FailureEvent(env=env, error_name=CustomErrorName(error),
                            event_type=HistoryEventType.LambdaFunctionFailed,
                            event_details=EventDetails(  # type: ignore[typeddict-item]  # moto's total TypedDict
                                lambdaFunctionFailedEventDetails=details))

    patches.replace(StateTaskLambda, "_from_error", from_error)
