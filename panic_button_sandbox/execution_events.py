"""Step Functions as the aborted-run recorder needs it: the "Step Functions Execution Status Change" event
on the default bus when an execution ends ABORTED, TIMED_OUT or FAILED, and StopExecution that keeps the
error and cause its caller gave.

Replaced or added: BaseExecutionWorkerCommunication.terminated (stock: emits no event),
StepFunctionResponse.stop_execution (stock: drops `error` and `cause`, so the history's ExecutionAborted
says nothing of who stopped it) and Environment.set_error (stock: an error after a stop, such as the
States.Timeout of a `.waitForTaskToken` wait the stop interrupted, turns ABORTED into FAILED).
SUCCEEDED and RUNNING are not emitted: the only rule that listens, the
recorder's, matches the three endings that can bypass RecordOutcome.

The event is shaped as AWS documents it (docs.aws.amazon.com/step-functions/latest/dg/cw-events.html):
epoch-millisecond dates, input as text with inputDetails, error and cause null unless the execution
FAILED. It is put with PutEvents, so it reaches targets only through the rules' real patterns.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.events.models import events_backends
from moto.stepfunctions.exceptions import ExecutionDoesNotExist
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.responses import StepFunctionResponse

from panic_button_sandbox.patches import Patches

_LOG = logging.getLogger(__name__)
EMITTED_STATUSES = ("ABORTED", "TIMED_OUT", "FAILED")
SOURCE = "aws.states"
DETAIL_TYPE = "Step Functions Execution Status Change"


def install_execution_events(patches: Patches) -> None:
    def terminated(self: BaseExecutionWorkerCommunication) -> None:
        stock_terminated(self)
        execution = self.execution
        if execution.status in EMITTED_STATUSES:
            try:
                _emit(execution)
            except Exception:  # Step Functions' delivery to EventBridge is best effort; never fail the run
                _LOG.exception("no status change event for %s", execution.exec_arn)

    def stop_execution(self: StepFunctionResponse) -> ActionResult:
        arn = self._get_param("executionArn")
        backend = self.stepfunction_backend
        backend._validate_execution_arn(arn)
        machine = backend._get_state_machine_for_execution(arn)
        execution = next((e for e in machine.executions if e.execution_arn == arn), None)
        if execution is None:
            raise ExecutionDoesNotExist("Execution Does Not Exist: '" + arn + "'")
        stopped_at = utcnow()
        execution.stop(stop_date=stopped_at, error=self._get_param("error"), cause=self._get_param("cause"))
        return ActionResult({"stopDate": execution.stop_date or stopped_at})

    def set_error(self: Environment, error: Any) -> None:
        # A stopped execution stays stopped: StopExecution interrupts a Task waiting for its task token,
        # and that wait then fails (States.Timeout), which stock turns into FAILED. AWS says ABORTED.
        with self._state_mutex:
            if isinstance(self._program_state, ProgramStopped):
                return
        stock_set_error(self, error)

    stock_terminated = patches.replace(BaseExecutionWorkerCommunication, "terminated", terminated)
    stock_set_error = patches.replace(Environment, "set_error", set_error)
    patches.replace(StepFunctionResponse, "stop_execution", stop_execution)


def status_change_detail(execution: Any) -> dict[str, Any]:
    failed = execution.status == "FAILED"
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name or execution.exec_arn.rsplit(":", 1)[-1],
        "status": execution.status,
        "startDate": _millis(execution.start_date),
        "stopDate": _millis(execution.stop_date),
        "input": execution.execution_input,
        "output": None,
        "inputDetails": {"included": True},
        "outputDetails": None,
        "error": execution.error if failed else None,
        "cause": execution.cause if failed else None,
    }


def _emit(execution: Any) -> None:
    events = events_backends[execution.account_id][execution.region_name]
    events.put_events([{
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(status_change_detail(execution)),
        "Resources": [execution.exec_arn],
        "Time": (execution.stop_date or datetime.now(UTC)).timestamp(),
    }])


def _millis(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)
