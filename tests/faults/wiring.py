"""The real targets pointed at one base URL, the runner and monitor built over them, and the
one fault the provider misbehaviours of tests/checks do not have: a dripped body."""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry

from monitor.checks.base import CheckResult
from monitor.config import Settings, load_settings
from monitor.metrics import MonitorMetrics
from monitor.redaction import Redactor
from monitor.runner import Runner
from monitor.service import Monitor
from monitor.store import SnapshotStore
from monitor.targets import build_targets
from tests.fakes import providers
from tests.fakes.server import Reply

# The path each HTTP provider's check requests (Supabase with a health table).
PROVIDER_PATHS = {
    "whatsapp": providers.WABA_PATH,
    "stripe": providers.CUSTOMER_PATH,
    "email": "/domains",
    "database": providers.TABLE_PATH,
}


def dripped() -> Reply:
    """Headers at once, then the body one byte per second: a minute for the whole answer."""
    body = json.dumps({"id": providers.WABA_ID, "padding": "p" * 60}).encode()
    return Reply(200, body, {"Content-Type": "application/json"}, drip_interval=1.0)


def settings_for(base_url: str, *, timeout: float, interval: float = 60.0) -> Settings:
    """Every HTTP provider configured against `base_url`, whatever the environment says."""
    return load_settings(
        whatsapp_access_token=providers.CANARIES["WHATSAPP_ACCESS_TOKEN"],
        whatsapp_business_account_id=providers.WABA_ID,
        whatsapp_graph_api_url=base_url,
        whatsapp_graph_api_version=providers.GRAPH_VERSION,
        stripe_secret_key=providers.CANARIES["STRIPE_SECRET_KEY"],
        stripe_customer_id=providers.CUSTOMER_ID,
        stripe_api_url=base_url,
        resend_api_key=providers.CANARIES["RESEND_API_KEY"],
        resend_api_url=base_url,
        supabase_url=base_url,
        supabase_service_role_key=providers.CANARIES["SUPABASE_SERVICE_ROLE_KEY"],
        supabase_health_table=providers.HEALTH_TABLE,
        database_check_mode="supabase",
        monitor_check_timeout_seconds=timeout,
        monitor_interval_seconds=interval,
    )


def runner_for(settings: Settings) -> Runner:
    """The runner the daemon would build over these settings (no retries)."""
    return Runner(
        build_targets(settings),
        settings.monitor_check_timeout_seconds,
        Redactor(settings.secret_values()),
    )


async def one_cycle(base_url: str, *, deadline_seconds: float) -> dict[str, CheckResult]:
    """One cycle of all four real checks against `base_url`, each under `deadline_seconds`."""
    return await runner_for(settings_for(base_url, timeout=deadline_seconds)).run_cycle()


def monitor_over(runner: Runner, settings: Settings) -> Monitor:
    """A monitor with its own registry, wired as the daemon wires it."""
    names = [target.name for target in runner.targets]
    metrics = MonitorMetrics(CollectorRegistry(), names, settings.monitor_check_timeout_seconds)
    return Monitor(runner, SnapshotStore(), metrics, settings.monitor_interval_seconds)
