"""Value decay watch: one webhook alert per new incident of marts.fct_value_decay_incidents.

An incident (a significant decline of an initiative's attributed effect, docs/method.md
"Decision-grade statistics") is posted to $VALUELEDGER_ALERT_WEBHOOK once and recorded in
quality.decay_alerts; re-runs skip recorded incidents. An incident is recorded only after the
webhook accepted it, so a failed post is retried on the next run; without a webhook nothing is
recorded and the incidents stay in the mart and the Dagster log.
"""

import os
import urllib.error

import dagster as dg
import duckdb
from dagster_dbt import get_asset_key_for_model

from assets.dbt_models import valueledger_dbt
from orchestration.alerts import WEBHOOK_ENV, post_json
from orchestration.resources import Warehouse

INCIDENTS_MODEL = "fct_value_decay_incidents"
ALERTS_TABLE = "quality.decay_alerts"
PAYLOAD_COLUMNS = (
    "incident_id",
    "initiative_id",
    "kpi_id",
    "detected_month",
    "earlier_favourable_change",
    "recent_favourable_change",
    "difference",
    "standard_error",
    "t_statistic",
    "critical_value",
    "alpha",
    "evidence",
)


def new_incidents(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Incidents in the mart that were never alerted, oldest first."""
    con.execute("create schema if not exists quality")
    con.execute(
        f"create table if not exists {ALERTS_TABLE} ("
        "incident_id varchar primary key, initiative_id varchar, kpi_id varchar, "
        "detected_month date, alerted_at timestamp)"
    )
    rows = con.execute(
        f"select {', '.join(PAYLOAD_COLUMNS)} from marts.{INCIDENTS_MODEL} as i "
        f"where not exists (select 1 from {ALERTS_TABLE} as a where a.incident_id = i.incident_id) "
        "order by detected_month, incident_id"
    ).fetchall()
    return [dict(zip(PAYLOAD_COLUMNS, row, strict=True)) for row in rows]


def alert_new_incidents(con: duckdb.DuckDBPyConnection, url: str | None, log) -> list[str]:
    """Posts each new incident and records it; returns the ids alerted in this call."""
    alerted = []
    for incident in new_incidents(con):
        if not url:
            log.warning(f"value decay {incident['incident_id']}: {WEBHOOK_ENV} is not set")
            continue
        payload = {
            "kind": "value_decay",
            **{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in incident.items()},
        }
        try:
            post_json(url, payload)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            # Say why, never where: the URL may carry a token. Retried on the next run.
            log.error(f"value decay alert ({WEBHOOK_ENV}) failed: {reason}")
            continue
        con.execute(
            f"insert into {ALERTS_TABLE} values (?, ?, ?, ?, current_timestamp)",
            [
                incident["incident_id"],
                incident["initiative_id"],
                incident["kpi_id"],
                incident["detected_month"],
            ],
        )
        alerted.append(incident["incident_id"])
    return alerted


@dg.asset(
    deps=[get_asset_key_for_model([valueledger_dbt], INCIDENTS_MODEL)],
    group_name="watch",
    kinds={"duckdb"},
)
def decay_alerts(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Posts each new value decay incident once to the alert webhook and records it."""
    with warehouse.connect() as con:
        alerted = alert_new_incidents(con, os.environ.get(WEBHOOK_ENV), context.log)
        n_recorded = con.execute(f"select count(*) from {ALERTS_TABLE}").fetchone()[0]
    return dg.MaterializeResult(
        metadata={"alerted": len(alerted), "incidents_alerted_to_date": n_recorded}
    )
