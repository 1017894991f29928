"""The deployer: the fixture template's resources exist in moto, resolved like CloudFormation would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sandbox_support import ASSET_HASH, HANDLER_SOURCE, STACK_NAME, build_cdk_out

from panic_button_sandbox import Deployment, Sandbox, StaleAssetsError
from panic_button_sandbox.deploy.intrinsics import Resolver, TemplateError, references
from panic_button_sandbox.lambda_assets import check_asset_is_current


def test_outputs_name_the_created_resources(sandbox: Sandbox, deployment: Deployment) -> None:
    outputs = deployment.outputs
    assert set(outputs) == {
        "StateMachineArn", "EvidenceBucketName", "TableName", "TopicArn", "DocumentName", "AlarmName",
        "DescribeFunctionName", "DlqUrl", "RememberFunctionArn", "DashboardName",
    }  # fmt: skip
    assert outputs["EvidenceBucketName"].startswith("sandboxfixture-evidence4cc26d68-")
    assert outputs["TableName"] == deployment.physical_id("LedgerB7379752")
    machine = sandbox.client("stepfunctions").describe_state_machine(stateMachineArn=outputs["StateMachineArn"])
    definition = json.loads(machine["definition"])
    flaky_arn = deployment.resources["FlakyFn7B8C9D0E"].attributes["Arn"]
    assert definition["States"]["Flaky"]["Parameters"]["FunctionName"] == flaky_arn
    assert definition["States"]["Refused"]["Result"] == "refused-by-name"  # DefinitionSubstitutions
    assert machine["roleArn"] == deployment.resources["MachineRoleD2D3D395"].attributes["Arn"]


def test_unknown_types_are_listed_and_false_conditions_are_not_created(deployment: Deployment) -> None:
    assert {(s.logical_id, s.type) for s in deployment.skipped} == {("CDKMetadata", "AWS::CDK::Metadata")}
    assert "ProdOnlyQueue0A1B2C3D" not in deployment.resources
    assert "ProdQueueUrl" not in deployment.outputs
    assert any("layers not created" in note for note in deployment.notes)
    assert any("conditional Deny" in note for note in deployment.notes)


def test_storage_resources(sandbox: Sandbox, deployment: Deployment) -> None:
    s3, bucket = sandbox.client("s3"), deployment.outputs["EvidenceBucketName"]
    [rule] = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert (
        rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
        == deployment.resources["Key961B73FD"].attributes["Arn"]
    )
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    # CDK's enforceSSL Deny is conditional: moto would apply it to every request, so it is left out.
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"] == []
    s3.put_object(Bucket=bucket, Key="evidence/probe", Body=b"x")

    dynamodb, table = sandbox.client("dynamodb"), deployment.outputs["TableName"]
    described = dynamodb.describe_table(TableName=table)["Table"]
    assert [key["AttributeName"] for key in described["KeySchema"]] == ["pk", "sk"]
    assert [index["IndexName"] for index in described["GlobalSecondaryIndexes"]] == ["byInstance"]
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiresAt")

    [subscription] = sandbox.client("sns").list_subscriptions_by_topic(TopicArn=deployment.outputs["TopicArn"])[
        "Subscriptions"
    ]
    assert subscription["Endpoint"] == deployment.resources["DlqD1FAA4AD"].attributes["Arn"]

    document = sandbox.client("ssm").get_document(Name=deployment.outputs["DocumentName"])
    assert deployment.outputs["DocumentName"].startswith("SandboxFixture-CollectDocument-")
    assert json.loads(document["Content"])["mainSteps"][0]["name"] == "collectLinux"

    [group] = sandbox.client("logs").describe_log_groups(
        logGroupNamePrefix=deployment.physical_id("FunctionLogs5E6F7A8B")
    )["logGroups"]
    assert group["retentionInDays"] == 7


def test_roles_get_their_inline_policies(sandbox: Sandbox, deployment: Deployment) -> None:
    policy = sandbox.client("iam").get_role_policy(
        RoleName=deployment.physical_id("FunctionRoleA1B2C3D4"), PolicyName="FunctionRoleDefaultPolicyC0FFEE01"
    )["PolicyDocument"]
    table_arn = deployment.resources["LedgerB7379752"].attributes["Arn"]
    assert policy["Statement"][0]["Resource"] == [table_arn, f"{table_arn}/index/*"]


def test_function_environment_is_resolved(sandbox: Sandbox, deployment: Deployment) -> None:
    configuration = sandbox.client("lambda").get_function_configuration(
        FunctionName=deployment.outputs["DescribeFunctionName"]
    )
    assert (configuration["Handler"], configuration["MemorySize"]) == (
        "sandbox_fixture_handlers.handlers.describe",
        256,
    )
    topic_name = deployment.resources["TopicBFC7AF6E"].attributes["TopicName"]
    assert configuration["Environment"]["Variables"] == {
        "TABLE_NAME": deployment.outputs["TableName"],
        "GREETING": "hello sandbox",
        "BUCKET_ARN": f"arn:aws:s3:::{deployment.outputs['EvidenceBucketName']}",
        "KEY_ARN": deployment.resources["Key961B73FD"].attributes["Arn"],
        "TOPIC_LABEL": f"{topic_name}-alerts",
        "QUEUE_NAME": deployment.resources["DlqD1FAA4AD"].attributes["QueueName"],
        "REGION_PREFIX": "us",
        "LITERAL": "${NotAVariable}",
        "BOOTSTRAP": "/cdk-bootstrap/hnb659fds/version",
    }
    [function] = [f for f in deployment.functions if f.logical_id == "DescribeFn9A8B7C6D"]
    assert function.asset_dir.name == f"asset.{ASSET_HASH}"


def test_rules_and_alarm(sandbox: Sandbox, deployment: Deployment) -> None:
    events = sandbox.client("events")
    rule_name = deployment.physical_id("AlarmRule83D9AB3F")
    pattern = json.loads(events.describe_rule(Name=rule_name)["EventPattern"])
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    [target] = events.list_targets_by_rule(Rule=rule_name)["Targets"]
    assert target["Arn"] == deployment.outputs["StateMachineArn"]
    assert target["DeadLetterConfig"]["Arn"] == deployment.resources["DlqD1FAA4AD"].attributes["Arn"]
    schedule = events.describe_rule(Name=deployment.physical_id("NightlySweepE76B5B95"))
    assert schedule["ScheduleExpression"] == "rate(1 day)"
    [alarm] = sandbox.client("cloudwatch").describe_alarms(AlarmNames=[deployment.outputs["AlarmName"]])["MetricAlarms"]
    assert alarm["Dimensions"] == [{"Name": "InstanceId", "Value": "i-0abc1234def567890"}]
    body = sandbox.client("cloudwatch").get_dashboard(DashboardName=deployment.outputs["DashboardName"])[
        "DashboardBody"
    ]
    assert "Panic Button in us-east-1" in body


def test_stale_assets_stop_the_deployment(sandbox: Sandbox, tmp_path: Path) -> None:
    cdk_out = build_cdk_out(tmp_path / "cdk.out")
    handlers = cdk_out / f"asset.{ASSET_HASH}" / "sandbox_fixture_handlers" / "handlers.py"
    handlers.write_text(handlers.read_text() + "\n# edited after synth\n")
    with pytest.raises(StaleAssetsError, match=r"cdk\.out is stale, run make synth"):
        sandbox.deploy(cdk_out, stack_name=STACK_NAME)


def test_asset_check_compares_the_whole_handler_package(tmp_path: Path) -> None:
    asset = build_cdk_out(tmp_path / "cdk.out") / f"asset.{ASSET_HASH}"
    handler = "sandbox_fixture_handlers.handlers.describe"
    check_asset_is_current("fn", handler, asset)
    (asset / "sandbox_fixture_handlers" / "extra.py").write_text("")
    with pytest.raises(StaleAssetsError, match=r"extra\.py"):
        check_asset_is_current("fn", handler, asset)
    with pytest.raises(StaleAssetsError, match="not importable"):
        check_asset_is_current("fn", "no_such_package.handlers.x", asset)
    assert (HANDLER_SOURCE / "sandbox_fixture_handlers" / "settings.py").is_file()


def _resolver(template: dict[str, Any], resources: dict[str, dict[str, str]] | None = None) -> Resolver:
    known = resources or {"Bucket": {"Ref": "my-bucket", "Arn": "arn:aws:s3:::my-bucket"}}
    return Resolver(
        template,
        {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"},
        lambda logical_id: known[logical_id]["Ref"],
        lambda logical_id, attribute: known[logical_id][attribute],
    )


def test_resolver_functions() -> None:
    template = {
        "Parameters": {"Names": {"Type": "CommaDelimitedList", "Default": "a, b"}},
        "Conditions": {
            "East": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
            "Both": {"Fn::And": [{"Condition": "East"}, {"Fn::Not": [{"Fn::Equals": ["x", "y"]}]}]},
        },
    }
    resolver = _resolver(template)
    assert (
        resolver.resolve({"Fn::Sub": ["${B}/${AWS::AccountId}", {"B": {"Ref": "Bucket"}}]}) == "my-bucket/123456789012"
    )
    assert resolver.resolve({"Fn::Sub": "${Bucket.Arn}/*"}) == "arn:aws:s3:::my-bucket/*"
    assert resolver.resolve({"Fn::GetAtt": "Bucket.Arn"}) == "arn:aws:s3:::my-bucket"
    assert resolver.resolve({"Fn::Select": [1, {"Ref": "Names"}]}) == "b"
    assert resolver.resolve({"Fn::Select": [2, {"Fn::Split": [":", "a:b:c"]}]}) == "c"
    assert resolver.resolve({"Fn::If": ["Both", "yes", "no"]}) == "yes"
    assert resolver.resolve(["keep", {"Ref": "AWS::NoValue"}]) == ["keep"]
    assert resolver.resolve({"Statement": {"Condition": {"Bool": {"x": "y"}}, "Effect": "Allow"}}) == {
        "Statement": {"Condition": {"Bool": {"x": "y"}}, "Effect": "Allow"}
    }
    with pytest.raises(TemplateError, match="Fn::Cidr"):
        resolver.resolve({"Fn::Cidr": ["10.0.0.0/16", 4, 8]})


def test_parameters_need_defaults() -> None:
    with pytest.raises(TemplateError, match="no Default"):
        _resolver({"Parameters": {"Stage": {"Type": "String"}}})


def test_references_cover_sub_and_get_att() -> None:
    fragment = {"a": {"Fn::Sub": "${Topic}-${Bucket.Arn}-${!Skip}"}, "b": [{"Fn::GetAtt": ["Table", "Arn"]}]}
    assert references(fragment) == {"Topic", "Bucket", "Table"}
