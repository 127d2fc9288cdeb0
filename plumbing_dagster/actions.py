"""Jobs (and schedules) from the actions a vendor declares (`kit.vendor.Action`): a job
`<vendor>_<action>` with one op that runs the action against the vendor's connection, its run
config validated by the action's model; and for actions with `every_minutes`, a schedule that
asks the action whether it is due before it requests a run."""

import logging
from typing import Any

import dagster as dg
from pydantic import ValidationError

from plumbing_dagster.kit import Vendor
from plumbing_dagster.kit.vendor import Action, ActionContext
from plumbing_dagster.resources import VendorApisResource

logger = logging.getLogger(__name__)


def action_job_name(vendor: Vendor, action: Action) -> str:
    return f"{vendor.name}_{action.name}"


def run_action(
    vendor: Vendor, action: Action, settings: Any, raw_config: dict[str, Any], log: Any, ask=None
) -> Any:  # noqa: ANN001
    """Validate the run config and run the action; a bad config names the field."""
    try:
        config = action.config.model_validate(raw_config) if action.config else None
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise dg.Failure(f"{action_job_name(vendor, action)}: run config is not valid: {problems}") from None
    return action.run(ActionContext(settings=settings, config=config, log=log, ask=ask))


def action_op_name(vendor: Vendor, action: Action) -> str:
    return f"{action_job_name(vendor, action)}_op"


def build_action_job(vendor: Vendor, action: Action) -> dg.JobDefinition:
    name = action_job_name(vendor, action)

    # Dagster refuses an op named like a job in one repository: the op is `<job>_op`, the key
    # of the run config (`ops: {comdirect_login_op: {config: {tan: ...}}}`).
    @dg.op(
        name=action_op_name(vendor, action),
        config_schema=dg.Permissive(),
        description=action.description,
        tags={"kind": vendor.name},
    )
    def _op(context: dg.OpExecutionContext, vendor_apis: VendorApisResource) -> dg.Output[None]:
        with vendor_apis.connection(vendor) as settings:
            metadata = run_action(vendor, action, settings, dict(context.op_config or {}), context.log)
        return dg.Output(None, metadata=dict(metadata or {}))

    @dg.job(name=name, description=action.description, tags={"plumbing/action": name})
    def _job() -> None:
        _op()

    return _job


def build_action_schedule(vendor: Vendor, action: Action, job: dg.JobDefinition) -> dg.ScheduleDefinition:
    assert action.every_minutes is not None

    @dg.schedule(
        name=f"{action_job_name(vendor, action)}_schedule",
        cron_schedule=f"*/{action.every_minutes} * * * *",
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Runs {job.name} every {action.every_minutes} minutes when it is due.",
    )
    def _schedule(
        context: dg.ScheduleEvaluationContext, vendor_apis: VendorApisResource
    ) -> dg.RunRequest | dg.SkipReason:
        if action.due is not None:
            with vendor_apis.connection(vendor) as settings:
                reason = action.due(settings)
            if reason is not None:
                return dg.SkipReason(reason)
        return dg.RunRequest()

    return _schedule


def build_actions(vendor: Vendor) -> tuple[list[dg.JobDefinition], list[dg.ScheduleDefinition]]:
    jobs, schedules = [], []
    for action in vendor.actions:
        job = build_action_job(vendor, action)
        jobs.append(job)
        if action.every_minutes is not None:
            schedules.append(build_action_schedule(vendor, action, job))
    return jobs, schedules
