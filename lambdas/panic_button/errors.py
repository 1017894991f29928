"""Domain exceptions. Each class name is also the Step Functions error name that a Catch matches,
so the state machine reads like the domain: `Catch NotAuthorized -> record SKIPPED_NOT_AUTHORIZED`."""

from panic_button.outcomes import Outcome


class RemediationStopped(Exception):
    """A remediation ended early with a known outcome. Subclasses name the outcome."""

    outcome: Outcome = Outcome.WORKFLOW_FAILED


class InvalidInput(RemediationStopped):
    outcome = Outcome.REJECTED_INVALID_INPUT


class NotEligible(RemediationStopped):
    outcome = Outcome.SKIPPED_NOT_ELIGIBLE


class NotAuthorized(RemediationStopped):
    outcome = Outcome.SKIPPED_NOT_AUTHORIZED


class InCooldown(RemediationStopped):
    outcome = Outcome.SKIPPED_COOLDOWN


class RateLimited(RemediationStopped):
    outcome = Outcome.SKIPPED_RATE_LIMITED


class BreakerOpen(RateLimited):
    """The fleet circuit breaker is tripped: too many alarms in one window look like an outage."""


class AlreadyHealthy(RemediationStopped):
    outcome = Outcome.SKIPPED_ALREADY_HEALTHY


class NotRecovered(RemediationStopped):
    outcome = Outcome.NOT_RECOVERED


class AgentUnreachable(RemediationStopped):
    """Status checks pass but the SSM agent never came online: the dump cannot be fetched."""

    outcome = Outcome.COLLECTION_FAILED


class NoDumpFound(RemediationStopped):
    outcome = Outcome.RECOVERED_NO_DUMP


class CollectionFailed(RemediationStopped):
    outcome = Outcome.COLLECTION_FAILED


class ExecutionAlreadyRecorded(Exception):
    """A step still running found its execution's record: the execution ended outside the workflow (stopped,
    timed out) and the aborted-run recorder has recorded it, so what the step took it gives back."""


class CommandEnded(Exception):
    """The collector command ended before its wait began (or its end could not be read yet), so no event
    will complete the wait: the workflow polls the command instead. A routing signal, never an outcome."""


class DeniedByOperator(RemediationStopped):
    """The error name `panic-button deny` sends with SendTaskFailure."""

    outcome = Outcome.DENIED_BY_OPERATOR


class ApprovalTimedOut(RemediationStopped):
    """Set by the workflow when the approval wait ends (timeout or heartbeat) and the config says deny."""

    outcome = Outcome.APPROVAL_TIMED_OUT


class MalformedState(Exception):
    """The workflow handed a step a state it cannot read: a definition bug, recorded as WORKFLOW_FAILED."""


STOP_ERRORS: dict[str, type[RemediationStopped]] = {
    cls.__name__: cls
    for cls in (
        InvalidInput,
        NotEligible,
        NotAuthorized,
        InCooldown,
        RateLimited,
        BreakerOpen,
        AlreadyHealthy,
        NotRecovered,
        AgentUnreachable,
        NoDumpFound,
        CollectionFailed,
        DeniedByOperator,
        ApprovalTimedOut,
    )
}
