"""The project's own sample events, in the formats AWS documents; every test reads them from here."""

from pathlib import Path

# A CloudWatch "Alarm State Change" event for a StatusCheckFailed_Instance alarm, as EventBridge delivers
# it (format from the CloudWatch documentation).
ALARM_STATE_CHANGE = Path(__file__).resolve().parent / "alarm-state-change-statuscheck.json"
