"""Step 9a: the outcome vocabulary, the domain errors that name outcomes, and the decision from the state."""

from __future__ import annotations

import json

import pytest
from panic_button import errors
from panic_button.errors import STOP_ERRORS, RemediationStopped
from panic_button.logic.outcome import decide_outcome
from panic_button.models.state import RemediationState
from panic_button.outcomes import Outcome

from .support import remediation_state, target_part

# The public vocabulary as issue 2 lists it; WORKFLOW_FAILED is the service's own addition.
ISSUE_OUTCOMES = {
    "DUMP_COLLECTED", "RECOVERED_NO_DUMP", "NOT_RECOVERED", "COLLECTION_FAILED", "DRY_RUN",
    "SKIPPED_NOT_AUTHORIZED", "SKIPPED_NOT_ELIGIBLE", "SKIPPED_ALREADY_HEALTHY", "SKIPPED_COOLDOWN",
    "SKIPPED_RATE_LIMITED", "REJECTED_INVALID_INPUT",
}
ERROR_OUTCOMES = {
    "DeniedByOperator": Outcome.DENIED_BY_OPERATOR,
    "ApprovalTimedOut": Outcome.APPROVAL_TIMED_OUT,
    "InvalidInput": Outcome.REJECTED_INVALID_INPUT,
    "NotEligible": Outcome.SKIPPED_NOT_ELIGIBLE,
    "NotAuthorized": Outcome.SKIPPED_NOT_AUTHORIZED,
    "InCooldown": Outcome.SKIPPED_COOLDOWN,
    "RateLimited": Outcome.SKIPPED_RATE_LIMITED,
    "AlreadyHealthy": Outcome.SKIPPED_ALREADY_HEALTHY,
    "NotRecovered": Outcome.NOT_RECOVERED,
    "AgentUnreachable": Outcome.COLLECTION_FAILED,
    "NoDumpFound": Outcome.RECOVERED_NO_DUMP,
    "CollectionFailed": Outcome.COLLECTION_FAILED,
}


def lambda_cause(error_type: str, message: str) -> str:
    """The Cause Step Functions puts next to a Lambda's error: JSON text."""
    return json.dumps({"errorMessage": message, "errorType": error_type, "stackTrace": ["  File ..."]})


def state_with_error(name: str, cause: str) -> RemediationState:
    return remediation_state(target=target_part(), error={"Error": name, "Cause": cause})


class TestVocabulary:
    def test_every_outcome_of_the_issue_exists(self) -> None:
        assert {o.value for o in Outcome} == ISSUE_OUTCOMES | {"WORKFLOW_FAILED", "WORKFLOW_ABORTED",
                                                               "DENIED_BY_OPERATOR", "APPROVAL_TIMED_OUT"}

    def test_outcomes_that_page_a_human(self) -> None:
        assert {o for o in Outcome if o.needs_attention} == {
            Outcome.NOT_RECOVERED, Outcome.COLLECTION_FAILED, Outcome.WORKFLOW_FAILED, Outcome.WORKFLOW_ABORTED}

    def test_successful_outcomes(self) -> None:
        assert {o for o in Outcome if o.is_success} == {Outcome.DUMP_COLLECTED, Outcome.DRY_RUN}

    def test_every_domain_error_is_registered_under_its_class_name(self) -> None:
        declared = {name for name, value in vars(errors).items()
                    if isinstance(value, type) and issubclass(value, RemediationStopped)
                    and value is not RemediationStopped}
        assert set(STOP_ERRORS) == declared
        assert all(cls.__name__ == name for name, cls in STOP_ERRORS.items())


class TestFromError:
    @pytest.mark.parametrize(("name", "expected"), sorted(ERROR_OUTCOMES.items()))
    def test_each_domain_error_gives_its_outcome_and_message(self, name: str, expected: Outcome) -> None:
        decision = decide_outcome(state_with_error(name, lambda_cause(name, f"because of {name}")))

        assert decision.outcome is expected
        assert decision.reason == f"because of {name}"

    def test_an_unknown_error_is_a_workflow_failure_naming_the_error(self) -> None:
        decision = decide_outcome(state_with_error("KeyError", lambda_cause("KeyError", "'InstanceStatuses'")))

        assert decision.outcome is Outcome.WORKFLOW_FAILED
        assert decision.reason == "KeyError: 'InstanceStatuses'"

    @pytest.mark.parametrize("name", ["States.Timeout", "States.TaskFailed", "Lambda.ServiceException"])
    def test_step_functions_errors_are_workflow_failures(self, name: str) -> None:
        decision = decide_outcome(state_with_error(name, "plain text cause"))

        assert decision.outcome is Outcome.WORKFLOW_FAILED
        assert decision.reason == f"{name}: plain text cause"

    def test_an_empty_cause_falls_back_to_the_error_name(self) -> None:
        decision = decide_outcome(state_with_error("NotEligible", ""))

        assert (decision.outcome, decision.reason) == (Outcome.SKIPPED_NOT_ELIGIBLE, "NotEligible")

    def test_a_huge_cause_is_cut(self) -> None:
        decision = decide_outcome(state_with_error("NotRecovered", lambda_cause("NotRecovered", "x" * 5000)))

        assert len(decision.reason) == 1000

    def test_an_error_wins_over_a_collected_dump(self) -> None:
        state = remediation_state(
            target=target_part(), error={"Error": "CollectionFailed", "Cause": lambda_cause("CollectionFailed", "x")},
            collection={"artifacts": [{"s3_uri": "s3://b/k", "bytes": 1}]},
        )

        assert decide_outcome(state).outcome is Outcome.COLLECTION_FAILED

    def test_a_failed_cleanup_is_in_the_reason(self) -> None:
        state = remediation_state(
            target=target_part(), error={"Error": "States.Timeout", "Cause": "the upload poll timed out"},
            abandon_error={"Error": "Sandbox.Timedout", "Cause": "Task timed out after 30.00 seconds"},
        )

        decision = decide_outcome(state)

        assert decision.outcome is Outcome.COLLECTION_FAILED
        assert decision.reason.endswith("; the cleanup itself failed (Sandbox.Timedout): the manifests' presigned "
                                        "URLs may still be live")


class TestWithoutError:
    @pytest.mark.parametrize(("checked", "mention"), [(True, True), (False, False)])
    def test_an_interrupt_not_sent_is_a_dry_run(self, checked: bool, mention: bool) -> None:
        state = remediation_state(target=target_part(dry_run=True),
                                  interrupt={"sent": False, "permission_checked": checked})

        decision = decide_outcome(state)

        assert decision.outcome is Outcome.DRY_RUN
        assert ("IAM permission" in decision.reason) is mention

    def test_a_collected_dump_names_its_location_and_size(self) -> None:
        state = remediation_state(
            target=target_part(), interrupt={"sent": True, "sent_at": "2026-11-20T03:13:00Z"},
            collection={"artifacts": [{"s3_uri": "s3://evidence/dump/vmcore", "bytes": 123456, "sha256": "ab"}]},
        )

        decision = decide_outcome(state)

        assert decision.outcome is Outcome.DUMP_COLLECTED
        assert "s3://evidence/dump/vmcore" in decision.reason
        assert "123456 bytes" in decision.reason

    def test_reaching_the_end_with_nothing_to_show_is_a_workflow_failure(self) -> None:
        state = remediation_state(target=target_part(), interrupt={"sent": True, "sent_at": "2026-11-20T03:13:00Z"},
                                  collection={"artifacts": []})

        assert decide_outcome(state).outcome is Outcome.WORKFLOW_FAILED
