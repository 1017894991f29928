"""The sandbox: a local AWS in which Panic Button's real workflow runs end to end.

with Sandbox(workdir=tmp_path, time_scale=100.0) as sandbox:
    deployment = sandbox.deploy(Path("cdk.out"), stack_name="PanicButton")
    instance = sandbox.launch_instance(InstanceSpec(platform="linux"))
    [execution_arn] = sandbox.set_alarm_state(alarm_name, "ALARM")
    result = sandbox.wait_for_execution(execution_arn)
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from moto.events.models import events_backends

from panic_button_sandbox.alarm_actions import AlarmActionLog
from panic_button_sandbox.command_events import CommandEvents
from panic_button_sandbox.command_runner import CommandRunner, ExitHook
from panic_button_sandbox.deploy import Deployment, deploy
from panic_button_sandbox.deploy.stack_record import register_stack
from panic_button_sandbox.ec2_events import install_ec2_events
from panic_button_sandbox.event_routing import ExecutionLedger, fire_schedule, install_event_routing
from panic_button_sandbox.execution_events import install_execution_events
from panic_button_sandbox.execution_watch import wait_for_executions
from panic_button_sandbox.faults.injection import FaultInjector
from panic_button_sandbox.faults.lambda_errors import install_lambda_error_names
from panic_button_sandbox.faults.spec import FaultSpec
from panic_button_sandbox.iam.emulator_state import EmulatorState
from panic_button_sandbox.iam.enforcement import IamEnforcement
from panic_button_sandbox.iam.presigned import install_presigned_authorization
from panic_button_sandbox.instances import InstanceFleet, InstanceSpec, SimulatedInstance
from panic_button_sandbox.lambda_dispatch import LambdaDispatcher
from panic_button_sandbox.moto_ec2 import install_ec2_extensions
from panic_button_sandbox.moto_s3 import install_s3_checksums
from panic_button_sandbox.moto_ssm import install_ssm_extensions
from panic_button_sandbox.patches import Patches
from panic_button_sandbox.s3_access_logs import AccessLogs
from panic_button_sandbox.server import ACCOUNT_ID, REGION, LocalAws
from panic_button_sandbox.state_machine_identity import install_state_machine_identity
from panic_button_sandbox.task_callbacks import install_task_callbacks
from panic_button_sandbox.time_scale import scale_interpreter_sleeps, scale_sdk_backoff

# Launching from fixed AMI ids is fast; describe_images(Owners=["amazon"]) is slow in moto.
LINUX_AMI_ID = "ami-760aaa0f"  # amzn-ami-hvm-2017.09.1 in moto's built-in catalogue
WINDOWS_AMI_ID = "ami-b7e93bce"  # Windows_Server-2016-English-Full-Base in the same catalogue

_one_sandbox_per_process = threading.Lock()
_LOG = logging.getLogger(__name__)
# Lambdas that EventBridge invoked may still run at close: let them finish before the server goes away.
_CLOSE_WAITS_FOR_FUNCTIONS_SECONDS = 30.0


class Sandbox:
    """moto on 127.0.0.1, extended so the workflow really runs: Lambdas, SSM documents, instances.

    `time_scale` divides every simulated duration: Step Functions Wait states and Retry intervals, the SDK's
    retry backoff, instance reboots, SSM delivery and execution timeouts. `faults` (or `use_faults(spec)` later)
    makes the stack's own AWS calls fail as the FaultSpec says (panic_button_sandbox/faults/). The process
    environment points AWS SDKs at the sandbox while it runs. One sandbox per process at a time (moto's backends
    are process-wide).
    """

    def __init__(self, workdir: Path, time_scale: float = 1.0, port: int = 0,
                 faults: FaultSpec | None = None) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.workdir = workdir
        self.time_scale = time_scale
        self._aws = LocalAws(port)
        self._patches = Patches()
        self._fleet = InstanceFleet()
        self._ledger = ExecutionLedger()
        self.alarm_actions = AlarmActionLog()  # what each alarm's SNS actions did (delivered, or denied)
        self.iam = IamEnforcement(EmulatorState(ACCOUNT_ID, REGION))
        self._dispatcher = LambdaDispatcher(self.iam)
        self.faults = FaultInjector(self.iam)  # what fails, and the log of what was made to fail
        self._initial_faults = faults or FaultSpec()
        self._runner: CommandRunner | None = None
        self.access_logs = AccessLogs(ACCOUNT_ID)

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        if not _one_sandbox_per_process.acquire(blocking=False):
            raise RuntimeError("another Sandbox is already running in this process")
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._aws.start()
            self._runner = CommandRunner(self.time_scale, self._upload_output,
                                         CommandEvents(ACCOUNT_ID, REGION).status_changed)
            scale_interpreter_sleeps(self._patches, self.time_scale)
            scale_sdk_backoff(self._patches, self.time_scale)
            install_task_callbacks(self._patches, self.time_scale)
            install_ec2_extensions(self._patches, self._fleet)
            install_ec2_events(self._patches)
            install_s3_checksums(self._patches)
            install_ssm_extensions(self._patches, self._fleet, self._runner)
            install_event_routing(self._patches, self._ledger, self.iam, self.alarm_actions)
            install_execution_events(self._patches)
            self._dispatcher.install(self._patches)
            self.iam.install(self._patches)
            install_state_machine_identity(self._patches, self.iam)
            install_lambda_error_names(self._patches)
            self.faults.install(self._patches)  # inside the presigned authorization: IAM answers first
            install_presigned_authorization(self._patches, self.iam)
            self.access_logs.install(self._patches)  # outside the authorization: refused requests are logged
            self.faults.on_part_upload = self._runner.part_uploaded.set
            self.use_faults(self._initial_faults)
        except BaseException:
            self._patches.undo_all()
            _one_sandbox_per_process.release()
            raise

    def close(self) -> None:
        try:
            for instance in self._fleet.all():
                instance.close()
            if self._runner is not None:
                self._runner.shutdown()
            self._stop_running_executions()
            self._wait_for_functions_before_close()
            self._aws.stop()
        finally:
            self._patches.undo_all()
            _one_sandbox_per_process.release()

    def use_faults(self, spec: FaultSpec) -> None:
        """Inject `spec`'s faults from now on (FaultSpec() for none); `self.faults.injected` logs each one."""
        self.faults.use(spec)
        if self._runner is not None:
            self._runner.drop_agent_at = spec.ssm_offline_at

    def on_script_exit(self, hook: ExitHook | None) -> None:
        """Run `hook` between a command script's exit and the agent's report of it (None: no hook)."""
        if self._runner is not None:
            self._runner.on_script_exit = hook

    @property
    def endpoint_url(self) -> str:
        return self._aws.endpoint_url

    @property
    def environment(self) -> dict[str, str]:
        """What another process needs to reach this sandbox: endpoint, region and its fake credentials."""
        return self._aws.environment

    def client(self, service: str) -> Any:
        """A boto3 client for `service` on the sandbox (standard retry mode)."""
        return self._aws.client(service)

    def deploy(self, cdk_out: Path, stack_name: str) -> Deployment:
        """Deploy `cdk_out/<stack_name>.template.json` with its assets from `cdk_out`."""
        return self.deploy_template(cdk_out / f"{stack_name}.template.json", cdk_out, stack_name)

    def deploy_template(self, template_path: Path, assets_dir: Path, stack_name: str | None = None) -> Deployment:
        """Deploy one template; raises StaleAssetsError when a function's asset differs from the source."""
        deployment = deploy(template_path, assets_dir, self.client, stack_name)
        for bucket, document in deployment.bucket_policies.items():
            self.iam.state.keep_bucket_policy(bucket, document)
        for bucket, (target, prefix) in deployment.access_logs.items():
            self.access_logs.configure(bucket, target, prefix)
        for function in deployment.functions:
            self._dispatcher.register(function.function_name, function.handler, function.asset_dir)
        register_stack(self.client("cloudformation"), deployment.stack_name, deployment.outputs)
        return deployment

    def launch_instance(self, spec: InstanceSpec | None = None) -> SimulatedInstance:
        """RunInstances in moto, then simulate the instance's OS per `spec`."""
        spec = spec or InstanceSpec()
        ec2 = self.client("ec2")
        tag_list = [{"Key": key, "Value": value} for key, value in spec.tags.items()]
        [described] = ec2.run_instances(
            ImageId=WINDOWS_AMI_ID if spec.platform == "windows" else LINUX_AMI_ID,
            InstanceType=spec.instance_type,
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list}] if tag_list else [],
        )["Instances"]
        instance_id = described["InstanceId"]
        if spec.state == "stopped":
            ec2.stop_instances(InstanceIds=[instance_id])
        elif spec.state == "terminated":
            ec2.terminate_instances(InstanceIds=[instance_id])
        instance = _backend(spec)(instance_id, spec, self.workdir / "instances" / instance_id, self.time_scale)
        self._fleet.add(instance)
        return instance

    def instance(self, instance_id: str) -> SimulatedInstance:
        found = self._fleet.get(instance_id)
        if found is None:
            raise KeyError(f"{instance_id} is not a simulated instance")
        return found

    def limit_lambda_concurrency(self, limit: int | None) -> None:
        """Emulate the account's Lambda concurrency quota (None: unlimited, the default): a synchronous
        invocation past it is answered 429 TooManyRequestsException (see lambda_dispatch). The throttle count
        and the peak concurrency start again from here."""
        self._dispatcher.limit_concurrency(limit)

    @property
    def lambda_throttles(self) -> int:
        """Synchronous invocations answered 429 since the quota was last set."""
        return self._dispatcher.throttled

    @property
    def lambda_peak_concurrency(self) -> int:
        """The most invocations in flight at once since the quota was last set."""
        return self._dispatcher.peak_in_flight

    def interrupt_count(self, instance_id: str) -> int:
        """SendDiagnosticInterrupt calls accepted for this instance (DryRun and rejected calls excluded)."""
        return self._fleet.interrupt_count(instance_id)

    def put_event(self, event: dict[str, Any]) -> list[str]:
        """Put an event (in the shape EventBridge delivers) on the default bus; returns started executions."""
        entry: dict[str, Any] = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event.get("detail", {})),
            "Resources": event.get("resources", []),
        }
        if "time" in event:
            entry["Time"] = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
        [result] = self.client("events").put_events(Entries=[entry])["Entries"]
        if "EventId" not in result:
            raise ValueError(f"PutEvents rejected the event: {result}")
        return self._ledger.executions_started_by(result["EventId"])

    def rule_matches(self, event: dict[str, Any]) -> list[str]:
        """Names of the default bus's rules whose pattern matches `event` (via TestEventPattern).

        Envelope fields the event lacks (id, account, region, time, resources) are filled in as
        EventBridge would.
        """
        envelope = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "account": ACCOUNT_ID,
            "region": REGION,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resources": [],
        }
        complete = json.dumps({**envelope, **event})
        events = self.client("events")
        names = []
        for rule in events.list_rules(EventBusName="default")["Rules"]:
            pattern = rule.get("EventPattern")
            if pattern and events.test_event_pattern(EventPattern=pattern, Event=complete)["Result"]:
                names.append(rule["Name"])
        return names

    def set_alarm_state(
        self, alarm_name: str, state: str = "ALARM", reason: str = "Threshold Crossed (sandbox)"
    ) -> list[str]:
        """SetAlarmState; a state change emits the alarm event. Returns the executions it started."""
        before = len(self._ledger.alarm_events(alarm_name))
        self.client("cloudwatch").set_alarm_state(AlarmName=alarm_name, StateValue=state, StateReason=reason)
        return [
            arn
            for event_id in self._ledger.alarm_events(alarm_name)[before:]
            for arn in self._ledger.executions_started_by(event_id)
        ]

    def fire_schedule(self, rule_name_part: str, at: datetime | None = None) -> None:
        """Fire the scheduled rule whose name contains `rule_name_part` as EventBridge would at `at` (now by
        default); its Lambda targets run asynchronously (`wait_for_async_invocations`)."""
        events = self.client("events")
        [name] = [rule["Name"] for rule in events.list_rules(EventBusName="default")["Rules"]
                  if rule_name_part in rule["Name"] and rule.get("ScheduleExpression")]
        rule = events_backends[ACCOUNT_ID][REGION].describe_rule(name, "default")
        fire_schedule(rule, at or datetime.now(UTC), self._ledger, self.iam)

    def wait_for_async_invocations(self, timeout_seconds: float = 30.0) -> None:
        """Wait until every asynchronous Lambda invocation (EventBridge's included) has returned.

        EC2 and tag events reach the alarm manager this way: call this before reading what it changed.
        """
        self._dispatcher.wait_until_idle(timeout_seconds)

    def wait_for_execution(self, execution_arn: str) -> dict[str, Any]:
        """DescribeExecution once the execution has left RUNNING; raises ExecutionsStalled if it stops moving."""
        return wait_for_executions(self.client("stepfunctions"), [execution_arn])[execution_arn]

    def _stop_running_executions(self) -> None:
        """Executions outlive a request; stop them so none calls a server that is going away."""
        stepfunctions = self.client("stepfunctions")
        for machine in stepfunctions.list_state_machines()["stateMachines"]:
            running = stepfunctions.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")[
                "executions"
            ]
            for execution in running:
                stepfunctions.stop_execution(executionArn=execution["executionArn"], cause="sandbox closed")

    def _wait_for_functions_before_close(self) -> None:
        try:
            self._dispatcher.wait_until_idle(_CLOSE_WAITS_FOR_FUNCTIONS_SECONDS)
        except TimeoutError:
            _LOG.warning("closing the sandbox while an asynchronous Lambda invocation still runs")

    def _upload_output(self, bucket: str, key: str, text: str) -> None:
        self.client("s3").put_object(Bucket=bucket, Key=key, Body=text.encode())


def _backend(spec: InstanceSpec) -> type[SimulatedInstance]:
    if spec.backend == "qemu":  # imported on demand: only this backend needs QEMU on the host
        from panic_button_sandbox.qemu.backend import QemuInstance

        return QemuInstance
    return SimulatedInstance
