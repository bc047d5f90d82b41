"""The snapshot as application/health+json (IETF draft-inadarei-api-health-check)."""

from __future__ import annotations

from typing import Any

from monitor.checks.base import Status, rfc3339
from monitor.snapshot import Overall, Reported, Snapshot

_DOCUMENT_STATUS = {Overall.HEALTHY: "pass", Overall.PARTIAL: "warn", Overall.DEGRADED: "fail"}
_CHECK_STATUS = {Status.CONNECTED: "pass", Status.NOT_CONFIGURED: "warn", Status.ERROR: "fail"}


def health_document(snapshot: Snapshot, version: str) -> tuple[dict[str, Any], int]:
    """The document and its HTTP status: 200 for pass and warn, 503 for fail."""
    status = _DOCUMENT_STATUS[snapshot.overall_status]
    document = {
        "status": status,
        **_service(version),
        "description": "health of the platform's third-party integrations",
        "checks": {
            f"{name}:connectivity": [_check_entry(name, entry)]
            for name, entry in snapshot.integrations.items()
        },
    }
    return document, 503 if status == "fail" else 200


def _check_entry(name: str, entry: Reported) -> dict[str, Any]:
    result = entry.reported
    check: dict[str, Any] = {
        "componentId": name,
        "componentType": "component",
        "status": _CHECK_STATUS[result.status],
        "observedValue": result.duration_ms,
        "observedUnit": "ms",
        "time": rfc3339(result.checked_at),
    }
    if result.status is not Status.CONNECTED:
        check["output"] = result.outcome.message
    return check


def not_ready_document(version: str) -> dict[str, Any]:
    """The document before the first cycle has finished: nothing is known yet."""
    return {
        "status": "fail",
        **_service(version),
        "output": "the first check cycle has not finished yet",
    }


def _service(version: str) -> dict[str, str]:
    return {
        "version": version.partition(".")[0],
        "releaseId": version,
        "serviceId": "integration-monitor",
    }
