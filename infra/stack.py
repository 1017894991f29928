"""The Panic Button stack: composes one construct per concern and exposes what operators need."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import PanicButtonConfig
from infra.constructs.aborted_run_recorder import AbortedRunRecorder
from infra.constructs.alarm_manager import AlarmManager
from infra.constructs.alarm_trigger import AlarmTrigger
from infra.constructs.collector_documents import CollectorDocuments, regex_literal
from infra.constructs.command_completion import CommandCompletion
from infra.constructs.dump_protection import DumpProtection
from infra.constructs.evidence_store import EvidenceStore
from infra.constructs.notifications import Notifications
from infra.constructs.operations_dashboard import OperationsDashboard
from infra.constructs.readiness_document import ReadinessDocument
from infra.constructs.remediation_table import RemediationTable
from infra.constructs.remediation_workflow import RemediationWorkflow
from infra.constructs.storm_summaries import StormSummaries
from infra.constructs.workflow_steps import WorkflowSteps
from infra.suppressions import accept_parliament_finding

ROOT_KEY_ADMIN_REASON = ("CDK's default key-administration statement hands this key to IAM in this account (without "
                         "it the key is unmanageable); kms:* also names account-level actions no key policy can grant")


class PanicButtonStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: PanicButtonConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="Panic Button: diagnostic-interrupt rescue of hung "
                                                          "EC2 instances, with crash-dump collection", **kwargs)
        self.config = config
        key = kms.Key(self, "Key", enable_key_rotation=True, alias=f"alias/{construct_id.lower()}",
                      description="Panic Button: evidence, records, notifications and logs",
                      removal_policy=RemovalPolicy.RETAIN)
        # The default key policy's first statement: the account root may use kms:* on this key.
        for finding in ("PERMISSIONS_MANAGEMENT_ACTIONS", "RESOURCE_MISMATCH"):
            accept_parliament_finding(key, finding, ["kms:*"], ROOT_KEY_ADMIN_REASON)
        # The execution log group is encrypted with this key: CloudWatch Logs must be able to use it.
        # Conditioned to this account's log groups, so no other account's logs can use the key through the service.
        key.grant_encrypt_decrypt(iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com", conditions={
            # StringLike, not ArnLike: the encryption-context key is a String, and the pattern fixes every ARN part.
            "StringLike": {"kms:EncryptionContext:aws:logs:arn": self.format_arn(
                service="logs", resource="log-group", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME)},
        }))
        evidence = EvidenceStore(self, "EvidenceStore", key=key, retention_days=config.evidence_retention_days)
        dumps = DumpProtection(self, "DumpProtection", evidence=evidence, alias=f"alias/{construct_id.lower()}-dumps")
        table = RemediationTable(self, "Records", key=key)
        notifications = Notifications(self, "Notifications", key=key, emails=config.notification_emails)
        documents = CollectorDocuments(self, "CollectorDocuments",
                                       bucket_pattern=regex_literal(evidence.bucket.bucket_name),
                                       loopback=config.sandbox_collector_urls)
        readiness = ReadinessDocument(self, "Readiness")
        steps = WorkflowSteps(
            self, "Steps", config=config, key=key, evidence=evidence, table=table.table,
            topic=notifications.topic, document_arns=documents.arns(), dump_key=dumps.key,
            document_names={"linux": documents.linux.ref, "windows": documents.windows.ref},
        )
        workflow = RemediationWorkflow(self, "Workflow", config=config, steps=steps, key=key,
                                       topic=notifications.topic)
        trigger = AlarmTrigger(self, "Trigger", alarm_name_prefix=config.alarm_name_prefix,
                               state_machine=workflow.state_machine, key=key)
        recorder = AbortedRunRecorder(self, "AbortedRuns", shared=steps.shared, state_machine=workflow.state_machine,
                                      table=table.table, topic=notifications.topic, key=key, evidence=evidence)
        # StartUpload creates the multipart upload and signs its parts; CompleteUpload completes it, reads the
        # dmesg back and writes manifest.json; TriageDump reads those. AbandonCollection and the aborted-run
        # recorder only head the dump (completed or not) before they abort the upload or tag the dump.
        dumps.allow(writers=[steps.start_upload.role, steps.complete_upload.role],
                    readers=[steps.triage_dump.role],
                    cleaners=[steps.abandon_collection.role, recorder.step.role],
                    reader_arns=config.dump_reader_arns)
        storms = StormSummaries(self, "Storms", shared=steps.shared, table=table.table, topic=notifications.topic,
                                key=key)
        completion = CommandCompletion(self, "CommandCompletion", shared=steps.shared, table=table.table,
                                       topic=notifications.topic, key=key,
                                       document_names=[documents.linux.ref, documents.windows.ref])
        alarm_manager = AlarmManager(
            self, "AlarmManager", shared=steps.shared,
            alarm_name_prefix=config.alarm_name_prefix,
            opt_in_tag_key=config.opt_in_tag_key, opt_in_tag_value=config.opt_in_tag_value,
            datapoints_to_alarm=config.alarm_datapoints, evaluation_periods=config.alarm_evaluation_periods,
            reconcile_every_minutes=config.reconcile_schedule_minutes,
            extra_instance_ids=config.extra_instance_ids,
        )
        dashboard = OperationsDashboard(self, "Operations", state_machine=workflow.state_machine,
                                        dead_letters=trigger.dead_letters,
                                        steps=[*steps.all(), recorder.step, storms.step, completion.step],
                                        topic=notifications.topic)
        # Alarm actions publish to the encrypted topic: CloudWatch must be able to use the key.
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com", conditions={
            "ArnLike": {"aws:SourceArn": self.format_arn(service="cloudwatch", resource="alarm", resource_name="*",
                                                         arn_format=ArnFormat.COLON_RESOURCE_NAME)},
        }), "kms:Decrypt", "kms:GenerateDataKey")

        # For the organization hub (infra/organization/hub_stack.py), which adds to this stack.
        self.key, self.steps, self.workflow, self.alarm_manager = key, steps, workflow, alarm_manager

        self._output("StateMachineArn", workflow.state_machine.state_machine_arn, "Start executions here")
        self._output("EvidenceBucketName", evidence.bucket.bucket_name, "Console captures, dumps and reports")
        self._output("DumpKeyArn", dumps.key.key_arn,
                     "KMS key of the dumps: only the workflow and panic-button:dump-reader-arns may decrypt")
        self._output("AccessLogsBucketName", evidence.access_logs.bucket_name,
                     "S3 server access logs of the evidence bucket")
        self._output("TableName", table.table.table_name, "Remediation records, locks and cooldowns")
        self._output("TopicArn", notifications.topic.topic_arn, "Subscribe to outcome notifications")
        self._output("LinuxCollectorDocument", documents.linux.ref, "SSM document that collects Linux dumps")
        self._output("WindowsCollectorDocument", documents.windows.ref, "SSM document that collects Windows dumps")
        self._output("ReadinessDocument", readiness.document.ref, "SSM document behind panic-button readiness")
        self._output("DeadLetterQueueUrl", trigger.dead_letters.queue_url, "Alarm events that failed to start")
        self._output("DashboardName", dashboard.dashboard.dashboard_name, "CloudWatch dashboard of outcomes")
        self._output("AlarmManagerFunctionName", alarm_manager.function.function_name,
                     "Invoke with {\"action\": \"scan\"} to reconcile status-check alarms now")
        self._output("OptInTag", f"{config.opt_in_tag_key}={config.opt_in_tag_value}", "Tag that opts in")
        self._output("ApprovalTag", f"{config.opt_in_tag_key}={config.approval_tag_value}",
                     "Tag that opts in with a person's approval before each interrupt")
        self._output("AlarmNamePrefix", config.alarm_name_prefix, "Alarms with this prefix start the workflow")

    def _output(self, name: str, value: str, description: str) -> None:
        CfnOutput(self, name, value=value, description=description)

