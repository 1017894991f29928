"""The remediation state machine. Read top to bottom it is the procedure an engineer follows at the
console of a frozen server: resolve, authorize, guard, capture evidence, interrupt, wait for the reboot,
collect the dump, triage, record. Every path ends in RecordOutcome: one record, one notification."""

from __future__ import annotations

from typing import Literal

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import PanicButtonConfig
from infra.constructs.step_function import StepFunction, explain_unexercised
from infra.constructs.workflow_steps import WorkflowSteps
from infra.nag import acknowledge_wildcard_resource
from infra.suppressions import accept_parliament_finding

AWS_UNAVAILABLE = "AwsUnavailable"  # panic_button.aws.AwsUnavailable: a step's AWS calls ran out of SDK retries
# Errors of the Lambda service itself (not of our code): retried with backoff and jitter.
# How long an Await step waits for the command's end event before it polls: what a lost event costs.
COMMAND_EVENT_TIMEOUT = Duration.minutes(5)
LAMBDA_SERVICE_ERRORS = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                         "Lambda.ClientExecutionTimeoutException"]
# The account's concurrency quota, hit by a storm's burst: retried longer (about 6 min at most) than a fault.
LAMBDA_THROTTLED = ["Lambda.TooManyRequestsException"]


class RemediationWorkflow(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: PanicButtonConfig, steps: WorkflowSteps,
                 key: kms.IKey, topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        self._steps, self._poll = steps, Duration.seconds(config.poll_interval_seconds)
        finish = self._finish(topic)
        record = finish
        self._record = record

        # The raw input never enters the state document: an input near the 256 KiB limit would make every
        # later part overflow it (States.DataLimitExceeded, which no Catch takes). ResolveTarget reads it from
        # the context, refuses what is oversize, and a rejection keeps only a bounded excerpt (in $.error).
        begin = sfn.Pass(self, "Begin", comment="Keep the execution's identity; the input stays in the context.",
                         parameters={"execution": {"id": sfn.JsonPath.string_at("$$.Execution.Id"),
                                                   "name": sfn.JsonPath.string_at("$$.Execution.Name")}})
        resolve = self._task("ResolveTarget", steps.resolve_target, "$.target",
                             payload={"input": sfn.JsonPath.object_at("$$.Execution.Input")})
        authorize = self._task("CheckEligibility", steps.check_eligibility, "$.instance")
        guards = self._task("ApplyGuards", steps.apply_guards, "$.guard")
        evidence = self._task("CaptureEvidence", steps.capture_evidence, "$.evidence")
        confirm = self._task("ConfirmImpaired", steps.confirm_impaired, "$.impairment")
        interrupt = self._task("SendInterrupt", steps.send_interrupt, "$.interrupt")
        approval = self._approval(config, interrupt)
        sent = sfn.Choice(self, "InterruptSent?")
        recovery = self._recovery_loop(steps.check_recovery)
        fallback = self._task("ApplyFallback", steps.apply_fallback, "$.fallback", catch_to=None)
        # Any failure while collecting goes through AbandonCollection: it cancels the command, aborts the
        # multipart upload and deletes the manifests (they hold live URLs) before the outcome is recorded.
        abandon = self._task("AbandonCollection", steps.abandon_collection, "$.abandon", catch_to=None)
        abandon.add_catch(record, errors=[sfn.Errors.ALL], result_path="$.abandon_error")
        abandon.next(record)
        locate = self._task("StartLocate", steps.start_locate, "$.locate", catch_to=abandon)
        locating = self._command_wait("Locate", "locate", catch_to=abandon)
        upload = self._task("StartUpload", steps.start_upload, "$.upload", catch_to=abandon)
        uploading = self._command_wait("Upload", "upload", catch_to=abandon)
        complete = self._task("CompleteUpload", steps.complete_upload, "$.collection", catch_to=abandon)
        triage = self._task("TriageDump", steps.triage_dump, "$.triage", catch_to=None)
        # A triage failure must not cost us the DUMP_COLLECTED outcome: note it and record.
        triage.add_catch(record, errors=[sfn.Errors.ALL], result_path="$.triage_error")
        recovery.check.add_catch(fallback, errors=["NotRecovered"], result_path="$.error")
        recovery.check.add_catch(record, errors=[sfn.Errors.ALL], result_path="$.error")
        fallback.add_catch(record, errors=[sfn.Errors.ALL], result_path="$.fallback_error")
        fallback.next(record)

        # ConfirmImpaired first: a crafted alarm on a healthy opted-in instance copies nothing. The evidence
        # comes before the approval request, which names it.
        definition = begin.next(resolve).next(authorize).next(guards).next(confirm).next(evidence).next(approval)
        interrupt.next(sent.when(sfn.Condition.boolean_equals("$.interrupt.sent", False), record,
                                 comment="dry run: every check passed")
                       .otherwise(recovery.start))
        recovery.then(locate)
        locate.next(locating.start)
        locating.then(upload)
        upload.next(uploading.start)
        uploading.then(complete)
        complete.next(triage)
        triage.next(record)

        self.log_group = logs.LogGroup(self, "ExecutionLogs", encryption_key=key,
                                       retention=logs.RetentionDays.ONE_YEAR,
                                       removal_policy=RemovalPolicy.RETAIN)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment="Panic Button: rescue a hung EC2 instance with a diagnostic interrupt and keep its crash dump.",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            # Ending here skips RecordOutcome: the aborted-run recorder records it (States.Timeout).
            timeout=Duration.seconds(config.workflow_timeout_seconds),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        # NotifyRecordFailure publishes to the KMS-encrypted topic directly.
        key.grant(self.state_machine, "kms:Decrypt", "kms:GenerateDataKey")
        role = self.state_machine.role
        explain_unexercised(role, ["logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups",
                                   "logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries",
                                   "logs:PutResourcePolicy", "logs:UpdateLogDelivery", "xray:GetSamplingRules",
                                   "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                            "Step Functions delivers the execution logs and traces with these; the sandbox's "
                            "interpreter writes neither")
        acknowledge_wildcard_resource(role, "*", "X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery "
                                                 "and related) have no resource-level permissions.")
        accept_parliament_finding(role, "PERMISSIONS_MANAGEMENT_ACTIONS", ["logs:PutResourcePolicy"],
                                  "Step Functions log delivery needs logs:PutResourcePolicy to let the delivery "
                                  "service write to the execution log group (CDK adds it for LogOptions)")
        for step in steps.all():
            acknowledge_wildcard_resource(role, f"{step.function.function_arn}:*",
                                          "The invoke grant covers versions and aliases of this one step function.")

    def _approval(self, config: PanicButtonConfig, interrupt: sfn.IChainable) -> sfn.Choice:
        """Instances opted in with the approval value wait here, every check passed and the evidence kept,
        for `panic-button approve|deny`. The lock taken in ApplyGuards holds through the wait (its lifetime
        counts the approval timeout), so a second alarm cannot open a second request; the rate slot too.
        An approval is not trusted blindly: ConfirmImpaired runs again, and a recovered instance is skipped."""
        request = tasks.LambdaInvoke(
            self, "RequestApproval", lambda_function=self._steps.request_approval.function,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object({"token": sfn.JsonPath.task_token,
                                               "state": sfn.JsonPath.entire_payload}),
            retry_on_service_exceptions=False, result_path="$.approval",
            task_timeout=sfn.Timeout.duration(Duration.seconds(config.approval_timeout_seconds)),
            heartbeat_timeout=sfn.Timeout.duration(Duration.seconds(config.approval_heartbeat_seconds)),
        )
        request.add_retry(errors=LAMBDA_SERVICE_ERRORS, interval=Duration.seconds(2), max_attempts=4,
                          backoff_rate=2, jitter_strategy=sfn.JitterType.FULL)
        retry_throttled(request)  # a throttled invoke never ran: no request went out
        reconfirm = self._task("ReconfirmImpaired", self._steps.confirm_impaired, "$.impairment")
        waited = (f"no decision within {config.approval_timeout_minutes} minutes (or no hold within "
                  f"{config.approval_heartbeat_minutes})")
        on_timeout: sfn.IChainable
        if config.approval_on_timeout == "approve":
            on_timeout = sfn.Pass(self, "ApprovedOnTimeout", result_path="$.approval", parameters={
                "decision": "approve", "decided_by": "timeout",
                "decided_at": sfn.JsonPath.string_at("$$.State.EnteredTime"),
                "reason": f"{waited}; approval-on-timeout is approve"}).next(reconfirm)
        else:
            on_timeout = sfn.Pass(self, "DeniedOnTimeout", result_path="$.error", parameters={
                "Error": "ApprovalTimedOut", "Cause": f"{waited}; approval-on-timeout is deny: no interrupt sent"},
            ).next(self._record)
        request.add_catch(on_timeout, errors=[sfn.Errors.TIMEOUT, sfn.Errors.HEARTBEAT_TIMEOUT],
                          result_path="$.approval_wait")
        # DeniedByOperator (panic-button deny) and anything else: recorded.
        request.add_catch(self._record, errors=[sfn.Errors.ALL], result_path="$.error")
        request.next(reconfirm)
        reconfirm.next(interrupt)
        needs = sfn.Condition.and_(sfn.Condition.boolean_equals("$.instance.approval_required", True),
                                   sfn.Condition.boolean_equals("$.guard.dry_run", False))
        return (sfn.Choice(self, "ApprovalRequired?")
                .when(needs, request, comment="opted in with approval; a dry run sends nothing, so asks nobody")
                .otherwise(interrupt))

    def _task(self, name: str, step: StepFunction, result_path: str, *, payload: dict[str, object] | None = None,
              catch_to: sfn.IChainable | Literal["record"] | None = "record") -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            name,
            lambda_function=step.function,
            payload=sfn.TaskInput.from_object(payload) if payload else None,  # None: the whole state
            payload_response_only=True,
            retry_on_service_exceptions=False,  # every Retry below is deliberate
            result_path=result_path,
        )
        # Lambda throttles and fails its own invokes in bursts: enough attempts to outlast a burst, capped waits.
        task.add_retry(errors=LAMBDA_SERVICE_ERRORS, interval=Duration.seconds(1), max_attempts=10,
                       backoff_rate=2, max_delay=Duration.seconds(30), jitter_strategy=sfn.JitterType.FULL)
        # A service the step calls throttled or failed through every SDK attempt (panic_button/aws.py): run
        # the step again. Every step is safe to rerun; SendInterrupt claims the interrupt before it sends.
        task.add_retry(errors=[AWS_UNAVAILABLE], interval=Duration.seconds(2), max_attempts=6,
                       backoff_rate=2, max_delay=Duration.seconds(60), jitter_strategy=sfn.JitterType.FULL)
        retry_throttled(task)
        target = self._record if catch_to == "record" else catch_to
        if target is not None:
            task.add_catch(target, errors=[sfn.Errors.ALL], result_path="$.error")
        return task

    def _recovery_loop(self, step: StepFunction) -> PollLoop:
        """Check at once after the interrupt, then after the wait each check chose from the console: none
        while the crash kernel writes the dump, a tight one once the instance should be back."""
        check = self._task("CheckRecovery", step, "$.recovery", catch_to=None)
        finished = sfn.Choice(self, "RecoveryDone?")
        wait = sfn.Wait(self, "WaitForRecovery", time=sfn.WaitTime.seconds_path("$.recovery.next_poll_seconds"))
        check.next(finished.otherwise(wait.next(check)))
        return PollLoop(start=check, finished=finished,
                        done=sfn.Condition.string_equals("$.recovery.status", "RECOVERED"))

    def _command_wait(self, name: str, phase: Literal["locate", "upload"], *, catch_to: sfn.IChainable
                      ) -> CommandWait:
        """Await the collector command's end event (`.waitForTaskToken`, resumed by CommandCompletion's Lambda
        with the CommandRef a poll would give). The command ended before the token was stored (CommandEnded),
        or no event came within COMMAND_EVENT_TIMEOUT: poll it, and wait again if it is still running."""
        state: dict[str, object] = {"phase": phase, "state": sfn.JsonPath.entire_payload}
        wait_for_end = tasks.LambdaInvoke(
            self, f"Await{name}", lambda_function=self._steps.await_command.function,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object({**state, "task_token": sfn.JsonPath.task_token}),
            retry_on_service_exceptions=False, result_path=f"$.{phase}",
            task_timeout=sfn.Timeout.duration(COMMAND_EVENT_TIMEOUT),
        )
        wait_for_end.add_retry(errors=LAMBDA_SERVICE_ERRORS, interval=Duration.seconds(2), max_attempts=4,
                               backoff_rate=2, jitter_strategy=sfn.JitterType.FULL)
        # The token store's DynamoDB call out of SDK retries, or a throttled invoke (which never ran): again.
        wait_for_end.add_retry(errors=[AWS_UNAVAILABLE], interval=Duration.seconds(2), max_attempts=6,
                               backoff_rate=2, max_delay=Duration.seconds(60), jitter_strategy=sfn.JitterType.FULL)
        retry_throttled(wait_for_end)
        poll = self._task(f"Poll{name}", self._steps.poll_command, f"$.{phase}", payload=state, catch_to=catch_to)
        # The state stays as it was: a fallback is no error, and $.error must keep meaning a failure.
        wait_for_end.add_catch(poll, errors=["CommandEnded", sfn.Errors.TIMEOUT], result_path=sfn.JsonPath.DISCARD)
        wait_for_end.add_catch(catch_to, errors=[sfn.Errors.ALL], result_path="$.error")
        finished = sfn.Choice(self, f"{name}Done?")
        again = sfn.Wait(self, f"WaitFor{name}", time=sfn.WaitTime.duration(self._poll))
        poll.next(finished.otherwise(again.next(wait_for_end)))
        return CommandWait(start=wait_for_end, finished=finished,
                           done=sfn.Condition.boolean_equals(f"$.{phase}.done", True))

    def _finish(self, topic: sns.ITopic) -> tasks.LambdaInvoke:
        record = tasks.LambdaInvoke(
            self, "RecordOutcome", lambda_function=self._steps.record_outcome.function,
            payload_response_only=True, retry_on_service_exceptions=False, result_path="$.outcome",
        )
        retry_throttled(record)  # before States.ALL, which must come last
        record.add_retry(errors=[sfn.Errors.ALL], interval=Duration.seconds(2), max_attempts=5, backoff_rate=2,
                         jitter_strategy=sfn.JitterType.FULL)
        # Last resort: if even the record cannot be written, say so on the topic before failing.
        alarm = tasks.SnsPublish(
            self, "NotifyRecordFailure", topic=topic,
            subject="[Panic Button] WORKFLOW_FAILED: outcome could not be recorded",
            message=sfn.TaskInput.from_object({
                "execution": sfn.JsonPath.string_at("$$.Execution.Id"),
                "error": sfn.JsonPath.object_at("$.record_error"),
            }),
            result_path=sfn.JsonPath.DISCARD,
        )
        alarm.add_retry(errors=[sfn.Errors.ALL], interval=Duration.seconds(2), max_attempts=5, backoff_rate=2,
                        jitter_strategy=sfn.JitterType.FULL)
        record.add_catch(alarm, errors=[sfn.Errors.ALL], result_path="$.record_error")
        alarm.next(sfn.Fail(self, "RecordFailed", error="RecordFailed",
                            cause="The outcome could not be recorded; see the notification and the logs."))
        failed = sfn.Fail(self, "WorkflowFailed", error="WorkflowFailed",
                          cause="An unexpected error stopped the remediation; the outcome was recorded and notified.")
        verdict = sfn.Choice(self, "Outcome?")
        verdict.when(sfn.Condition.boolean_equals("$.outcome.failed", True), failed)
        verdict.otherwise(sfn.Succeed(self, "Done"))
        record.next(verdict)
        return record


class PollLoop:
    """Check, wait, and loop until `done`; `then(next)` wires the exit."""

    def __init__(self, *, start: tasks.LambdaInvoke, finished: sfn.Choice, done: sfn.Condition) -> None:
        self.start, self.check, self._finished, self._done = start, start, finished, done

    def then(self, next_state: sfn.IChainable) -> None:
        self._finished.when(self._done, next_state)


def retry_throttled(task: tasks.LambdaInvoke) -> None:
    task.add_retry(errors=LAMBDA_THROTTLED, interval=Duration.seconds(1), max_attempts=12, backoff_rate=2,
                   max_delay=Duration.seconds(60), jitter_strategy=sfn.JitterType.FULL)


class CommandWait:
    """Await the command's end; the fallback poll's Choice and the Await step leave by the same `then(next)`."""

    def __init__(self, *, start: tasks.LambdaInvoke, finished: sfn.Choice, done: sfn.Condition) -> None:
        self.start, self._finished, self._done = start, finished, done

    def then(self, next_state: sfn.IChainable) -> None:
        self.start.next(next_state)
        self._finished.when(self._done, next_state)
