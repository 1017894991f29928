"""The EventBridge "Step Functions Execution Status Change" event, as the aborted-run recorder receives it
(docs.aws.amazon.com/step-functions/latest/dg/cw-events.html). Dates are epoch milliseconds; `error` and
`cause` are there for FAILED (and for ABORTED when StopExecution was given them), null otherwise."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The endings that can bypass RecordOutcome (the rule matches only these): SUCCEEDED always went through it.
Ending = Literal["ABORTED", "TIMED_OUT", "FAILED"]


class ExecutionStatusDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    execution_arn: str = Field(alias="executionArn")
    state_machine_arn: str = Field(alias="stateMachineArn")
    name: str
    status: Ending
    start_date: int | None = Field(None, alias="startDate")
    stop_date: int | None = Field(None, alias="stopDate")
    error: str | None = None
    cause: str | None = None


class ExecutionStatusChange(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    source: Literal["aws.states"]
    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    detail: ExecutionStatusDetail
