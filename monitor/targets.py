"""From settings to the list of targets the runner checks.

One target per integration of the platform; a target is a (name, kind, check) triple, so the
organizations' targets (monitor.fleet.targets) go through the same runner.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.checks.base import Target
from monitor.checks.email import ResendCheck, ResendSettings
from monitor.checks.postgres import PostgresCheck, PostgresSettings
from monitor.checks.stripe import StripeCheck, StripeSettings
from monitor.checks.whatsapp import WhatsAppCheck, WhatsAppSettings
from monitor.clients import ProviderClients
from monitor.config import Settings


def build_targets(settings: Settings, clients: ProviderClients | None = None) -> list[Target]:
    """One target per integration in MONITOR_INTEGRATIONS, in the order the dashboard lists them.

    With `clients` (fleet mode), WhatsApp and Stripe go through the pools the organizations'
    checks use, so every request to those providers is counted in one place.
    """
    builders: dict[str, Callable[[Settings], Target]] = {
        "whatsapp": lambda s: whatsapp_target(s, clients),
        "stripe": lambda s: stripe_target(s, clients),
        "email": email_target,
        "database": database_target,
    }
    return [builders[name](settings) for name in settings.monitor_integrations]


def whatsapp_target(settings: Settings, clients: ProviderClients | None = None) -> Target:
    """The Meta Graph API check of the platform's WhatsApp Business Account: its health and
    phone numbers, and its webhook subscription when WHATSAPP_APP_ID is set."""
    whatsapp = WhatsAppSettings(
        access_token=settings.whatsapp_access_token,
        business_account_id=settings.whatsapp_business_account_id,
        graph_api_url=settings.whatsapp_graph_api_url,
        graph_api_version=settings.whatsapp_graph_api_version,
        app_id=settings.whatsapp_app_id,
    )
    shared = clients.http("whatsapp") if clients is not None else None
    check = WhatsAppCheck(whatsapp, settings.monitor_check_timeout_seconds, shared)
    configured = bool(whatsapp.access_token and whatsapp.business_account_id)
    # The webhook subscription is a second request, and takes a second unit of the Graph budget.
    requests = 2 if settings.whatsapp_app_id else 1
    return Target("whatsapp", "whatsapp", check, budgeted=configured, requests=requests)


def stripe_target(settings: Settings, clients: ProviderClients | None = None) -> Target:
    """The Stripe check: the customer, or the key alone; and the webhook endpoint if named."""
    stripe = StripeSettings(
        secret_key=settings.stripe_secret_key,
        customer_id=settings.stripe_customer_id,
        api_url=settings.stripe_api_url,
        webhook_endpoint_id=settings.stripe_webhook_endpoint_id,
    )
    key = settings.stripe_secret_key
    shared = clients.stripe(key, settings.stripe_api_url) if clients and key else None
    check = StripeCheck(stripe, settings.monitor_check_timeout_seconds, shared)
    # The webhook endpoint is a second request, and takes a second unit of the Stripe budget.
    requests = 2 if settings.stripe_webhook_endpoint_id else 1
    return Target("stripe", "stripe", check, budgeted=key is not None, requests=requests)


def email_target(settings: Settings) -> Target:
    """The Resend check: the key, and the sending domain when RESEND_DOMAIN names one."""
    email = ResendSettings(
        api_key=settings.resend_api_key,
        api_url=settings.resend_api_url,
        domain=settings.resend_domain,
    )
    return Target("email", "resend", ResendCheck(email, settings.monitor_check_timeout_seconds))


def postgres_dsn_in_use(settings: Settings) -> str | None:
    """The DSN the PostgreSQL check connects with, when this deployment runs that check."""
    if "database" not in settings.monitor_integrations or _uses_supabase(settings):
        return None
    return settings.database_url.get_secret_value() if settings.database_url else None


def _uses_supabase(settings: Settings) -> bool:
    supabase_set = bool(settings.supabase_url and settings.supabase_service_role_key)
    mode = settings.database_check_mode
    return mode == "supabase" or (mode == "auto" and supabase_set)


def database_target(settings: Settings) -> Target:
    """Supabase when chosen or (in auto mode) configured; direct PostgreSQL otherwise."""
    timeout = settings.monitor_check_timeout_seconds
    if _uses_supabase(settings):
        # Imported here: the supabase package costs tens of MB, paid only by those who use it.
        from monitor.checks.supabase import SupabaseCheck, SupabaseSettings  # noqa: PLC0415

        supabase = SupabaseSettings(
            url=settings.supabase_url,
            service_role_key=settings.supabase_service_role_key,
            health_table=settings.supabase_health_table,
        )
        return Target("database", "supabase", SupabaseCheck(supabase, timeout))
    postgres = PostgresSettings(dsn=settings.database_url)
    return Target("database", "postgres", PostgresCheck(postgres, timeout))
