"""Make the ASL interpreter's Wait states and Retry intervals, and the SDK's retry backoff, pass `time_scale`
times faster.

Only these sleeps are scaled; the state machine definition is never changed.
"""

from __future__ import annotations

import time
import types
from typing import Any

from botocore.retries.standard import ExponentialBackoff
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

from panic_button_sandbox.patches import Patches


def scale_interpreter_sleeps(patches: Patches, time_scale: float) -> None:
    def scaled_wait_interval(self: WaitFunction, env: Any, wait_seconds: int) -> None:
        # The stock version waits on the same event, so stopping an execution still cuts a Wait short.
        if wait_seconds > 0:
            env.program_state_event.wait(wait_seconds / time_scale)

    def scaled_sleep(seconds: float) -> None:
        time.sleep(seconds / time_scale)

    patches.replace(WaitFunction, "_wait_interval", scaled_wait_interval)
    # RetrierDecl sleeps with `time.sleep(interval_seconds)` inline; its module's `time` is all it uses.
    patches.replace(retrier_decl, "time", types.SimpleNamespace(sleep=scaled_sleep))


def scale_sdk_backoff(patches: Patches, time_scale: float) -> None:
    """botocore's standard-mode backoff between retries passes `time_scale` times faster too, for every client
    in this process (the Lambdas', and the harness's): a throttled call costs simulated, not real, seconds."""
    stock = ExponentialBackoff.delay_amount

    def delay_amount(self: ExponentialBackoff, context: Any) -> float:
        return float(stock(self, context)) / time_scale

    patches.replace(ExponentialBackoff, "delay_amount", delay_amount)
