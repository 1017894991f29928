"""Whole reads of os.environ on other threads (urllib's proxy lookup for every botocore request, botocore's
IMDS fetcher copying it) wait while a function's environment is overlaid or restored, so they never see a
key vanish mid-read: the KeyError (AWS_LAMBDA_FUNCTION_VERSION) a storm of executions hit."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.request import getproxies

import pytest

from panic_button_sandbox import lambda_dispatch
from panic_button_sandbox.iam.emulator_state import EmulatorState
from panic_button_sandbox.iam.enforcement import IamEnforcement
from panic_button_sandbox.lambda_dispatch import LambdaDispatcher
from panic_button_sandbox.patches import Patches

READS: dict[str, Callable[[], Any]] = {
    "urllib proxy lookup": getproxies,
    "copy": lambda: os.environ.copy(),  # noqa: PLW0108 - bound at call time, after the patch
    "items": lambda: dict(os.environ.items()),
    "iteration": lambda: list(os.environ),
}


@pytest.fixture
def installed() -> Iterator[None]:
    patches = Patches()
    LambdaDispatcher(IamEnforcement(EmulatorState("123456789012", "us-east-1"), enabled=False)).install(patches)
    yield
    patches.undo_all()


@pytest.mark.usefixtures("installed")
@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_a_whole_read_waits_for_an_overlay_in_progress(read: Callable[[], Any]) -> None:
    started, finished = threading.Event(), threading.Event()

    def reader() -> None:
        started.set()
        read()
        finished.set()

    with lambda_dispatch._ENVIRON_LOCK:  # what an overlay or its restore holds while it sets and pops keys
        thread = threading.Thread(target=reader)
        thread.start()
        started.wait()
        assert not finished.wait(0.2)  # unpatched, the read is over in microseconds
    thread.join()
    assert finished.is_set()
