"""The environment the stack gives every Lambda, with valid values: the settings tests' starting point."""

ENVIRONMENT = {
    "TABLE_NAME": "remediations",
    "BUCKET_NAME": "evidence",
    "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:outcomes",
    "LINUX_DOCUMENT": "PanicButton-CollectLinux",
    "WINDOWS_DOCUMENT": "PanicButton-CollectWindows",
    "OPT_IN_TAG_KEY": "PanicButton",
    "OPT_IN_TAG_VALUE": "enabled",
    "COOLDOWN_SECONDS": "21600",
    "RATE_LIMIT_PER_HOUR": "5",
    "BREAKER_ALARMS": "20",
    "BREAKER_WINDOW_SECONDS": "600",
    "POLL_INTERVAL_SECONDS": "30",
    "RECOVERY_TIMEOUT_SECONDS": "1200",
    "COLLECTION_TIMEOUT_SECONDS": "3600",
    "UPLOAD_PARALLEL_PARTS": "6",
    "NOT_RECOVERED_FALLBACK": "none",
    "DRY_RUN_DEFAULT": "false",
    "RECORD_RETENTION_DAYS": "400",
    "DUMP_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
}
