"""From an organization to the checks of its own integrations (§8.2).

A target carries its organization's secrets with it: the result of an organization's check is
scrubbed with that organization's token, not by a scan over every token of the fleet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr

from monitor.checks.base import Outcome, Target
from monitor.checks.stripe import StripeCheck, StripeSettings
from monitor.checks.whatsapp import WhatsAppCheck, WhatsAppSettings
from monitor.clients import ProviderClients
from monitor.config import Settings
from monitor.fleet.holds import token_key
from monitor.fleet.organizations import Organization
from monitor.redaction import Redactor

FLEET_INTEGRATIONS = ("whatsapp", "stripe")


@dataclass(frozen=True)
class OrganizationTarget:
    """One (organization, integration) to check, and how to scrub what it returns."""

    organization: str
    integration: str
    target: Target
    redactor: Redactor = field(repr=False, compare=False)
    # Which token the check sends, as a fingerprint: Graph limits per token hold it back.
    token_key: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(organization, integration)."""
        return (self.organization, self.integration)


class FleetTargets:
    """Builds each organization's targets over the shared provider clients.

    Args:
        settings: the platform's settings (Graph URL and version, the Stripe key, the
            fallback WhatsApp token).
        clients: the pooled provider clients.
    """

    def __init__(self, settings: Settings, clients: ProviderClients) -> None:
        self._settings = settings
        self._clients = clients
        self.integrations = tuple(
            name for name in FLEET_INTEGRATIONS if name in settings.monitor_integrations
        )

    def requests_per_check(self, integration: str) -> int:
        """How many requests one organization check of `integration` sends (budget it takes):
        with WHATSAPP_APP_ID, a WhatsApp check also reads the account's subscribed apps."""
        if integration == "whatsapp" and self._settings.whatsapp_app_id:
            return 2
        return 1

    def target(self, organization: Organization, integration: str) -> OrganizationTarget | Outcome:
        """The target to check, or the not_configured outcome when there is nothing to check."""
        if integration == "whatsapp":
            return self._whatsapp(organization)
        return self._stripe(organization)

    def _whatsapp(self, organization: Organization) -> OrganizationTarget | Outcome:
        settings = self._settings
        token = organization.whatsapp_access_token or settings.whatsapp_access_token
        if not organization.whatsapp_business_account_id:
            return Outcome.not_configured("the organization has no WhatsApp Business Account")
        if token is None:
            return Outcome.not_configured(
                "the organization has no WhatsApp token and WHATSAPP_ACCESS_TOKEN is not set"
            )
        check = WhatsAppCheck(
            WhatsAppSettings(
                token,
                organization.whatsapp_business_account_id,
                settings.whatsapp_graph_api_url,
                settings.whatsapp_graph_api_version,
                settings.whatsapp_app_id,
            ),
            settings.monitor_check_timeout_seconds,
            self._clients.http("whatsapp"),
        )
        return self._wrap(
            organization,
            "whatsapp",
            check,
            organization.whatsapp_access_token,
            token_key(token.get_secret_value()),
            self.requests_per_check("whatsapp"),
        )

    def _stripe(self, organization: Organization) -> OrganizationTarget | Outcome:
        settings = self._settings
        key = settings.stripe_secret_key
        if not organization.stripe_customer_id:
            return Outcome.not_configured("the organization has no Stripe customer")
        if key is None:
            return Outcome.not_configured("STRIPE_SECRET_KEY is not set")
        check = StripeCheck(
            StripeSettings(key, organization.stripe_customer_id, settings.stripe_api_url),
            settings.monitor_check_timeout_seconds,
            self._clients.stripe(key, settings.stripe_api_url),
        )
        return self._wrap(organization, "stripe", check, None, None)

    @staticmethod
    def _wrap(
        organization: Organization,
        integration: str,
        check: WhatsAppCheck | StripeCheck,
        own_secret: SecretStr | None,
        token_fingerprint: str | None,
        requests: int = 1,
    ) -> OrganizationTarget:
        secrets = [own_secret.get_secret_value()] if own_secret is not None else []
        target = Target(f"{organization.id}/{integration}", integration, check, requests=requests)
        return OrganizationTarget(
            organization.id, integration, target, Redactor(secrets), token_fingerprint
        )
