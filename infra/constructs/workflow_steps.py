"""The workflow's Lambdas, one per step, each with exactly the permissions its step needs."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct
from panic_button.logic.kernel_symbols import SYMBOLS_PREFIX

from infra.analysis_asset import analysis_asset
from infra.config import PanicButtonConfig
from infra.constructs.evidence_store import EvidenceStore
from infra.constructs.step_function import RUNTIME, SharedFunctionProps, StepFunction
from infra.suppressions import accept_parliament_finding
from infra.wheel_assets import dependencies_layer

WHEELS = Path(".cache") / "wheels"  # filled by `make synth` (pip download of drgn's wheel)
ANALYSIS_STAGING = Path(".cache") / "analysis-asset"
LAYER_REQUIREMENTS = Path("requirements-lambda.txt")
LAYER_WHEELS = Path(".cache") / "layer-wheels"  # filled by `make synth` (pip download of the pinned wheels)
LAYER_STAGING = Path(".cache") / "layer-asset"
VMLINUX_ALLOWANCE_MB = 1024  # of the ephemeral storage, kept for the vmlinux (Debian's is 633 MB)
KMS_DATA_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]
KMS_TABLE_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
_EVIDENCE_OBJECTS = ("Objects are named per instance and execution at run time, always under the evidence prefix of "
                     "this stack's bucket")
_NO_RESOURCE_LEVEL = "{} support no resource-level permissions (AWS service authorization reference)"


class WorkflowSteps(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: PanicButtonConfig, key: kms.IKey,
                 evidence: EvidenceStore, table: dynamodb.ITable, topic: sns.ITopic,
                 document_arns: list[str], document_names: dict[str, str], dump_key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self._config, self._key, self._evidence = config, key, evidence
        self._table, self._document_arns = table, document_arns
        # The stack's own layer, from the pinned wheels: no published layer ARN to look up per partition and Region.
        layer = lambda_.LayerVersion(
            self, "Dependencies", code=lambda_.Code.from_asset(str(dependencies_layer(
                LAYER_REQUIREMENTS, LAYER_WHEELS, LAYER_STAGING))),
            compatible_runtimes=[RUNTIME], compatible_architectures=[lambda_.Architecture.X86_64],
            description="Panic Button: Powertools for AWS Lambda and Pydantic (requirements-lambda.txt)",
        )
        self._shared = SharedFunctionProps(
            code=lambda_.Code.from_asset("lambdas", exclude=["**/__pycache__", "**/*.pyc"]),
            layer=layer,
            key=key,
            environment=_environment(config, evidence, table, topic, document_names, dump_key=dump_key),
        )
        self.resolve_target = self._step("ResolveTarget", "resolve_target", "parse the alarm or manual input")
        self.check_eligibility = self._step("CheckEligibility", "check_eligibility",
                                            "authorize by opt-in tag and check interrupt support")
        self.check_eligibility.allow(["ec2:DescribeInstances", "ec2:DescribeInstanceTypes"], ["*"],
                                     wildcard_reason=_NO_RESOURCE_LEVEL.format("EC2 Describe* calls"))
        self.apply_guards = self._step("ApplyGuards", "apply_guards", "lock, cooldown and fleet rate limit")
        self._use_table(self.apply_guards, ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"])
        self.capture_evidence = self._step("CaptureEvidence", "capture_evidence",
                                           "store console output and screenshot", timeout=60)
        self._on_opted_in_instances(self.capture_evidence, ["ec2:GetConsoleOutput", "ec2:GetConsoleScreenshot"])
        self._write_evidence(self.capture_evidence, reads=False)  # console output and screenshot: written only
        self.confirm_impaired = self._step("ConfirmImpaired", "confirm_impaired", "re-check the status checks")
        self.confirm_impaired.allow(["ec2:DescribeInstanceStatus"], ["*"],
                                    wildcard_reason=_NO_RESOURCE_LEVEL.format("ec2:DescribeInstanceStatus"))
        self.send_interrupt = self._step("SendInterrupt", "send_interrupt", "send the diagnostic interrupt")
        self._on_opted_in_instances(self.send_interrupt, ["ec2:SendDiagnosticInterrupt"])
        # GetItem: a rerun of the step reads the claim an earlier attempt left, so it never sends twice.
        self._use_table(self.send_interrupt, ["dynamodb:UpdateItem", "dynamodb:GetItem"])
        self.check_recovery = self._step("CheckRecovery", "check_recovery", "poll status checks and SSM agent")
        self.check_recovery.allow(["ec2:DescribeInstanceStatus", "ssm:DescribeInstanceInformation"], ["*"],
                                  wildcard_reason=_NO_RESOURCE_LEVEL.format(
                                      "ec2:DescribeInstanceStatus and ssm:DescribeInstanceInformation"))
        # The last poll reads the console to say whether the kernel ignored the NMI or never came back.
        self._on_opted_in_instances(self.check_recovery, ["ec2:GetConsoleOutput"])
        self.apply_fallback = self._step("ApplyFallback", "apply_fallback", "optional reboot after no recovery")
        if config.not_recovered_fallback == "reboot":
            # GetConsoleOutput first: no reboot while the console shows kdump still saving the dump.
            self._on_opted_in_instances(self.apply_fallback, ["ec2:RebootInstances", "ec2:GetConsoleOutput"])
        self.start_locate = self._step("StartLocate", "start_locate", "ask the instance where its dump is")
        self._send_collector_command(self.start_locate)
        self.poll_command = self._poll_command_step()
        self.await_command = self._await_command_step()
        self._upload_steps()
        # 120 s: every cleanup step runs even when another one's calls run out their retries and timeouts.
        self.abandon_collection = self._step("AbandonCollection", "abandon_collection",
                                             "cancel the collector, abort the upload, delete the manifests",
                                             timeout=120)
        self.abandon_collection.allow(["ssm:CancelCommand"], ["*"],
                                      wildcard_reason="ssm:CancelCommand names a command ID, which has no ARN to "
                                                      "scope to; it can only stop commands, not start them")
        # Abandoning reads no content (HeadObject is s3:GetObject) and writes only the notes that use up the
        # write-once URLs (grant_spend_write_once).
        self.abandon_collection.allow(["s3:GetObject", "s3:AbortMultipartUpload"],
                                      [self._evidence.objects_arn()], wildcard_reason=_EVIDENCE_OBJECTS)
        grant_spend_write_once(self.abandon_collection, self._evidence, self._key)
        # The dump-integrity tests end in AbandonCollection with a completed, unverified dump: it tags it.
        grant_abandon_fallbacks(self.abandon_collection, self._evidence, tagging_exercised=True)
        self._tell_missing_from_denied(self.abandon_collection)
        self._purge_manifests(self.abandon_collection)
        self.triage_dump = self._triage_dump_step(config, evidence)
        self.request_approval = self._request_approval_step(topic)
        self.record_outcome = self._step("RecordOutcome", "record_outcome", "record, notify and count the outcome")
        # Query: find_requested_at looks up this execution's earlier record when the target was never resolved.
        self._use_table(self.record_outcome, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                                              "dynamodb:Query"], publishes=True)
        self.record_outcome.allow(["sns:Publish"], [topic.topic_arn])
        self.record_outcome.allow(KMS_DATA_ACTIONS, [key.key_arn])
        for step in self.all():
            step.acknowledge_star()

    def _triage_dump_step(self, config: PanicButtonConfig, evidence: EvidenceStore) -> StepFunction:
        # The vmcore analysis runs here: drgn in its own asset, /tmp sized for the dump and the vmlinux.
        ephemeral = config.analysis_ephemeral_mb
        triage_dump = StepFunction(
            self, "TriageDump", step="triage_dump", description="analyse the crash dump and triage its kernel log",
            shared=self._shared, timeout=Duration.seconds(600), memory_mb=config.analysis_memory_mb,
            code=lambda_.Code.from_asset(str(analysis_asset(Path("lambdas"), WHEELS, ANALYSIS_STAGING))),
            ephemeral_mb=ephemeral,
            extra_environment={"ANALYSIS_MAX_DUMP_BYTES": str(max(0, ephemeral - VMLINUX_ALLOWANCE_MB) * 1024 * 1024),
                               "DEBUGINFOD_URLS": " ".join(config.debuginfod_urls)},
        )
        self._write_evidence(triage_dump)
        triage_dump.allow(["s3:GetObject"], [evidence.bucket.arn_for_objects(f"{SYMBOLS_PREFIX}/*")],
                          wildcard_reason="Kernel debug symbols are stored by build ID under symbols/, "
                                          "which the dump names only at run time")
        # A kernel with no symbols stored is the common case: S3 must answer 404 (no symbols), not 403.
        self._tell_missing_from_denied(triage_dump)
        return triage_dump

    def _upload_steps(self) -> None:
        """StartUpload and CompleteUpload: the dump's multipart upload, signed part by part, and its check."""
        self.start_upload = self._step("StartUpload", "start_upload", "presign and start the dump upload",
                                       timeout=120, memory_mb=512)
        self._start_upload_grants(self.start_upload)
        # The locate command's stdout, read from SSM itself: it anchors the part checksums the URLs sign.
        self._read_command_output(self.start_upload)
        self._purge_manifests(self.start_upload)  # the spent locate manifest
        # A reported dump size is checked against the instance type's memory.
        self.start_upload.allow(["ec2:DescribeInstanceTypes"], ["*"],
                                wildcard_reason=_NO_RESOURCE_LEVEL.format("ec2:DescribeInstanceTypes"))
        # No read-back of the dump: verification takes the same few calls whatever the dump's size.
        self.complete_upload = self._step("CompleteUpload", "complete_upload",
                                          "complete the multipart upload and verify S3's composite SHA-256",
                                          timeout=120)
        # PutObjectTagging: a completed dump that fails verification is kept, tagged unverified.
        self._write_evidence(self.complete_upload, extra=["s3:AbortMultipartUpload", "s3:PutObjectTagging",
                                                          "s3:DeleteObject"])
        self.complete_upload.explain_unexercised(
            ["s3:AbortMultipartUpload"], "aborts the upload when it fails before completing (no result, a result "
                                         "that does not match the plan, CompleteMultipartUpload refused: "
                                         "collection_verify._fail); the sandbox's attacks all fail after it")
        self.complete_upload.explain_unexercised(
            ["s3:DeleteObject"], "deletes a dmesg whose stored SHA-256 differs from the collector's "
                                 "(collection_verify._verified_dmesg), which no sandbox run writes")
        self._tell_missing_from_denied(self.complete_upload,
                                       unexercised_reason="only when the collector's upload result is missing and "
                                                          "its command output is the fallback; the sandbox replays "
                                                          "that path for StartUpload's locate result")
        self._purge_manifests(self.complete_upload)
        self._read_command_output(self.complete_upload)

    def _request_approval_step(self, topic: sns.ITopic) -> StepFunction:
        # Stores the task token (keyed by execution, with a TTL) and publishes the approval request.
        request_approval = self._step("RequestApproval", "request_approval",
                                      "store the task token and ask a person to approve the interrupt")
        self._use_table(request_approval, ["dynamodb:PutItem"], publishes=True)
        request_approval.allow(["sns:Publish"], [topic.topic_arn])
        request_approval.allow(KMS_DATA_ACTIONS, [self._key.key_arn])
        return request_approval

    def _poll_command_step(self) -> StepFunction:
        step = self._step("PollCommand", "poll_command", "poll the collector command")
        step.allow(["ssm:GetCommandInvocation"], ["*"],
                                wildcard_reason=_NO_RESOURCE_LEVEL.format("ssm:GetCommandInvocation"))
        return step

    def _await_command_step(self) -> StepFunction:
        # The `.waitForTaskToken` step after each Start: its token waits in the table for the command's end event.
        step = self._step("AwaitCommand", "await_command", "leave the task token for the collector command's end")
        self._use_table(step, ["dynamodb:UpdateItem"])
        return step

    @property
    def shared(self) -> SharedFunctionProps:
        """The code asset and layer, for other functions of the stack (the alarm manager)."""
        return self._shared

    def all(self) -> list[StepFunction]:
        return [child for child in self.node.children if isinstance(child, StepFunction)]

    def _step(self, construct_id: str, step: str, description: str, *, timeout: int = 30,
              memory_mb: int = 256) -> StepFunction:
        return StepFunction(self, construct_id, step=step, description=description, shared=self._shared,
                            timeout=Duration.seconds(timeout), memory_mb=memory_mb)

    def _opt_in_condition(self, key_prefix: str = "aws:ResourceTag") -> dict[str, dict[str, str | list[str]]]:
        # Both opt-in values: an approval instance is interrupted too, once a person (or the timeout) said so.
        return {"StringEquals": {f"{key_prefix}/{self._config.opt_in_tag_key}": self._config.opt_in_tag_values}}

    def _on_opted_in_instances(self, step: StepFunction, actions: list[str]) -> None:
        # Enforced in IAM too: even a bug in the tag check cannot touch an instance that is not opted in.
        step.allow(actions, [step.instance_arns()], self._opt_in_condition(),
                   wildcard_reason=f"Any instance, but only while it carries the opt-in tag "
                                   f"{self._config.opt_in_tag_key}={self._config.opt_in_tag_value} or "
                                   f"{self._config.opt_in_tag_key}={self._config.approval_tag_value} "
                                   f"(aws:ResourceTag condition)")

    def _send_collector_command(self, step: StepFunction) -> None:
        step.allow(["ssm:SendCommand"], self._document_arns)
        # A rerun of the step looks for the command an earlier attempt sent (collection.find_sent_command).
        step.allow(["ssm:ListCommandInvocations"], ["*"],
                   wildcard_reason=_NO_RESOURCE_LEVEL.format("ssm:ListCommandInvocations"))
        step.allow(["ssm:SendCommand"], [step.instance_arns()], self._opt_in_condition("ssm:resourceTag"),
                   wildcard_reason="SendCommand only on instances carrying the opt-in tag (ssm:resourceTag "
                                   "condition), and only with this stack's collector documents")
        # The two statements cannot merge: the tag condition would then apply to the documents too.
        accept_parliament_finding(step.role, "RESOURCE_MISMATCH", ["ssm:SendCommand"],
                                  "parliament checks each statement alone and wants the document resource in the "
                                  "instance statement; the collector documents are granted in the statement above")
        # DeleteObject: a stale result is deleted before a manifest is written. GetObject and kms:Decrypt: the
        # collector GETs its manifest through a URL this role presigns, so as this role; StartUpload also reads
        # the locate result. Both under collector/ only: neither step reads a dump.
        self._write_evidence(step, extra=["s3:DeleteObject"], reads=False)
        step.allow(["s3:GetObject"], [self._evidence.bucket.arn_for_objects(f"{self._evidence.prefix}/*/collector/*")],
                   wildcard_reason="The collector's manifests and results, named per instance and execution at run "
                                   "time under the evidence prefix of this stack's bucket")
        step.allow(["kms:Decrypt"], [self._key.key_arn])

    def _read_command_output(self, step: StepFunction) -> None:
        step.allow(["ssm:GetCommandInvocation"], ["*"],
                   wildcard_reason=_NO_RESOURCE_LEVEL.format("ssm:GetCommandInvocation"))

    def _write_evidence(self, step: StepFunction, extra: list[str] | None = None, *, reads: bool = True) -> None:
        # Dumps hold memory: s3:GetObject only for the steps that read evidence back.
        step.allow(["s3:PutObject", *(["s3:GetObject"] if reads else []), *(extra or [])],
                   [self._evidence.objects_arn()], wildcard_reason=_EVIDENCE_OBJECTS)
        # SSE-KMS: writing needs kms:GenerateDataKey, reading kms:Decrypt.
        step.allow(KMS_DATA_ACTIONS if reads else ["kms:GenerateDataKey"], [self._key.key_arn])

    def _start_upload_grants(self, step: StepFunction) -> None:
        self._send_collector_command(step)
        self._tell_missing_from_denied(step)
        # A SendCommand that fails after CreateMultipartUpload aborts that upload before the step is retried
        # (found by the sandbox's IAM evaluation under fault injection: without it the run failed).
        step.allow(["s3:AbortMultipartUpload"], [self._evidence.objects_arn()], wildcard_reason=_EVIDENCE_OBJECTS,
                   unexercised_reason="only when SendCommand fails after the multipart upload was created: the "
                                      "fault matrix reaches it at some seeds")

    def _tell_missing_from_denied(self, step: StepFunction, *, unexercised_reason: str | None = None) -> None:
        # Without s3:ListBucket, S3 answers a missing key with 403 AccessDenied, not 404: the collector's result
        # (read with the command's output as fallback) and the never-completed dump (abandon) may be missing.
        step.allow(["s3:ListBucket"], [self._evidence.bucket.bucket_arn], unexercised_reason=unexercised_reason)

    def _purge_manifests(self, step: StepFunction) -> None:
        # The bucket is versioned: a deleted manifest's noncurrent version still serves its URLs, so every
        # version goes. Listing versions is a bucket action: limited to the evidence prefix by s3:prefix.
        step.allow(["s3:DeleteObjectVersion"], [self._evidence.objects_arn()],
                   wildcard_reason="Manifests are named per instance and execution at run time, always under "
                                   "the evidence prefix of this stack's bucket")
        step.allow(["s3:ListBucketVersions"], [self._evidence.bucket.bucket_arn],
                   {"StringLike": {"s3:prefix": f"{self._evidence.prefix}/*"}})

    def _use_table(self, step: StepFunction, actions: list[str], *, publishes: bool = False) -> None:
        step.allow(actions, [self._table.table_arn])
        grant_table_key(step, self._key, publishes=publishes)


def grant_table_key(step: StepFunction, key: kms.IKey, *, publishes: bool = False) -> None:
    """The table's customer managed key, for a step that reads or writes the records table. A step that
    also publishes to the topic (the same key) uses kms:GenerateDataKey for that."""
    step.allow(KMS_TABLE_ACTIONS, [key.key_arn])
    step.explain_unexercised(["kms:DescribeKey", "kms:Encrypt", *([] if publishes else ["kms:GenerateDataKey"])],
                             "DynamoDB uses the table's customer managed key with the caller's permissions "
                             "(DynamoDB's key-policy guidance lists these); the sandbox models kms:Decrypt only")


def grant_spend_write_once(step: StepFunction, evidence: EvidenceStore, key: kms.IKey) -> None:
    """PutObject on the write-once keys only (the collector's results and logs, the dmesg), and only as a
    create: S3 refuses the call without If-None-Match, so these roles can never overwrite what the collector
    wrote (collection_cleanup.spend_write_once_urls). kms:GenerateDataKey: the bucket's default key."""
    prefix = evidence.prefix
    keys = [evidence.bucket.arn_for_objects(f"{prefix}/*/collector/*.{kind}") for kind in ("result", "log")]
    keys.append(evidence.bucket.arn_for_objects(f"{prefix}/*/dump/vmcore-dmesg.txt"))
    step.allow(["s3:PutObject"], keys, {"Null": {"s3:if-none-match": "false"}},
               wildcard_reason="The write-once keys of every collection (named per instance and execution at run "
                               "time) under the evidence prefix, as creates only (s3:if-none-match present)")
    step.allow(["kms:GenerateDataKey"], [key.key_arn])


def grant_abandon_fallbacks(step: StepFunction, evidence: EvidenceStore, *, tagging_exercised: bool = False) -> None:
    """What abandoning a collection does only off the common path (logic/abandon.py), for AbandonCollection
    and the aborted-run recorder alike."""
    step.allow(["s3:PutObjectTagging"], [evidence.objects_arn()], wildcard_reason=_EVIDENCE_OBJECTS,
               unexercised_reason=None if tagging_exercised else (
                   "tags a dump completed but never verified panic-button:verified=false: an execution ending "
                   "between CompleteMultipartUpload and its verification, which no sandbox run stops at"))
    step.allow(["s3:DeleteObject"], [evidence.objects_arn()], wildcard_reason=_EVIDENCE_OBJECTS,
               unexercised_reason="only when purging a manifest's versions fails: deleting its current version "
                                  "at least stops GetObject serving the URLs in it (abandon._purge)")


def _environment(config: PanicButtonConfig, evidence: EvidenceStore, table: dynamodb.ITable, topic: sns.ITopic,
                 document_names: dict[str, str], *, dump_key: kms.IKey) -> dict[str, str]:
    return {
        "POWERTOOLS_SERVICE_NAME": "panic-button",
        "POWERTOOLS_METRICS_NAMESPACE": "PanicButton",
        "TABLE_NAME": table.table_name,
        "BUCKET_NAME": evidence.bucket.bucket_name,
        "DUMP_KEY_ARN": dump_key.key_arn,  # dumps, their dmesg and manifest.json only
        "EVIDENCE_PREFIX": evidence.prefix,
        "TOPIC_ARN": topic.topic_arn,
        "LINUX_DOCUMENT": document_names["linux"],
        "WINDOWS_DOCUMENT": document_names["windows"],
        "OPT_IN_TAG_KEY": config.opt_in_tag_key,
        "OPT_IN_TAG_VALUE": config.opt_in_tag_value,
        "APPROVAL_TAG_VALUE": config.approval_tag_value,
        "APPROVAL_TIMEOUT_SECONDS": str(config.approval_timeout_seconds),
        "APPROVAL_HEARTBEAT_SECONDS": str(config.approval_heartbeat_seconds),
        "APPROVAL_ON_TIMEOUT": config.approval_on_timeout,
        "COOLDOWN_SECONDS": str(config.cooldown_seconds),
        "RATE_LIMIT_PER_HOUR": str(config.rate_limit_per_hour),
        "BREAKER_ALARMS": str(config.breaker_alarms),
        "BREAKER_WINDOW_SECONDS": str(config.breaker_window_seconds),
        "POLL_INTERVAL_SECONDS": str(config.poll_interval_seconds),
        "RECOVERY_TIMEOUT_SECONDS": str(config.recovery_timeout_seconds),
        "COLLECTION_TIMEOUT_SECONDS": str(config.collection_timeout_seconds),
        "UPLOAD_PARALLEL_PARTS": str(config.upload_parallel_parts),
        "WORKFLOW_TIMEOUT_SECONDS": str(config.workflow_timeout_seconds),
        "NOT_RECOVERED_FALLBACK": config.not_recovered_fallback,
        "DRY_RUN_DEFAULT": str(config.dry_run).lower(),
        "RECORD_RETENTION_DAYS": str(config.record_retention_days),
    }


