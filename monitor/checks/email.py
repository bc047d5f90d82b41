"""Email: the Resend HTTP API, asked for the account's sending domains."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from monitor.checks.base import (
    CheckFailed,
    InvalidResponse,
    Outcome,
    Reason,
    Status,
    reason_for_http_status,
)
from monitor.checks.transport import (
    JsonReply,
    get_json,
    new_http_client,
    retry_after_seconds,
    unavailable_for,
    unexpected_body,
)

PROVIDER = "the Resend API"
# List Domains pages by cursor (https://resend.com/docs/api-reference/pagination): `limit`
# (1 to 100), `after` (the id of the last domain of the page before) and `has_more` in every
# answer. Without `limit` it answers every domain at once, so one request is the usual case;
# pages are followed only when Resend pages anyway. Resend allows 2 requests per second per team
# by default, shared with the platform's own sending: the cap keeps a listing that never ends
# (or a huge account) from spending it.
PAGE_LIMIT = 100
MAX_PAGES = 20


@dataclass(frozen=True)
class ResendSettings:
    """The Resend key to validate and where the API lives."""

    api_key: SecretStr | None = field(repr=False)
    api_url: str = "https://api.resend.com"
    # The sending domain that must be verified (lower case), when one is named.
    domain: str | None = None


class ResendCheck:
    """Lists the domains: a valid full-access key answers with them."""

    def __init__(self, settings: ResendSettings, timeout_seconds: float) -> None:
        self._settings = settings
        self._timeout = timeout_seconds

    async def run(self) -> Outcome:
        """Validate the key and count verified sending domains (and check RESEND_DOMAIN's)."""
        key = self._settings.api_key
        if key is None:
            return Outcome.not_configured("Email is not configured: RESEND_API_KEY is not set")
        async with new_http_client(self._timeout) as client:
            listing = await self._list_domains(client, key)
        if isinstance(listing, Outcome):
            return self._restricted(listing)
        if self._settings.domain:
            return sending_domain_outcome(self._settings.domain, listing)
        return domains_outcome(listing)

    async def _list_domains(self, client: httpx.AsyncClient, key: SecretStr) -> list[Any] | Outcome:
        """Every domain of the listing, page after page; an outcome when the key cannot list."""
        url = f"{self._settings.api_url.rstrip('/')}/domains"
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"}
        domains: list[Any] = []
        params: dict[str, str] | None = None
        for _ in range(MAX_PAGES):
            reply = await get_json(client, url, provider=PROVIDER, headers=headers, params=params)
            if reply.status_code != 200:
                return error_outcome(reply)
            page, has_more = domains_page(reply.body)
            domains += page
            if not has_more:
                return domains
            params = {"limit": str(PAGE_LIMIT), "after": _cursor(page)}
        raise InvalidResponse(
            f"{PROVIDER} listed domains for {MAX_PAGES} pages without reaching the end"
        )

    def _restricted(self, outcome: Outcome) -> Outcome:
        domain = self._settings.domain
        if not domain or outcome.status is not Status.CONNECTED:
            return outcome
        # The operator asked for the domain to be verified: a key that cannot tell must not
        # pass for a verified domain.
        return Outcome.failed(
            CheckFailed(
                Reason.PERMISSION,
                f"{outcome.message}; it cannot read the status of {domain}"
                " (RESEND_DOMAIN needs a full-access key)",
            )
        )


def domains_page(body: Any) -> tuple[list[Any], bool]:
    """One page of the listing and whether more follow."""
    domains = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(domains, list):
        raise InvalidResponse(f"{PROVIDER} answered without a list of domains")
    # Answers from before Resend paged its lists carry no has_more: they hold every domain.
    has_more = body.get("has_more", False)
    if not isinstance(has_more, bool):
        raise InvalidResponse(
            f"{PROVIDER} answered a page of domains with has_more not true or false"
        )
    return domains, has_more


def _cursor(page: list[Any]) -> str:
    # The next page starts after the last domain of this one, named by its id.
    last = page[-1] if page else None
    cursor = last.get("id") if isinstance(last, Mapping) else None
    if not isinstance(cursor, str) or not cursor:
        raise InvalidResponse(
            f"{PROVIDER} said more domains follow, but its page ends without a domain id"
        )
    return cursor


def domains_outcome(domains: list[Any]) -> Outcome:
    """Count the domains and the verified ones; none verified means mail cannot be sent."""
    details = _counts(domains)
    verified = details["verified_domains"]
    if verified == 0:
        return Outcome.connected(
            "Resend API key is valid, but no sending domain is verified", details
        )
    return Outcome.connected(
        f"Resend API key is valid; {verified} of {len(domains)} domains verified", details
    )


def _counts(domains: list[Any]) -> dict[str, Any]:
    verified = sum(1 for d in domains if isinstance(d, Mapping) and d.get("status") == "verified")
    return {"domains": len(domains), "verified_domains": verified}


# What an operator does about each status Resend gives a domain that is not verified.
_STATUS_HINTS = {
    "not_started": "add its DNS records, then start the verification in Resend",
    "pending": "Resend is still looking for its DNS records",
    "failed": "Resend could not find its DNS records: fix them, then verify it again",
    "temporary_failure": "Resend could not check its DNS records for now",
    "partially_verified": "some of its DNS records are not verified",
    "partially_failed": "some of its DNS records failed verification",
}
# A status is provider text: bounded before it goes into a message.
_MAX_STATUS_CHARS = 64


def sending_domain_outcome(name: str, domains: list[Any]) -> Outcome:
    """Connected when `name` is in the listing and verified; misconfigured or not_found else."""
    details = _counts(domains)
    listed = _find_domain(name, domains)
    if listed is None:
        raise CheckFailed(
            Reason.NOT_FOUND,
            f"Resend has no domain {name} (RESEND_DOMAIN) among its {len(domains)} domains:"
            " add it in Resend, or fix the variable",
            details,
        )
    status, region = listed.get("status"), listed.get("region")
    if not isinstance(status, str) or not status:
        raise InvalidResponse(f"{PROVIDER} listed domain {name} without a status")
    status = status[:_MAX_STATUS_CHARS]
    details["domain"] = {
        "name": name,
        "status": status,
        "region": region if isinstance(region, str) else None,
    }
    if status != "verified":
        hint = _STATUS_HINTS.get(status)
        raise CheckFailed(
            Reason.MISCONFIGURED,
            f"Resend sending domain {name} is {status}, not verified: mail from it is not sent"
            + (f" ({hint})" if hint else ""),
            details,
        )
    return Outcome.connected(f"Resend API key is valid; sending domain {name} is verified", details)


def _find_domain(name: str, domains: list[Any]) -> Mapping[str, Any] | None:
    for domain in domains:
        if not isinstance(domain, Mapping):
            continue
        listed = domain.get("name")
        if isinstance(listed, str) and listed.strip().lower().rstrip(".") == name:
            return domain
    return None


def error_outcome(reply: JsonReply) -> Outcome:
    """Resend's `{"statusCode","name","message"}` errors; a sending-only key is still healthy."""
    body = reply.body if isinstance(reply.body, Mapping) else {}
    name, said = body.get("name"), body.get("message")
    if not isinstance(name, str):
        raise unexpected_body(PROVIDER, reply.status_code, reply.headers, "without an error name")
    if reply.status_code == 401 and name == "restricted_api_key":
        return Outcome.connected(
            "Resend API key is valid but restricted to sending emails", {"access": "sending"}
        )
    reason = resend_reason(reply.status_code)
    if reason is Reason.RATE_LIMITED:
        wait = retry_after_seconds(reply.headers, datetime.now(UTC))
    else:
        wait = unavailable_for(reply.status_code, reply.headers)
    raise CheckFailed(reason, f"Resend: {said or name} ({name})", retry_after=wait)


def resend_reason(http_status: int) -> Reason:
    """Resend errors by HTTP status: 400, 401 and 403 are all about the key."""
    return reason_for_http_status(http_status, {400: Reason.AUTH, 403: Reason.AUTH})
