"""Any caller with lambda:InvokeFunction can hand a step a crafted state: a stored upload plan must name
this stack's bucket and this execution's own prefix, or the step refuses it."""

from panic_button.errors import InvalidInput
from panic_button.models.collection import CollectionKeys, UploadPlan


def check_plan_scope(plan: UploadPlan, *, bucket: str, keys: CollectionKeys) -> UploadPlan:
    inside = (plan.bucket == bucket and plan.keys == keys and plan.dump_key.startswith(f"{keys.prefix}dump/")
              and "/" not in plan.dump_key.removeprefix(f"{keys.prefix}dump/")
              and plan.manifest.manifest_key.startswith(keys.prefix))
    if not inside:
        raise InvalidInput(f"the upload plan names s3://{plan.bucket}/{plan.dump_key}, outside this execution's "
                           f"prefix s3://{bucket}/{keys.prefix}: refused")
    return plan
