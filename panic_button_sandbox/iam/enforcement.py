"""Each Lambda runs as its own role: every SDK call its handler makes is authorized against the function's
role before the request leaves botocore, and a denial is answered as AWS answers it.

How: the dispatcher marks the thread that runs a handler with the function's identity, and boto3's default
session is then that function's own (other threads, the ASL interpreter's, keep theirs). Two botocore
event hooks on that session see every call of every client made from it: `before-parameter-build` keeps
the call's parameters, `before-call` evaluates the request and, when IAM would deny it, returns AWS's
wire response (parsed by botocore's parser) instead of sending it to moto.

`PANIC_BUTTON_SANDBOX_IAM=off` turns evaluation off (to measure its cost); it is on otherwise.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.loaders
import botocore.session

from panic_button_sandbox.iam.emulator_state import EmulatorState
from panic_button_sandbox.iam.grant_usage import RECORDER, DenialRecord, GrantRecorder
from panic_button_sandbox.iam.operations import (
    Access,
    Authorization,
    Call,
    KmsUse,
    authorization_for,
    list_bucket_access,
)
from panic_button_sandbox.iam.policies import Caller, Decision, Outcome, Request, Statement, evaluate, evaluate_kms
from panic_button_sandbox.iam.wire_denials import as_botocore_response, denial_for, s3_access_denied
from panic_button_sandbox.patches import Patches

_LOG = logging.getLogger(__name__)
_PARAMS = "panic_button_sandbox.iam.params"  # where the call's parameters wait in botocore's request context
SWITCH = "PANIC_BUTTON_SANDBOX_IAM"


def enforcement_enabled() -> bool:
    return os.environ.get(SWITCH, "on").lower() != "off"


@dataclass(frozen=True)
class FunctionIdentity:
    function_name: str
    role_name: str
    caller: Caller


@dataclass(frozen=True)
class Refusal:
    decision: Decision
    access: Access | None  # None for a KMS use
    hidden_missing_key: bool = False  # S3's 403 for a missing key without s3:ListBucket


class IamEnforcement:
    def __init__(self, state: EmulatorState, *, enabled: bool | None = None,
                 recorder: GrantRecorder = RECORDER) -> None:
        self.state = state
        self.enabled = enforcement_enabled() if enabled is None else enabled
        self.recorder = recorder
        self._sessions: dict[FunctionIdentity, boto3.session.Session] = {}
        self._by_access_key: dict[str, FunctionIdentity] = {}
        self._running = threading.local()
        self._loader = botocore.loaders.create_loader()

    def install(self, patches: Patches) -> None:
        """boto3's default session is the running function's on the thread that runs it."""
        original = boto3._get_default_session
        enforcement = self

        def default_session() -> boto3.session.Session:
            identity: FunctionIdentity | None = getattr(enforcement._running, "identity", None)
            return original() if identity is None else enforcement._session(identity)

        patches.replace(boto3, "_get_default_session", default_session)

    def identity(self, function_name: str, role_arn: str) -> FunctionIdentity:
        role_name = role_arn.rsplit("/", 1)[-1]
        account = self.state.account
        caller = Caller(account=account, role_arn=role_arn,
                        session_arn=f"arn:aws:sts::{account}:assumed-role/{role_name}/{function_name}")
        return FunctionIdentity(function_name, role_name, caller)

    @contextmanager
    def running_as(self, function_name: str, role_arn: str) -> Iterator[None]:
        """Inside, on this thread: boto3's default session is the function's, its clients authorized as its role."""
        saved = getattr(self._running, "identity", None)
        if self.enabled:
            self._running.identity = self.identity(function_name, role_arn)
        try:
            yield
        finally:
            self._running.identity = saved

    def attach(self, client: Any, session_name: str, role_arn: str) -> None:
        """Authorize every call of an existing client as `session_name` of `role_arn` (a service's session)."""
        if self.enabled:
            identity = self.identity(session_name, role_arn)
            client.meta.events.register("before-parameter-build", _keep_params)
            client.meta.events.register("before-call", self._before_call_hook(identity))

    def _session(self, identity: FunctionIdentity) -> boto3.session.Session:
        session = self._sessions.get(identity)
        if session is None:
            # Its own access key id, so that the URLs it presigns name it (see presigned.py).
            access_key = "ASIA" + hashlib.sha256(identity.caller.session_arn.encode()).hexdigest()[:16].upper()
            self._by_access_key[access_key] = identity
            # One loader for every function's session: each would otherwise load and keep its own copy of
            # the service models (measured: +250 MiB and +20 % CPU for the demo's six rescues).
            core = botocore.session.get_session()
            core.register_component("data_loader", self._loader)
            session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key="testing",
                                            aws_session_token="testing", botocore_session=core)
            session.events.register("before-parameter-build", _keep_params)
            session.events.register("before-call", self._before_call_hook(identity))
            self._sessions[identity] = session
        return session

    def identity_for_access_key(self, access_key: str) -> FunctionIdentity | None:
        return self._by_access_key.get(access_key) if self.enabled else None

    def _before_call_hook(self, identity: FunctionIdentity) -> Any:
        def before_call(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
            call = Call(service=model.service_model.service_name, operation=model.name,
                        params=context.get(_PARAMS, {}), account=self.state.account, region=self.state.region,
                        secure_transport=True)
            refusal = self.authorize(identity, call)
            if refusal is None:
                return None
            if refusal.hidden_missing_key:
                error = s3_access_denied("Access Denied", head=model.http.get("method") == "HEAD")
            else:
                error = denial_for(model, refusal.decision.message())
            return as_botocore_response(model, error, str(params.get("url", "")))

        return before_call

    def authorize(self, identity: FunctionIdentity, call: Call) -> Refusal | None:
        """None when IAM allows the whole call; else the first refusal, logged and recorded."""
        identity_statements = self._identity_statements(identity.role_name)
        authorization = authorization_for(call, self.state)
        refusal = self._first_refusal(identity, identity_statements, authorization, call)
        if refusal is not None:
            self._report(identity, refusal)
        return refusal

    def _identity_statements(self, role_name: str) -> list[Statement]:
        found = [s for _, document in self.state.role_policies(role_name) for s in document]
        self.recorder.grants(role_name, found)
        return found

    def _first_refusal(self, identity: FunctionIdentity, statements: list[Statement], authorization: Authorization,
                       call: Call) -> Refusal | None:
        for access in authorization.accesses:
            decision = evaluate(Request(identity.caller, access.action, access.resource, access.context),
                                statements, access.resource_policy)
            if not decision.allowed:
                return Refusal(decision, access)
            self.recorder.allowed(identity.role_name, decision)
        for use in authorization.kms:
            for decision in self._kms_decisions(identity, statements, use, call):
                if not decision.allowed:
                    return Refusal(decision, None)
                self.recorder.allowed(identity.role_name, decision)
        if authorization.object_read is not None:
            bucket, key = authorization.object_read
            if not self.state.object_exists(bucket, key):
                access = list_bucket_access(call, self.state, bucket)
                decision = evaluate(Request(identity.caller, access.action, access.resource, access.context),
                                    statements, access.resource_policy)
                if not decision.allowed:
                    return Refusal(decision, access, hidden_missing_key=True)
                self.recorder.allowed(identity.role_name, decision)
        return None

    def _kms_decisions(self, identity: FunctionIdentity, statements: list[Statement], use: KmsUse,
                       call: Call) -> Iterator[Decision]:
        yield from self._key_decisions(identity.caller, statements, use, call.base_context())

    def _key_decisions(self, caller: Caller, statements: list[Statement], use: KmsUse,
                       base: dict[str, list[str]]) -> Iterator[Decision]:
        key = self.state.kms_key(use.key_id)
        if key is None:  # an AWS managed key: its policy allows every caller of the account via the service
            return
        context = {**base, "kms:viaservice": [use.via_service], "kms:calleraccount": [self.state.account]}
        for name, value in use.encryption_context.items():
            context[f"kms:encryptioncontext:{name}".lower()] = [value]
        context["kms:encryptioncontextkeys"] = list(use.encryption_context)
        for action in use.actions:
            yield evaluate_kms(Request(caller, action, key.arn, context), statements, key.policy)

    def authorize_service(self, service: str, access: Access, kms: list[KmsUse], source_arn: str) -> Decision | None:
        """A call an AWS service makes as its service principal on the stack's behalf (EventBridge to a queue
        or a function, CloudWatch alarm actions to a topic): resource and key policies decide, with the
        `aws:SourceArn` and `aws:SourceAccount` the service sends. None when allowed."""
        if not self.enabled:
            return None
        caller = Caller(account=self.state.account, service=service)
        base = {**access.context, "aws:sourcearn": [source_arn], "aws:sourceaccount": [self.state.account],
                "aws:securetransport": ["true"]}
        decisions = [evaluate(Request(caller, access.action, access.resource, base), [], access.resource_policy)]
        for use in kms:
            decisions.extend(self._key_decisions(caller, [], use, base))
        refused = next((d for d in decisions if not d.allowed), None)
        if refused is not None:
            self._report_service(source_arn, refused)
        return refused

    def authorize_role_session(self, role_arn: str, session: str, access: Access) -> Decision | None:
        """A service acting through a role it assumes (EventBridge with a rule target's role). None if allowed."""
        if not self.enabled:
            return None
        identity = self.identity(session, role_arn)
        decision = evaluate(Request(identity.caller, access.action, access.resource, access.context),
                            self._identity_statements(identity.role_name), access.resource_policy)
        if decision.allowed:
            self.recorder.allowed(identity.role_name, decision)
            return None
        self._report(identity, Refusal(decision, access))
        return decision

    def _report_service(self, source_arn: str, decision: Decision) -> None:
        request = decision.request
        record = DenialRecord(role="", function=request.caller.service, action=request.action,
                              resource=request.resource, reason=decision.reason,
                              missing=f'{{"Effect": "Allow", "Principal": {{"Service": "{request.caller.service}"}}, '
                                      f'"Action": "{request.action}", "Condition": {{"ArnLike": {{"aws:SourceArn": '
                                      f'"{source_arn}"}}}}}} in the policy of {request.resource}')
        self.recorder.denied(record)
        # CloudWatch's own wording in an alarm's history: "Resource: <source> is not authorized to perform: ..."
        _LOG.warning("IAM denied %s (for %s): %s on %s %s; missing: %s", request.caller.service, source_arn,
                     request.action, request.resource, decision.reason, record.missing)

    def _report(self, identity: FunctionIdentity, refusal: Refusal) -> None:
        request = refusal.decision.request
        missing = _missing_statement(identity, refusal)
        record = DenialRecord(role=identity.role_name, function=identity.function_name, action=request.action,
                              resource=request.resource, reason=refusal.decision.reason, missing=missing)
        self.recorder.denied(record)
        _LOG.warning("IAM denied %s: %s on %s %s; missing: %s", identity.function_name, request.action,
                     request.resource, refusal.decision.reason, missing)


def _missing_statement(identity: FunctionIdentity, refusal: Refusal) -> str:
    decision = refusal.decision
    request = decision.request
    if decision.outcome is Outcome.EXPLICIT_IDENTITY_DENY:
        return f"no Deny: {decision.deciding_sid} of role {identity.role_name} denies it"
    if decision.outcome is Outcome.EXPLICIT_RESOURCE_DENY:
        return f"no Deny: {decision.deciding_sid} of the resource's policy denies it"
    if decision.outcome is Outcome.NO_RESOURCE_ALLOW:
        return (f'{{"Effect": "Allow", "Principal": {{"AWS": "{identity.caller.role_arn}"}}, '
                f'"Action": "{request.action}"}} (or the account, delegating to IAM) in the key policy of '
                f"{request.resource}")
    return f'{{"Effect": "Allow", "Action": "{request.action}", "Resource": "{request.resource}"}} in role ' \
           f"{identity.role_name}"


def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context[_PARAMS] = dict(params)
