"""Step Functions task callbacks (`.waitForTaskToken`) as AWS has them.

moto's interpreter runs the callback pattern itself (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat,
TimeoutSeconds, HeartbeatSeconds; a used token is InvalidToken). Two things are replaced:
- its SendTaskFailure response handler drops `cause`: it is passed on, as AWS does;
- task TimeoutSeconds and HeartbeatSeconds are waited in real seconds: divided by the time scale, like
  Wait states and Retry intervals (the state machine's own TimeoutSeconds stays in real seconds).
Canary tests in tests/sandbox/test_sandbox_moto_canaries.py fail when moto changes either."""

from __future__ import annotations

from typing import Any

from moto.core.responses import EmptyResult
from moto.stepfunctions.parser.asl.component.common.timeouts.heartbeat import Heartbeat
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout
from moto.stepfunctions.responses import StepFunctionResponse

from panic_button_sandbox.patches import Patches


def install_task_callbacks(patches: Patches, time_scale: float) -> None:
    def send_task_failure(self: StepFunctionResponse) -> Any:
        backend: Any = self.stepfunction_backend  # the interpreter's backend, whose send_task_failure takes cause
        backend.send_task_failure(self._get_param("taskToken"), error=self._get_param("error"),
                                  cause=self._get_param("cause"))
        return EmptyResult()

    def scaled(original: Any) -> Any:
        def eval_body(self: Any, env: Any) -> None:
            original(self, env)
            env.stack.append(env.stack.pop() / time_scale)
        return eval_body

    patches.replace(StepFunctionResponse, "send_task_failure", send_task_failure)
    patches.replace(Timeout, "_eval_body", scaled(Timeout._eval_body))
    patches.replace(Heartbeat, "_eval_body", scaled(Heartbeat._eval_body))
