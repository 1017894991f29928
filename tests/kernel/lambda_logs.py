"""The sandbox's in-process Lambda handlers log to stdout, as on Lambda: send a workflow run's logs to a file."""

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def lambda_logs_to(path: Path) -> Iterator[None]:
    """The in-process handlers' logs (stdout, as on Lambda) into `path`. The Powertools handler keeps the
    stdout it saw when first imported, so it is pointed at the file too, and back afterwards: a second
    workflow run in this process would otherwise log into the first run's closed file."""
    from panic_button.observability import logger

    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    with path.open("w") as logs, contextlib.redirect_stdout(logs):
        previous = handler.setStream(logs)
        try:
            yield
        finally:
            handler.setStream(previous)
