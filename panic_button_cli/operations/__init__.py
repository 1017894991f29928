"""Operator commands against a deployed stack: start, follow and history.

main.py registers each with `add_<name>_parser(subparsers)`; the parser sets `func=run_<name>`, called
as `run_<name>(args, session) -> exit code`. `open_session(args)` builds the session from --profile/--region.
"""

from panic_button_cli.operations.arguments import add_common_arguments, open_session
from panic_button_cli.operations.errors import OperatorError, report_errors
from panic_button_cli.operations.follow import add_follow_parser, run_follow
from panic_button_cli.operations.history import add_history_parser, run_history
from panic_button_cli.operations.start import add_start_parser, run_start

__all__ = [
    "OperatorError",
    "add_common_arguments",
    "add_follow_parser",
    "add_history_parser",
    "add_start_parser",
    "open_session",
    "report_errors",
    "run_follow",
    "run_history",
    "run_start",
]
