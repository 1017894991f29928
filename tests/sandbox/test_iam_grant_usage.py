"""The least-privilege recording: granted actions a role never used, and which of them the template explains."""

from __future__ import annotations

from pathlib import Path

from panic_button_sandbox.iam.grant_usage import GrantRecorder, explained_grants, role_label, union_of_sessions
from panic_button_sandbox.iam.policies import Caller, Decision, Outcome, Request

ROLE = "PanicButton-StepsRecordOutcomeRole0783EAE9-VWUJJGMM3YJS"


def _allowed(action: str) -> Decision:
    return Decision(Request(Caller(account="1"), action, "*"), Outcome.ALLOWED)


def test_role_label_drops_only_the_deployers_random_suffix() -> None:
    assert role_label(ROLE) == "PanicButton-StepsRecordOutcomeRole0783EAE9"
    assert role_label("short") == "short"


def test_unused_grants_are_the_patterns_no_allowed_action_matched() -> None:
    recorder = GrantRecorder()
    recorder.grants(ROLE, [{"Effect": "Allow", "Action": ["dynamodb:Query", "dynamodb:GetItem", "s3:Get*"]},
                           {"Effect": "Deny", "Action": "iam:*"}])
    recorder.allowed(ROLE, _allowed("dynamodb:Query"))
    recorder.allowed(ROLE, _allowed("s3:GetObject"))
    assert recorder.unused() == {"PanicButton-StepsRecordOutcomeRole0783EAE9": ["dynamodb:GetItem"]}


def test_template_reasons_explain_unused_grants_of_their_role() -> None:
    template = {"Resources": {"StepsRecordOutcomeRole0783EAE9": {"Type": "AWS::IAM::Role", "Metadata": {
        "PanicButton::UnexercisedGrants": [{"actions": ["dynamodb:GetItem"], "reason": "rare path"}]}}}}
    explained = explained_grants(template, "PanicButton")
    assert explained == {"PanicButton-StepsRecordOutcomeRole0783EAE9": {"dynamodb:GetItem": "rare path"}}
    recorder = GrantRecorder()
    recorder.grants(ROLE, [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"]}])
    assert recorder.unexplained(explained) == {"PanicButton-StepsRecordOutcomeRole0783EAE9": ["dynamodb:PutItem"]}


def test_the_report_is_the_union_of_the_sessions_run_for_one_template(tmp_path: Path) -> None:
    kernel, rest = GrantRecorder(), GrantRecorder()
    for recorder in (kernel, rest):
        recorder.grants(ROLE, [{"Effect": "Allow", "Action": ["s3:ListBucket", "dynamodb:Query", "sns:Publish"]}])
    kernel.allowed(ROLE, _allowed("s3:ListBucket"))
    rest.allowed(ROLE, _allowed("dynamodb:Query"))
    union_of_sessions(tmp_path, "kernel", kernel)
    union = union_of_sessions(tmp_path, "not-kernel", rest)
    assert union.unused() == {"PanicButton-StepsRecordOutcomeRole0783EAE9": ["sns:Publish"]}


def test_a_session_run_again_replaces_its_own_recording(tmp_path: Path) -> None:
    first, again = GrantRecorder(), GrantRecorder()
    for recorder in (first, again):
        recorder.grants(ROLE, [{"Effect": "Allow", "Action": ["dynamodb:Query"]}])
    first.allowed(ROLE, _allowed("dynamodb:Query"))
    union_of_sessions(tmp_path, "not-kernel", first)
    assert union_of_sessions(tmp_path, "not-kernel", again).unused() == {
        "PanicButton-StepsRecordOutcomeRole0783EAE9": ["dynamodb:Query"]}


def test_only_the_templates_own_roles_are_held_to_the_goal() -> None:
    template = {"Resources": {"StepsRecordOutcomeRole0783EAE9": {"Type": "AWS::IAM::Role"},
                              "Topic": {"Type": "AWS::SNS::Topic"}}}
    explained = explained_grants(template, "PanicButton")
    assert explained == {"PanicButton-StepsRecordOutcomeRole0783EAE9": {}}
    recorder = GrantRecorder()
    recorder.grants(ROLE, [{"Effect": "Allow", "Action": ["sns:Publish"]}])
    recorder.grants("SandboxFixture-FunctionRoleA1B2C3D4-ABCDEFGHIJKL", [{"Effect": "Allow", "Action": "s3:*"}])
    assert recorder.unexplained(explained) == {"PanicButton-StepsRecordOutcomeRole0783EAE9": ["sns:Publish"]}


def test_a_reason_for_a_grant_some_test_used_is_reported_as_stale() -> None:
    explained = {"PanicButton-StepsRecordOutcomeRole0783EAE9": {"dynamodb:Query": "rare", "sns:Publish": "rare"}}
    recorder = GrantRecorder()
    recorder.grants(ROLE, [{"Effect": "Allow", "Action": ["dynamodb:Query", "sns:Publish"]}])
    recorder.allowed(ROLE, _allowed("dynamodb:Query"))
    assert recorder.stale_reasons(explained) == {"PanicButton-StepsRecordOutcomeRole0783EAE9": ["dynamodb:Query"]}
