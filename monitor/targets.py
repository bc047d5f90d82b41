"""From settings to the list of targets the runner checks.

Today there is one target per integration; a target is a (name, kind, check) triple so that
several accounts of one provider can be watched side by side later.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.checks.base import Target
from monitor.checks.email import ResendCheck, ResendSettings
from monitor.checks.postgres import PostgresCheck, PostgresSettings
from monitor.checks.stripe import StripeCheck, StripeSettings
from monitor.checks.supabase import SupabaseCheck, SupabaseSettings
from monitor.checks.whatsapp import WhatsAppCheck, WhatsAppSettings
from monitor.config import Settings


def build_targets(settings: Settings) -> list[Target]:
    """One target per integration in MONITOR_INTEGRATIONS, in the order the dashboard lists them."""
    builders: dict[str, Callable[[Settings], Target]] = {
        "whatsapp": whatsapp_target,
        "stripe": stripe_target,
        "email": email_target,
        "database": database_target,
    }
    return [builders[name](settings) for name in settings.monitor_integrations]


def whatsapp_target(settings: Settings) -> Target:
    """The Meta Graph API check of the platform's WhatsApp Business Account."""
    whatsapp = WhatsAppSettings(
        access_token=settings.whatsapp_access_token,
        business_account_id=settings.whatsapp_business_account_id,
        graph_api_url=settings.whatsapp_graph_api_url,
        graph_api_version=settings.whatsapp_graph_api_version,
    )
    return Target(
        "whatsapp", "whatsapp", WhatsAppCheck(whatsapp, settings.monitor_check_timeout_seconds)
    )


def stripe_target(settings: Settings) -> Target:
    """The Stripe check: the customer, or the key alone."""
    stripe = StripeSettings(
        secret_key=settings.stripe_secret_key,
        customer_id=settings.stripe_customer_id,
        api_url=settings.stripe_api_url,
    )
    return Target("stripe", "stripe", StripeCheck(stripe, settings.monitor_check_timeout_seconds))


def email_target(settings: Settings) -> Target:
    """The Resend check."""
    email = ResendSettings(api_key=settings.resend_api_key, api_url=settings.resend_api_url)
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
        supabase = SupabaseSettings(
            url=settings.supabase_url,
            service_role_key=settings.supabase_service_role_key,
            health_table=settings.supabase_health_table,
        )
        return Target("database", "supabase", SupabaseCheck(supabase, timeout))
    postgres = PostgresSettings(dsn=settings.database_url)
    return Target("database", "postgres", PostgresCheck(postgres, timeout))
