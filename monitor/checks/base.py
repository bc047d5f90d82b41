"""What every check shares: statuses, failure reasons, results and targets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

JsonDetails = Mapping[str, Any]


class Status(StrEnum):
    """What a check says of its integration."""

    CONNECTED = "connected"
    NOT_CONFIGURED = "not_configured"
    ERROR = "error"


class Reason(StrEnum):
    """The bounded set of reasons an integration is in error (safe as a metric label)."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    AUTH = "auth"
    PERMISSION = "permission"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    BLOCKED = "blocked"
    UPSTREAM_ERROR = "upstream_error"
    INVALID_RESPONSE = "invalid_response"
    INTERNAL = "internal"
    # The provider answers and the credentials work, but the setup will not deliver.
    MISCONFIGURED = "misconfigured"


_REASON_BY_HTTP_STATUS = {
    401: Reason.AUTH,
    403: Reason.PERMISSION,
    404: Reason.NOT_FOUND,
    429: Reason.RATE_LIMITED,
}


def reason_for_http_status(status: int, overrides: dict[int, Reason] | None = None) -> Reason:
    """The usual meaning of an HTTP error status; a provider overrides where it differs."""
    table = {**_REASON_BY_HTTP_STATUS, **(overrides or {})}
    return table.get(status, Reason.UPSTREAM_ERROR)


class CheckFailed(Exception):
    """Raised by a check when its integration is in error.

    Args:
        reason: one of the bounded reasons.
        message: one plain sentence for an operator; never a secret.
        details: provider facts that help (a request id, Meta's fbtrace_id).
        retry_after: seconds the provider asked us to wait before the next request.
    """

    def __init__(
        self,
        reason: Reason,
        message: str,
        details: JsonDetails | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details: JsonDetails = dict(details or {})
        self.retry_after = retry_after


class InvalidResponse(CheckFailed):
    """The provider answered with something it never sends (HTML, truncated JSON, a huge body)."""

    def __init__(self, message: str, details: JsonDetails | None = None) -> None:
        super().__init__(Reason.INVALID_RESPONSE, message, details)


@dataclass(frozen=True)
class Outcome:
    """What one check found, before the runner stamps it with time and duration."""

    status: Status
    message: str
    details: JsonDetails = field(default_factory=dict)
    reason: Reason | None = None

    @classmethod
    def connected(cls, message: str, details: JsonDetails | None = None) -> Outcome:
        """A healthy integration."""
        return cls(Status.CONNECTED, message, dict(details or {}))

    @classmethod
    def not_configured(cls, message: str) -> Outcome:
        """An integration whose credentials are not set."""
        return cls(Status.NOT_CONFIGURED, message)

    @classmethod
    def failed(cls, failure: CheckFailed) -> Outcome:
        """An integration in error, from the failure a check raised."""
        return cls(Status.ERROR, failure.message, failure.details, failure.reason)


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome, stamped with when it was produced and how long it took."""

    outcome: Outcome
    checked_at: datetime
    duration_ms: float
    # Requests made: 1, 2 with a retry, 0 while a provider's rate limit holds the check back.
    attempts: int = 1

    @property
    def status(self) -> Status:
        """The status the check found."""
        return self.outcome.status

    @property
    def reason(self) -> Reason | None:
        """The failure reason, on error only."""
        return self.outcome.reason

    @property
    def healthy(self) -> bool:
        """True exactly when the integration is connected."""
        return self.outcome.status is Status.CONNECTED

    def to_json(self) -> dict[str, Any]:
        """The result as the dashboard's JSON shape."""
        body: dict[str, Any] = {
            "status": self.outcome.status.value,
            "message": self.outcome.message,
            "healthy": self.healthy,
        }
        if self.outcome.details:
            body["details"] = dict(self.outcome.details)
        if self.outcome.reason is not None:
            body["reason"] = self.outcome.reason.value
        body["checked_at"] = rfc3339(self.checked_at)
        body["duration_ms"] = self.duration_ms
        return body


class Check(Protocol):
    """A probe of one target. `run` returns an outcome or raises CheckFailed."""

    async def run(self) -> Outcome:
        """Probe the target once."""
        ...


@dataclass(frozen=True)
class Target:
    """One thing to watch: a provider kind, the name it is reported under, and a check for it.

    Many targets may share a kind (several WhatsApp accounts, several Stripe customers);
    the runner only ever sees targets.
    """

    name: str
    kind: str
    check: Check = field(repr=False, compare=False)
    # Whether a run sends requests that count against the provider's budget (a check that is
    # not configured sends none).
    budgeted: bool = False
    # How many requests one run sends; each takes a unit of the provider's budget.
    requests: int = 1


def rfc3339(moment: datetime) -> str:
    """Format a UTC datetime as RFC 3339 with a Z suffix and millisecond precision."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
