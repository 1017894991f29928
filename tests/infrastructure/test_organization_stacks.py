"""What the organization hub and member templates grant and to whom: the hub bus admits the organization only,
the member role trusts exactly the hub's step roles and only with the execution name, it touches only opted-in
instances, and the StackSet deploys the member template to the target OUs and follows their membership."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from organization_templates import of_type
from plausible_arns import PARTITION, REGION, resolve

EXECUTION_TAG = "panic-button:execution"


def _one(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found = list(of_type(template, resource_type).values())
    assert len(found) == 1, f"{len(found)} {resource_type} resources"
    return found[0]


def _resolved(template: dict[str, Any], value: Any) -> Any:
    return resolve(value, template["Resources"])


def _statements(template: dict[str, Any], policy_type: str = "AWS::IAM::Policy") -> list[tuple[str, dict[str, Any]]]:
    """(role logical ID, statement) of every identity policy statement, resolved."""
    found = []
    for policy in of_type(template, policy_type).values():
        document = _resolved(template, policy["Properties"]["PolicyDocument"])
        for role in policy["Properties"]["Roles"]:
            found += [(role["Ref"], statement) for statement in document["Statement"]]
    return found


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def _hub_bus_arn(settings: dict[str, Any]) -> str:
    return f"arn:{PARTITION}:events:{REGION}:{settings['panic-button:hub-account']}:event-bus/PanicButton-hub"


def test_the_hub_bus_admits_the_organization_and_nothing_else(hub: dict[str, Any],
                                                              example_settings: dict[str, Any]) -> None:
    statement = _resolved(hub, _one(hub, "AWS::Events::EventBusPolicy")["Properties"]["Statement"])
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Allow", "*", "events:PutEvents")
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": example_settings[
        "panic-button:organization-id"]}}
    assert _one(hub, "AWS::Events::EventBus")["Properties"]["Name"] == "PanicButton-hub"


def test_the_hub_starts_the_workflow_on_a_member_alarm(hub: dict[str, Any]) -> None:
    bus_id = next(iter(of_type(hub, "AWS::Events::EventBus")))
    on_bus = {logical_id: rule["Properties"] for logical_id, rule in of_type(hub, "AWS::Events::Rule").items()
              if rule["Properties"].get("EventBusName") == {"Ref": bus_id}}
    starting = [rule for rule in on_bus.values()
                if any("StateMachine" in json.dumps(target["Arn"]) for target in rule["Targets"])]
    assert [rule["EventPattern"]["detail"] for rule in starting] == [
        {"alarmName": [{"prefix": "panic-button-"}], "state": {"value": ["ALARM"]}}]
    # The alarm manager hears every member's instance state and tag changes and reconcile schedule.
    sources = sorted(rule["EventPattern"]["source"][0] for rule in on_bus.values() if rule not in starting)
    assert sources == ["aws.ec2", "aws.events", "aws.tag"]


def test_the_member_forwards_its_rescue_alarms_to_the_hub_bus_only(member: dict[str, Any],
                                                                   example_settings: dict[str, Any]) -> None:
    rules = [_resolved(member, rule["Properties"]) for rule in of_type(member, "AWS::Events::Rule").values()]
    assert {target["Arn"] for rule in rules for target in rule["Targets"]} == {_hub_bus_arn(example_settings)}
    alarm_rules = [rule for rule in rules if rule.get("EventPattern", {}).get("source") == ["aws.cloudwatch"]]
    assert [rule["EventPattern"]["detail"] for rule in alarm_rules] == [{"alarmName": [{"prefix": "panic-button-"}]}]
    forwarder_grants = [statement for role, statement in _statements(member) if role.startswith("ForwardToHub")]
    assert [(_actions(s), s["Resource"]) for s in forwarder_grants] == [
        (["events:PutEvents"], _hub_bus_arn(example_settings))]


def _member_role(member: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    roles = {logical_id: role for logical_id, role in of_type(member, "AWS::IAM::Role").items()
             if "RoleName" in role["Properties"]}
    assert len(roles) == 1
    return next(iter(roles.items()))


def _hub_roles_assuming_members(hub: dict[str, Any]) -> dict[str, str]:
    """Role name of every hub role granted sts:AssumeRole, with the member role ARN pattern it may assume."""
    names = {logical_id: _resolved(hub, role["Properties"].get("RoleName"))
             for logical_id, role in of_type(hub, "AWS::IAM::Role").items()}
    return {names[role]: statement["Resource"] for role, statement in _statements(hub)
            if "sts:AssumeRole" in _actions(statement)}


def test_the_member_role_trusts_exactly_the_hub_roles_that_assume_it(hub: dict[str, Any], member: dict[str, Any],
                                                                     example_settings: dict[str, Any]) -> None:
    _, role = _member_role(member)
    (trust,) = _resolved(member, role["Properties"]["AssumeRolePolicyDocument"])["Statement"]
    hub_account = example_settings["panic-button:hub-account"]
    assuming = _hub_roles_assuming_members(hub)
    assert len(assuming) == 11  # ten cross-account steps and the alarm manager
    assert sorted(trust["Principal"]["AWS"]) == sorted(f"arn:{PARTITION}:iam::{hub_account}:role/{name}"
                                                       for name in assuming)
    member_role_name = _resolved(member, role["Properties"]["RoleName"])
    assert set(assuming.values()) == {f"arn:{PARTITION}:iam::*:role/{member_role_name}"}


def test_the_hub_may_assume_member_roles_of_its_organization_only(hub: dict[str, Any],
                                                                  example_settings: dict[str, Any]) -> None:
    grants = [statement for _, statement in _statements(hub) if "sts:AssumeRole" in _actions(statement)]
    assert {json.dumps(s["Condition"], sort_keys=True) for s in grants} == {json.dumps(
        {"StringEquals": {"aws:ResourceOrgID": example_settings["panic-button:organization-id"]}})}
    assert {tuple(sorted(_actions(s))) for s in grants} == {
        ("sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession")}


def test_member_sessions_must_carry_the_execution_name(member: dict[str, Any]) -> None:
    _, role = _member_role(member)
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]
    assert trust["Condition"] == {
        "StringLike": {"sts:SourceIdentity": "*", f"aws:RequestTag/{EXECUTION_TAG}": "*"},
        "ForAllValues:StringEquals": {"aws:TagKeys": [EXECUTION_TAG]},
    }


def test_the_member_role_acts_only_on_opted_in_instances_and_its_documents(member: dict[str, Any]) -> None:
    role_id, _ = _member_role(member)
    grants = [statement for role, statement in _statements(member) if role == role_id]
    instance_arn = f"arn:{PARTITION}:ec2:{REGION}:123456789012:instance/*"
    by_action: dict[str, list[dict[str, Any]]] = {}
    for statement in grants:
        for action in _actions(statement):
            by_action.setdefault(action, []).append(statement)
    (interrupt,) = by_action["ec2:SendDiagnosticInterrupt"]
    assert (interrupt["Resource"], interrupt["Condition"]) == (
        instance_arn, {"StringEquals": {"aws:ResourceTag/PanicButton": "enabled"}})
    send = {json.dumps(s["Resource"]): s.get("Condition") for s in by_action["ssm:SendCommand"]}
    documents = sorted(f"arn:{PARTITION}:ssm:{REGION}:123456789012:document/{name.lower()}"
                       for name in of_type(member, "AWS::SSM::Document") if "Collector" in name)
    assert send == {json.dumps(instance_arn): {"StringEquals": {"ssm:resourceTag/PanicButton": "enabled"}},
                    json.dumps(documents): None}
    # No dump path through the member account: the hub mints the presigned URLs, the member holds no S3 grant.
    assert [action for action in by_action if action.split(":")[0] not in ("ec2", "ssm", "cloudwatch")] == []
    assert "ec2:RebootInstances" not in by_action  # the example settings keep the fallback off


def test_the_member_documents_have_the_names_the_hub_uses(member: dict[str, Any]) -> None:
    names = sorted(document["Properties"]["Name"] for document in of_type(member, "AWS::SSM::Document").values())
    assert names == ["PanicButton-Collector-Linux", "PanicButton-Collector-Windows", "PanicButton-Readiness"]


def test_the_member_template_carries_no_code(organization_out: Path, member: dict[str, Any]) -> None:
    # A StackSet deploys one template body: a Lambda asset would have to be published to every account and Region.
    assert of_type(member, "AWS::Lambda::Function") == {}
    assets = json.loads((organization_out / "PanicButton-Member.assets.json").read_text(encoding="utf-8"))
    assert [entry["source"]["path"] for entry in assets["files"].values()] == ["PanicButton-Member.template.json"]


def test_the_stack_set_deploys_the_member_template(organization_out: Path, hub: dict[str, Any],
                                                   member: dict[str, Any]) -> None:
    url = _resolved(hub, _one(hub, "AWS::CloudFormation::StackSet")["Properties"]["TemplateURL"])
    asset_hash = url.rsplit("/", 1)[-1].removesuffix(".json")
    assets = json.loads((organization_out / "PanicButton-Hub.assets.json").read_text(encoding="utf-8"))
    published = json.loads((organization_out / assets["files"][asset_hash]["source"]["path"]).read_text())
    # `cdk deploy PanicButton-Member` and the StackSet deploy the same stack. CDKMetadata (CDK's usage analytics)
    # names the construct libraries of the app, and the StackSet copy is synthesized in an app of its own.
    assert _without_analytics(published) == _without_analytics(member)
    assert len(published["Resources"]) == len(member["Resources"]) > 10


def _without_analytics(template: dict[str, Any]) -> dict[str, Any]:
    return {**template, "Resources": {k: v for k, v in template["Resources"].items() if k != "CDKMetadata"}}


def test_the_stack_set_targets_the_ous_in_every_member_region(hub: dict[str, Any],
                                                               example_settings: dict[str, Any]) -> None:
    stack_set = _one(hub, "AWS::CloudFormation::StackSet")
    properties = stack_set["Properties"]
    assert (properties["PermissionModel"], properties["CallAs"]) == ("SERVICE_MANAGED", "DELEGATED_ADMIN")
    assert properties["Capabilities"] == ["CAPABILITY_NAMED_IAM"]  # the member role has a fixed name
    assert properties["StackInstancesGroup"] == [{
        "DeploymentTargets": {"OrganizationalUnitIds": example_settings["panic-button:target-ous"]},
        "Regions": example_settings["panic-button:member-regions"]}]
    # Only the hub in the first member Region owns the StackSet; the other Regions' hubs deploy without it.
    assert hub["Conditions"][stack_set["Condition"]] == {
        "Fn::Equals": [{"Ref": "AWS::Region"}, example_settings["panic-button:member-regions"][0]]}


def stack_instances(properties: dict[str, Any], accounts_by_ou: dict[str, set[str]],
                    deployed: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (account, Region) member stacks after StackSets' automatic deployment reacts to the OUs' membership
    (as CloudFormation documents AutoDeployment): accounts in a target OU get a stack in every Region; an account
    that left keeps its stacks only with RetainStacksOnAccountRemoval."""
    group, = properties["StackInstancesGroup"]
    regions = group["Regions"]
    members = {account for ou in group["DeploymentTargets"]["OrganizationalUnitIds"]
               for account in accounts_by_ou.get(ou, set())}
    wanted = {(account, region) for account in members for region in regions}
    auto = properties["AutoDeployment"]
    assert auto["Enabled"], "without automatic deployment, OU membership changes deploy nothing"
    kept = deployed - wanted if auto["RetainStacksOnAccountRemoval"] else set()
    return wanted | kept


def test_an_account_that_leaves_a_target_ou_loses_its_member_stacks(hub: dict[str, Any],
                                                                    example_settings: dict[str, Any]) -> None:
    properties = _one(hub, "AWS::CloudFormation::StackSet")["Properties"]
    first_ou, second_ou = example_settings["panic-button:target-ous"]
    organization = {first_ou: {"222222222222", "333333333333"}, second_ou: {"444444444444"}}
    deployed = stack_instances(properties, organization, set())
    assert {account for account, _ in deployed} == {"222222222222", "333333333333", "444444444444"}
    assert len(deployed) == 6  # three accounts x two Regions
    organization[first_ou].remove("333333333333")  # moved to an OU the StackSet does not target
    after = stack_instances(properties, organization, deployed)
    assert deployed - after == {("333333333333", region) for region in example_settings["panic-button:member-regions"]}
    # The same move under a StackSet that retains stacks would leave the account's member stacks behind.
    retaining = {**properties, "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": True}}
    assert stack_instances(retaining, organization, deployed) == deployed
