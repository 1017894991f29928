"""Operator-facing failures: one line on stderr that names the problem and the fix, exit code 2."""

from __future__ import annotations

import sys
from collections.abc import Callable

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)
from panic_button.errors import InvalidInput

EXIT_ERROR = 2
CREDENTIALS_FIX = "configure AWS credentials (aws configure / AWS_PROFILE)"
_EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId"}


class OperatorError(Exception):
    """Something the operator can fix; `fix` says how."""

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix

    def one_line(self) -> str:
        return f"error: {self.problem}" + (f"; {self.fix}" if self.fix else "")


# SDK errors the operator fixes on their side, in the order they are checked.
_SDK_FIXES: list[tuple[tuple[type[Exception], ...], str, str]] = [
    ((NoCredentialsError, PartialCredentialsError), "no AWS credentials found", CREDENTIALS_FIX),
    ((SSOTokenLoadError, UnauthorizedSSOTokenError, TokenRetrievalError), "the AWS SSO session has expired",
     "run aws sso login (with --profile if you use one)"),
    ((ProfileNotFound,), "", "pick a profile from aws configure list-profiles"),
    ((NoRegionError,), "no AWS region configured", "pass --region or set AWS_REGION"),
    ((EndpointConnectionError,), "", "check the network and the --region"),
]


def explain(error: Exception) -> OperatorError:
    """Turn an SDK or input error into the line an on-call engineer needs."""
    if isinstance(error, OperatorError):
        return error
    if isinstance(error, InvalidInput):
        return OperatorError(str(error), "pass an ID like i-0123456789abcdef0")
    if isinstance(error, ClientError):
        return _explain_client_error(error)
    for kinds, problem, fix in _SDK_FIXES:
        if isinstance(error, kinds):
            return OperatorError(problem or str(error), fix)
    return OperatorError(f"unexpected AWS SDK error: {error}")


def _explain_client_error(error: ClientError) -> OperatorError:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", str(error))
    operation = error.operation_name
    if code in _EXPIRED_CODES:
        return OperatorError("the AWS credentials have expired", CREDENTIALS_FIX)
    if code in _DENIED_CODES:
        return OperatorError(f"{operation} was denied: {message}",
                             "use credentials allowed to operate the Panic Button stack (AWS_PROFILE)")
    return OperatorError(f"{operation} failed ({code}): {message}")


def report_errors(command: Callable[[], int]) -> int:
    """Run a command; print any expected failure as one line on stderr instead of a traceback."""
    try:
        return command()
    except (OperatorError, InvalidInput, BotoCoreError, ClientError) as error:
        print(explain(error).one_line(), file=sys.stderr)
        return EXIT_ERROR
