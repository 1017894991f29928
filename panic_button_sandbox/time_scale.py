"""Make the ASL interpreter's Wait states and Retry intervals pass `time_scale` times faster.

Only these two sleeps are scaled; the state machine definition is never changed.
"""

from __future__ import annotations

import time
import types
from typing import Any

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
