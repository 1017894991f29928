"""Faults aimed at one call, where the bar is hardest: the interrupt (no idempotency token), Step Functions'
invoke of a step that already ran, the collector's parts, and the agent dropping mid-upload."""

from __future__ import annotations

from panic_button_sandbox.faults.spec import FaultSpec
from panic_button_sandbox.instances import InstanceSpec
from tests.faults.conftest import Deployed
from tests.faults.matrix import Aimed, departures, observed
from tests.topic_subscriber import Topic

HUNG = InstanceSpec(crash_layout="debian", reboot_seconds=60)
CALM = FaultSpec()


def test_a_server_error_after_ec2_sent_the_interrupt_is_not_followed_by_a_second(deployed: Deployed,
                                                                                 topic: Topic) -> None:
    result, injected = observed(deployed, topic, HUNG, CALM, [Aimed("SendDiagnosticInterrupt", "500", applied=True)])
    assert [f.operation for f in injected] == ["SendDiagnosticInterrupt"]
    assert (result["outcome"], result["interrupts"], result["notifications"]) == ("DUMP_COLLECTED", 1, 1)


def test_a_server_error_before_ec2_sent_it_is_not_resent_and_the_run_is_not_recovered(deployed: Deployed,
                                                                                      topic: Topic) -> None:
    # The documented outcome: Panic Button cannot tell this 5xx from the one above, so it never resends.
    result, _ = observed(deployed, topic, HUNG, CALM, [Aimed("SendDiagnosticInterrupt", "503")])
    assert (result["outcome"], result["interrupts"], result["notifications"]) == ("NOT_RECOVERED", 0, 1)


def test_a_throttled_interrupt_is_sent_by_the_steps_retry(deployed: Deployed, topic: Topic) -> None:
    result, injected = observed(deployed, topic, HUNG, CALM, [Aimed("SendDiagnosticInterrupt", "throttle")] * 2)
    assert [f.code for f in injected] == ["RequestLimitExceeded"] * 2
    assert (result["outcome"], result["interrupts"], result["notifications"]) == ("DUMP_COLLECTED", 1, 1)


def test_a_lambda_service_error_after_send_interrupt_ran_does_not_interrupt_twice(deployed: Deployed,
                                                                                  topic: Topic) -> None:
    # Step Functions retries the Task on Lambda.ServiceException; the handler already pressed the button.
    _, deployment = deployed
    [function] = [f.function_name for f in deployment.functions if "handle_send_interrupt" in f.handler]
    result, injected = observed(deployed, topic, HUNG, CALM, [Aimed("Invoke", "500", applied=True, resource=function)])
    assert [(f.caller, f.code, f.resource) for f in injected] == [("states", "ServiceException", function)]
    assert (result["outcome"], result["interrupts"], result["notifications"]) == ("DUMP_COLLECTED", 1, 1)


def test_failing_part_uploads_are_retried_by_the_collector(deployed: Deployed, topic: Topic) -> None:
    calm, _ = observed(deployed, topic, HUNG, CALM)
    result, injected = observed(deployed, topic, HUNG, CALM, [Aimed("UploadPart", "500")] * 2)
    assert [(f.caller, f.code) for f in injected] == [("collector", "InternalError")] * 2
    assert departures(calm, result, injected) == {}


def test_lambda_service_errors_on_invoke_are_retried_by_the_workflow(deployed: Deployed, topic: Topic) -> None:
    calm, _ = observed(deployed, topic, HUNG, CALM)
    result, injected = observed(deployed, topic, HUNG, FaultSpec(lambda_error=0.3, seed=4))
    assert {f.code for f in injected} == {"ServiceException"} and any(f.applied for f in injected)
    assert departures(calm, result, injected) == {}


def test_the_agent_dropping_mid_upload_is_collection_failed_with_one_record_and_one_notification(
        deployed: Deployed, topic: Topic) -> None:
    # A fault that must change the outcome: the dump never arrives, so the run says so, once.
    result, _ = observed(deployed, topic, HUNG, FaultSpec(ssm_offline_at="upload"))
    assert (result["outcome"], result["interrupts"], result["notifications"]) == ("COLLECTION_FAILED", 1, 1)
    assert not any("/dump/" in artifact for artifact in result["artifacts"])


def test_a_publish_whose_answer_was_lost_is_sent_again_and_marked_for_subscribers(deployed: Deployed,
                                                                                  topic: Topic) -> None:
    # SNS delivered, then its answer was lost: the claim is given back, the SDK's retry publishes again (SNS's
    # own at-least-once), and both messages name the execution so a subscriber can drop the second.
    result, injected = observed(deployed, topic, HUNG, CALM, [Aimed("Publish", "500", applied=True)])
    assert [(f.operation, f.applied) for f in injected] == [("Publish", True)]
    assert (result["outcome"], result["interrupts"], result["notifications"]) == ("DUMP_COLLECTED", 1, 2)
    messages = topic.messages_about(result["execution_arn"])
    execution_name = result["execution_arn"].rsplit(":", 1)[-1]
    assert {m["MessageAttributes"]["execution"]["Value"] for m in messages} == {execution_name}
