"""`approve`, `deny` and `hold` against moto's DynamoDB, STS and CloudFormation. Step Functions is a botocore
Stubber: it scripts what the service answers for a task token (moto answers tokens only while its
interpreter runs an execution, which the sandbox tests do)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from panic_button.dal.approval_store import ApprovalRequest, ApprovalStore
from panic_button.logic.approval import DENIED_ERROR, Denial

from panic_button_cli.main import main
from panic_button_cli.operations.approvals import run_approval
from tests.cli_operations.cli import parse
from tests.cli_operations.conftest import STACK, Deployed

NOW = datetime(2026, 11, 20, 3, 12, 41, tzinfo=UTC)
ARN = "arn:aws:states:us-east-1:123456789012:execution:PanicButton-Remediation:i-0abc-20261120T031000Z"
CALLER = "arn:aws:sts::123456789012:user/moto"  # what moto's sts:GetCallerIdentity answers
TOKEN = "token-1"


class _WithStepFunctions(boto3.Session):
    """The test's session, whose Step Functions client is the stubbed one."""

    def __init__(self, session: boto3.Session, stepfunctions: Any) -> None:
        super().__init__(botocore_session=session._session, region_name=session.region_name)
        self._stepfunctions = stepfunctions

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return self._stepfunctions if service_name == "stepfunctions" else super().client(service_name, *args,
                                                                                          **kwargs)


@pytest.fixture
def stepfunctions(deployed: Deployed) -> Iterator[Stubber]:
    with Stubber(deployed.client("stepfunctions")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def store(deployed: Deployed) -> ApprovalStore:
    store = ApprovalStore(deployed.client("dynamodb"), deployed.table_name)
    store.put_request(ApprovalRequest(execution_arn=ARN, instance_id="i-0abc", task_token=TOKEN, requested_at=NOW),
                      expires_at=int(NOW.timestamp()) + 86_400)
    return store


def _run(deployed: Deployed, stepfunctions: Stubber, capsys: pytest.CaptureFixture[str],
         *argv: str) -> tuple[int, str, str]:
    args = parse(*argv, "--stack", STACK)
    args.check(args)
    code = run_approval(args, _WithStepFunctions(deployed.session, stepfunctions.client), now=lambda: NOW)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_approve_takes_the_decision_then_answers_the_token_as_the_caller(
        deployed: Deployed, stepfunctions: Stubber, store: ApprovalStore, capsys: pytest.CaptureFixture[str]) -> None:
    output = {"decision": "approve", "decided_by": CALLER, "decided_at": "2026-11-20T03:12:41Z", "reason": ""}
    stepfunctions.add_response("send_task_success", {}, {"taskToken": TOKEN, "output": json.dumps(output)})

    code, out, _ = _run(deployed, stepfunctions, capsys, "approve", ARN)

    assert code == 0
    assert out == (f"{ARN} approved: the instance is re-checked, then interrupted "
                   f"(by {CALLER} at 2026-11-20T03:12:41Z)\n")
    stored = store.get(ARN)
    assert stored is not None and (stored.decision, stored.decided_by, stored.decided_at) == ("approve", CALLER, NOW)


def test_deny_sends_the_reason_and_who_in_the_cause(
        deployed: Deployed, stepfunctions: Stubber, store: ApprovalStore, capsys: pytest.CaptureFixture[str]) -> None:
    sent: dict[str, Any] = {}
    stepfunctions.add_response("send_task_failure", {})
    stepfunctions.client.meta.events.register("before-parameter-build.sfn.SendTaskFailure",
                                              lambda params, **_: sent.update(params))

    code, out, _ = _run(deployed, stepfunctions, capsys, "deny", ARN, "--reason", "failover drill")

    assert code == 0 and "denied: no interrupt is sent" in out
    assert (sent["taskToken"], sent["error"]) == (TOKEN, DENIED_ERROR)
    denial = Denial.model_validate(json.loads(sent["cause"]))
    assert (denial.decided_by, denial.decided_at, denial.reason) == (CALLER, NOW, "failover drill")


def test_a_second_decision_is_refused_in_one_line_and_sends_nothing(
        deployed: Deployed, stepfunctions: Stubber, store: ApprovalStore, capsys: pytest.CaptureFixture[str]) -> None:
    stepfunctions.add_response("send_task_success", {})
    assert _run(deployed, stepfunctions, capsys, "approve", ARN)[0] == 0

    # No second response is scripted: a second SendTask* call would fail the Stubber.
    code, _, err = _run(deployed, stepfunctions, capsys, "deny", ARN, "--reason", "too late")

    assert code == 2
    assert err.count("\n") == 1
    assert f"was already decided (approve) by {CALLER} at 2026-11-20T03:12:41Z" in err
    assert "nothing was sent" in err


def test_an_ended_wait_is_reported_and_the_decision_withdrawn(
        deployed: Deployed, stepfunctions: Stubber, store: ApprovalStore, capsys: pytest.CaptureFixture[str]) -> None:
    stepfunctions.add_client_error("send_task_success", service_error_code="TaskTimedOut", http_status_code=400)

    code, _, err = _run(deployed, stepfunctions, capsys, "approve", ARN)

    assert code == 2 and "no longer waits for a decision" in err
    stored = store.get(ARN)
    assert stored is not None and stored.decision is None  # the configuration decided, not this caller


def test_another_step_functions_error_is_reported_not_swallowed(
        deployed: Deployed, stepfunctions: Stubber, store: ApprovalStore, capsys: pytest.CaptureFixture[str]) -> None:
    stepfunctions.add_client_error("send_task_success", service_error_code="AccessDeniedException",
                                   service_message="not authorized to perform: states:SendTaskSuccess",
                                   http_status_code=400)

    code, _, err = _run(deployed, stepfunctions, capsys, "approve", ARN)

    assert code == 2 and "states:SendTaskSuccess" in err


def test_hold_sends_a_heartbeat_and_refuses_after_a_decision(
        deployed: Deployed, stepfunctions: Stubber, store: ApprovalStore, capsys: pytest.CaptureFixture[str]) -> None:
    stepfunctions.add_response("send_task_heartbeat", {}, {"taskToken": TOKEN})
    code, out, _ = _run(deployed, stepfunctions, capsys, "hold", ARN)
    assert code == 0 and out == f"Held {ARN}: the heartbeat window starts again\n"

    store.decide(ARN, decision="deny", decided_by=CALLER, decided_at=NOW, reason="drill")
    code, _, err = _run(deployed, stepfunctions, capsys, "hold", ARN)
    assert code == 2 and f"already decided (deny) by {CALLER}" in err


def test_a_run_that_does_not_wait_is_named(deployed: Deployed, stepfunctions: Stubber,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(deployed, stepfunctions, capsys, "approve", ARN)

    assert code == 2 and f"{ARN} is not waiting for approval" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["approve", "i-0abc1234def567890"], "is not an execution ARN"),
    (["deny", ARN, "--reason", "  "], "deny needs a --reason"),
])
def test_bad_arguments_are_refused_before_any_call(argv: list[str], message: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--stack", STACK]) == 2
    assert message in capsys.readouterr().err


def test_deny_without_reason_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["deny", ARN, "--stack", STACK])
    assert exited.value.code == 2
    assert "--reason" in capsys.readouterr().err
