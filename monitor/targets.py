"""From settings to the list of targets the runner checks.

Today there is one target per integration; a target is a (name, kind, check) triple so that
several accounts of one provider can be watched side by side later.
"""

from __future__ import annotations

from monitor.checks.base import Target
from monitor.checks.email import ResendCheck, ResendSettings
from monitor.checks.postgres import PostgresCheck, PostgresSettings
from monitor.checks.stripe import StripeCheck, StripeSettings
from monitor.checks.supabase import SupabaseCheck, SupabaseSettings
from monitor.checks.whatsapp import WhatsAppCheck, WhatsAppSettings
from monitor.config import Settings

INTEGRATIONS = ("whatsapp", "stripe", "email", "database")


def build_targets(settings: Settings) -> list[Target]:
    """One target per integration, in the order the dashboard lists them."""
    timeout = settings.monitor_check_timeout_seconds
    whatsapp = WhatsAppSettings(
        access_token=settings.whatsapp_access_token,
        business_account_id=settings.whatsapp_business_account_id,
        graph_api_url=settings.whatsapp_graph_api_url,
        graph_api_version=settings.whatsapp_graph_api_version,
    )
    stripe = StripeSettings(
        secret_key=settings.stripe_secret_key,
        customer_id=settings.stripe_customer_id,
        api_url=settings.stripe_api_url,
    )
    email = ResendSettings(api_key=settings.resend_api_key, api_url=settings.resend_api_url)
    return [
        Target("whatsapp", "whatsapp", WhatsAppCheck(whatsapp, timeout)),
        Target("stripe", "stripe", StripeCheck(stripe, timeout)),
        Target("email", "resend", ResendCheck(email, timeout)),
        database_target(settings),
    ]


def database_target(settings: Settings) -> Target:
    """Supabase when chosen or (in auto mode) configured; direct PostgreSQL otherwise."""
    timeout = settings.monitor_check_timeout_seconds
    supabase_set = bool(settings.supabase_url and settings.supabase_service_role_key)
    mode = settings.database_check_mode
    if mode == "supabase" or (mode == "auto" and supabase_set):
        supabase = SupabaseSettings(
            url=settings.supabase_url,
            service_role_key=settings.supabase_service_role_key,
            health_table=settings.supabase_health_table,
        )
        return Target("database", "supabase", SupabaseCheck(supabase, timeout))
    postgres = PostgresSettings(dsn=settings.database_url)
    return Target("database", "postgres", PostgresCheck(postgres, timeout))
