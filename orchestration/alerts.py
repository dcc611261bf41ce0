"""Run-failure alerts to a webhook (Slack, Teams, an incident tool: anything taking JSON).

The URL comes from VALUELEDGER_ALERT_WEBHOOK; without it, failures are only in the Dagster UI.
The payload names the job, run and failing steps; the URL itself (it often embeds a token) is
never logged.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import dagster as dg

WEBHOOK_ENV = "VALUELEDGER_ALERT_WEBHOOK"


def post_json(url: str, payload: dict, timeout: float = 10.0) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status


def _error_text(error) -> str:
    """The error and its causes, innermost last: the cause is what a person acts on."""
    parts = []
    while error is not None:
        parts.append(error.message.strip())
        error = error.cause
    return " <- ".join(parts)[:2000]


def failure_payload(context: dg.RunFailureSensorContext) -> dict:
    run = context.dagster_run
    steps = [
        {"step": e.step_key, "error": _error_text(e.event_specific_data.error)}
        for e in context.get_step_failure_events()
        if e.event_specific_data is not None and e.event_specific_data.error is not None
    ]
    return {
        "kind": "run_failure",
        "job": run.job_name,
        "run_id": run.run_id,
        "message": context.failure_event.message,
        "failed_steps": steps,
    }


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"POSTs a JSON alert to ${WEBHOOK_ENV} when any run fails.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    url = os.environ.get(WEBHOOK_ENV)
    if not url:
        context.log.info(f"{WEBHOOK_ENV} is not set: no alert sent")
        return
    try:
        post_json(url, failure_payload(context))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        # Say why, never where: the URL may carry a token.
        context.log.error(f"alert webhook ({WEBHOOK_ENV}) failed: {reason}")
