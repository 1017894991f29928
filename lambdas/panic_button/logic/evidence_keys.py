"""Where an execution's evidence lives in the bucket: one prefix per instance and execution."""


def execution_prefix(root: str, instance_id: str, execution_name: str) -> str:
    return f"{root}/{instance_id}/{execution_name}"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"
