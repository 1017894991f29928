"""The overhead model: hang -> verified dump for a 16 GiB instance, in the time AWS would take, split into
what physics imposes and what is Panic Button's own (docs/simulation.md, "The overhead model").

It walks the states a sandbox rescue entered, in order, and charges each the AWS-like time below. Every
constant is a stated assumption from public figures or from this repository's real-kernel run."""

from __future__ import annotations

from dataclasses import dataclass, field

from panic_button.logic.recovery import RecoveryBudget

from panic_button_sandbox.recovery_replay import replay_recovery

GIB = 1024**3
MIB = 1024**2

# Physical.
ALARM_PERIOD_SECONDS = 60  # StatusCheckFailed_Instance is a 1-minute metric
ALARM_DATAPOINTS = 3  # infra/config.py alarm_datapoints default
CRASH_KERNEL_AND_REBOOT_SECONDS = 20.0  # NMI -> back online on the real kernel (panic_button_sandbox/qemu)
DUMP_WRITE_BYTES_PER_SECOND = 125 * MIB  # EBS gp3 baseline throughput: the crash kernel writes to the root volume
DUMP_READ_BYTES_PER_SECOND = 125 * MIB  # ... and the collector reads it back from there (the page cache is cold)
INSTANCE_BYTES_PER_SECOND = 1.25e9 / 8  # m5.xlarge (16 GiB) baseline network bandwidth, 1.25 Gbit/s

# Panic Button's own (AWS-imposed latency included: it is spent because of how the workflow is built).
EVENT_TO_EXECUTION_SECONDS = 1.0  # CloudWatch alarm -> EventBridge -> StartExecution
LAMBDA_RUNTIME_INIT_SECONDS = 0.25  # Python runtime init of a zip function under 1 MiB, before our import
BOTO3_IMPORT_SECONDS = 0.15  # `import boto3` on a 1 vCPU Lambda; the handler's import is a multiple of it
API_CALLS_PER_STEP = 3  # a step's AWS calls (describe, read, write), each one round trip
API_LATENCY_SECONDS = 0.05  # one in-Region AWS API round trip
TRANSITION_SECONDS = 0.05  # a Standard workflow state transition
S3_CONNECTION_BYTES_PER_SECOND = 90e6  # one S3 connection; S3 scales by parallel connections
# CompleteUpload never reads the dump back: S3 assembles the parts and answers their composite checksum.
COMPLETE_MULTIPART_SECONDS = 2.0  # CompleteMultipartUpload of a 256-part, 16 GiB object
# Event-driven command completion (the Await steps): SSM Run Command -> EventBridge -> the resume Lambda.
LOCATE_COMMAND_SECONDS = 2.0  # SSM delivers the locate command to the agent and the script lists the dumps
# ... then locate hashes the dump's parts (their SHA-256 are signed into the part URLs): one more read of it.
EVENT_DELIVERY_SECONDS = 0.5  # Run Command's status change reaching its EventBridge target
RESUME_API_CALLS = 3  # the resume Lambda: UpdateItem (the token), GetCommandInvocation, SendTaskSuccess
COMMAND_EVENT_TIMEOUT_SECONDS = 300  # an Await step polls after this long without the end event

PHASES = ("detection", "before_interrupt", "dump_and_reboot", "locate", "upload", "verify")
PHASE_OF_STATE = {
    "Begin": "before_interrupt", "ResolveTarget": "before_interrupt", "CheckEligibility": "before_interrupt",
    "ApplyGuards": "before_interrupt", "CaptureEvidence": "before_interrupt", "ConfirmImpaired": "before_interrupt",
    "SendInterrupt": "before_interrupt", "InterruptSent?": "before_interrupt",
    "WaitForRecovery": "dump_and_reboot", "CheckRecovery": "dump_and_reboot", "RecoveryDone?": "dump_and_reboot",
    "StartLocate": "locate", "AwaitLocate": "locate",
    "WaitForLocate": "locate", "PollLocate": "locate", "LocateDone?": "locate",  # the fallback poll
    "StartUpload": "upload", "AwaitUpload": "upload",
    "WaitForUpload": "upload", "PollUpload": "upload", "UploadDone?": "upload",  # the fallback poll
    "CompleteUpload": "verify",
}
WAIT_SECONDS = 30  # the poll interval: the fallback polls' Wait states, and recovery when the console is silent
RECOVERY_TIMEOUT_SECONDS = 20 * 60  # infra/config.py recovery_timeout_minutes default
# The recovery loop: its polls come from replaying its decisions against the AWS-like crash timeline
# (panic_button_sandbox/recovery_replay.py), not from the sandbox's scaled clock.
RECOVERY_LOOP = ("CheckRecovery", "RecoveryDone?", "WaitForRecovery")
# An upload that outlasts the Await step's timeout polls once per timeout, then awaits again.
UPLOAD_FALLBACK = ("PollUpload", "UploadDone?", "WaitForUpload", "AwaitUpload")


@dataclass(frozen=True)
class Inputs:
    handler_import_vs_boto3: float
    upload_vs_single_put_capped: float
    dump_bytes: int = 16 * GIB


@dataclass
class Phase:
    total: float = 0.0
    physical: float = 0.0
    states: list[str] = field(default_factory=list)

    @property
    def own(self) -> float:
        return self.total - self.physical


def dump_write_and_reboot_seconds(dump_bytes: int) -> float:
    """What the sandbox's reboot_seconds stands for: the crash kernel writing the dump, then the reboot."""
    return dump_bytes / DUMP_WRITE_BYTES_PER_SECOND + CRASH_KERNEL_AND_REBOOT_SECONDS


def lambda_seconds(cold: bool, inputs: Inputs, api_calls: int = API_CALLS_PER_STEP) -> float:
    cold_start = LAMBDA_RUNTIME_INIT_SECONDS + inputs.handler_import_vs_boto3 * BOTO3_IMPORT_SECONDS if cold else 0
    return cold_start + api_calls * API_LATENCY_SECONDS


def state_seconds(state: str, cold: bool, inputs: Inputs) -> float:
    if state.startswith("WaitFor"):
        return WAIT_SECONDS
    if state.endswith("?") or state == "Begin":
        return TRANSITION_SECONDS
    return TRANSITION_SECONDS + lambda_seconds(cold, inputs)


def resume_seconds(cold: bool, inputs: Inputs) -> float:
    """From a command's end to its Await step resumed: the event, then the resume Lambda."""
    return EVENT_DELIVERY_SECONDS + lambda_seconds(cold, inputs, RESUME_API_CALLS)


def model(states: list[str], inputs: Inputs) -> dict[str, Phase]:
    """Per phase, the AWS-like seconds and the physical share of them, from the states a rescue entered.
    The recovery loop polls every WAIT_SECONDS until its physical wait is over: its rounds come from that
    wait. An Await step lasts as long as its command, then the end event resumes it; the upload's command
    lasts the upload at the collector's rate (the sandbox's 1 MiB upload ends at once, a 16 GiB one does not)."""
    phases = {name: Phase() for name in PHASES}
    phases["detection"] = Phase(total=ALARM_PERIOD_SECONDS * ALARM_DATAPOINTS + EVENT_TO_EXECUTION_SECONDS,
                                physical=ALARM_PERIOD_SECONDS * ALARM_DATAPOINTS, states=["alarm"])
    line_rate = min(INSTANCE_BYTES_PER_SECOND, DUMP_READ_BYTES_PER_SECOND)
    collector_rate = min(line_rate, S3_CONNECTION_BYTES_PER_SECOND * inputs.upload_vs_single_put_capped)
    upload_seconds = inputs.dump_bytes / collector_rate
    locate_seconds = LOCATE_COMMAND_SECONDS + inputs.dump_bytes / DUMP_READ_BYTES_PER_SECOND
    command_seconds = {"AwaitLocate": locate_seconds, "AwaitUpload": upload_seconds}
    seen: set[str] = set()
    for state in states:
        phase = PHASE_OF_STATE.get(state)
        if phase is None:  # after the verified dump (triage, record): outside hang -> verified dump
            continue
        if state in command_seconds:
            phases[phase].total += (state_seconds(state, state not in seen, inputs) + command_seconds[state]
                                    + resume_seconds("resume" not in seen, inputs))
            seen.add("resume")
        elif state not in RECOVERY_LOOP:
            phases[phase].total += state_seconds(state, state not in seen, inputs)
        phases[phase].states.append(state)
        seen.add(state)
    fallbacks = int(upload_seconds // COMMAND_EVENT_TIMEOUT_SECONDS)
    phases["upload"].total += fallbacks * sum(state_seconds(state, False, inputs) for state in UPLOAD_FALLBACK)
    reboot = dump_write_and_reboot_seconds(inputs.dump_bytes)
    phases["dump_and_reboot"].total += recovery_seconds(reboot, inputs)
    phases["dump_and_reboot"].physical = reboot
    phases["upload"].physical = inputs.dump_bytes / line_rate
    phases["verify"].total += COMPLETE_MULTIPART_SECONDS
    return phases


def recovery_seconds(reboot_seconds: float, inputs: Inputs) -> float:
    """From the interrupt to the RecoveryDone? that passes: the replayed polls' waits, each poll's own time."""
    poll = state_seconds("CheckRecovery", False, inputs) + TRANSITION_SECONDS  # the check and its Choice
    polls = replay_recovery(reboot_seconds, RecoveryBudget(RECOVERY_TIMEOUT_SECONDS, WAIT_SECONDS),
                            poll_seconds=poll + TRANSITION_SECONDS)  # and the Wait's own transition
    cold = state_seconds("CheckRecovery", True, inputs) - state_seconds("CheckRecovery", False, inputs)
    return polls[-1].at + poll + cold


def own_overhead_share(phases: dict[str, Phase]) -> float:
    total = sum(p.total for p in phases.values())
    return sum(p.own for p in phases.values()) / total
