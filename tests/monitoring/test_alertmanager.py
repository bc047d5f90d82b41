"""The example Alertmanager configuration: syntax, routing and inhibition."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.monitoring.live_alertmanager import (
    is_inhibited,
    post_alerts,
    running_alertmanager,
)
from tests.monitoring.stack_binaries import assert_tool_succeeds
from tests.monitoring.stack_files import ALERTMANAGER_CONFIG, load_yaml
from tests.support.daemon import wait_for

INHIBITION_DEADLINE_SECONDS = 10.0


def test_alertmanager_config__passes_amtool_check_config() -> None:
    """Alertmanager starts with the shipped example configuration."""
    assert_tool_succeeds("amtool", "check-config", str(ALERTMANAGER_CONFIG))


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=page", "alertname=IntegrationError", "integration=stripe"], "page"),
        (["severity=ticket", "alertname=IntegrationFlapping", "integration=email"], "ticket"),
        (
            ["severity=page", "alertname=OrganizationsFailingByReason", "integration=whatsapp"],
            "page",
        ),
        (
            [
                "severity=ticket",
                "alertname=OrganizationIntegrationError",
                "integration=whatsapp",
                "organization=org-0042",
            ],
            "ticket",
        ),
        (["severity=ticket", "alertname=StatusSinkDown"], "ticket"),
        (["severity=page", "alertname=MonitorShardMissing"], "page"),
        (["alertname=SomethingWithoutSeverity"], "ticket"),
    ],
    ids=[
        "page",
        "ticket",
        "fleet-page",
        "one-organization-ticket",
        "sink-ticket",
        "shard-page",
        "no-severity",
    ],
)
def test_alertmanager_routes__send_each_severity_to_its_receiver(
    labels: list[str], receiver: str
) -> None:
    """Pages reach the pager; tickets, and alerts without a severity, reach the queue."""
    assert_tool_succeeds(
        "amtool",
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_CONFIG}",
        f"--verify.receivers={receiver}",
        *labels,
    )


def test_alertmanager_routes__group_notifications_by_integration() -> None:
    """All the alerts about one integration arrive in one notification."""
    assert "integration" in load_yaml(ALERTMANAGER_CONFIG)["route"]["group_by"]


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Alertmanager for the module; each test uses its own job label to stay apart."""
    with running_alertmanager(ALERTMANAGER_CONFIG, tmp_path_factory.mktemp("am")) as url:
        yield url


def alert(job: str, alertname: str, severity: str, **labels: str) -> dict[str, str]:
    """Labels of an alert as the shipped rules produce it."""
    return {"alertname": alertname, "severity": severity, "job": job, **labels}


def expect_inhibited(base_url: str, labels: dict[str, str]) -> None:
    """Wait until Alertmanager has taken the sources into account and mutes `labels`."""
    wait_for(
        lambda: is_inhibited(base_url, labels),
        INHIBITION_DEADLINE_SECONDS,
        what=f"{labels['alertname']} to be inhibited",
    )


def test_alertmanager_inhibition__monitor_absent_silences_integration_alerts(
    alertmanager: str,
) -> None:
    """When Prometheus loses the target, its leftover per-integration alerts stay quiet."""
    job = "inhibit-absent"
    absent = alert(job, "IntegrationMonitorAbsent", "page")
    stale = alert(job, "IntegrationChecksStale", "page", integration="email")
    post_alerts(alertmanager, absent, stale)
    expect_inhibited(alertmanager, stale)
    assert not is_inhibited(alertmanager, absent)


def test_alertmanager_inhibition__integration_error_silences_degraded(alertmanager: str) -> None:
    """One failing integration pages once, not also as a degraded overall status."""
    job = "inhibit-degraded"
    error = alert(job, "IntegrationError", "page", integration="stripe", status="error")
    degraded = alert(job, "IntegrationsDegraded", "page", status="degraded")
    post_alerts(alertmanager, error, degraded)
    expect_inhibited(alertmanager, degraded)
    assert not is_inhibited(alertmanager, error)


def test_alertmanager_inhibition__integration_error_silences_only_its_own_burn_alerts(
    alertmanager: str,
) -> None:
    """An integration in error does not page again for its budget; others still page."""
    job = "inhibit-burn"
    error = alert(job, "IntegrationError", "page", integration="stripe", status="error")
    burn = alert(job, "IntegrationErrorBudgetBurnFast", "page", integration="stripe")
    other_burn = alert(job, "IntegrationErrorBudgetBurnSlow", "page", integration="email")
    post_alerts(alertmanager, error, burn, other_burn)
    expect_inhibited(alertmanager, burn)
    assert not is_inhibited(alertmanager, other_burn)


def test_alertmanager_inhibition__misconfigured_replaces_the_generic_error_page(
    alertmanager: str,
) -> None:
    """A misconfigured integration pages with its own case and runbook, not twice."""
    job = "inhibit-misconfigured"
    misconfigured = alert(
        job, "IntegrationMisconfigured", "page", integration="email", status="error"
    )
    error = alert(job, "IntegrationError", "page", integration="email", status="error")
    other_error = alert(job, "IntegrationError", "page", integration="stripe", status="error")
    post_alerts(alertmanager, misconfigured, error, other_error)
    expect_inhibited(alertmanager, error)
    assert not is_inhibited(alertmanager, misconfigured)
    assert not is_inhibited(alertmanager, other_error), "another integration must still page"


def test_alertmanager_inhibition__one_reason_silences_the_generic_fleet_page(
    alertmanager: str,
) -> None:
    """Organizations failing for one reason page once, with that reason."""
    job = "inhibit-fleet"
    by_reason = alert(
        job, "OrganizationsFailingByReason", "page", integration="whatsapp", reason="auth"
    )
    generic = alert(job, "OrganizationsInError", "page", integration="whatsapp")
    other_generic = alert(job, "OrganizationsInError", "page", integration="stripe")
    post_alerts(alertmanager, by_reason, generic, other_generic)
    expect_inhibited(alertmanager, generic)
    assert not is_inhibited(alertmanager, other_generic)


def test_alertmanager_inhibition__a_fleet_page_silences_its_organizations_tickets(
    alertmanager: str,
) -> None:
    """During a fleet-wide WhatsApp incident, no ticket per organization goes out."""
    job = "inhibit-organizations"
    page = alert(job, "OrganizationsFailingByReason", "page", integration="whatsapp", reason="auth")
    ticket = alert(
        job, "OrganizationIntegrationError", "ticket", integration="whatsapp", organization="o1"
    )
    other_ticket = alert(
        job, "OrganizationIntegrationError", "ticket", integration="stripe", organization="o1"
    )
    post_alerts(alertmanager, page, ticket, other_ticket)
    expect_inhibited(alertmanager, ticket)
    assert not is_inhibited(alertmanager, other_ticket)


def test_alertmanager_inhibition__machinery_alerts_name_the_cause_once(
    alertmanager: str,
) -> None:
    """A sink that cannot write and a source never loaded each send one notification."""
    job = "inhibit-machinery"
    sink_down = alert(job, "StatusSinkDown", "ticket")
    sink_errors = alert(job, "StatusSinkErrors", "ticket")
    sink_backlog = alert(job, "StatusSinkBacklog", "ticket")
    never_loaded = alert(job, "OrganizationSourceNeverLoaded", "page")
    source_down = alert(job, "OrganizationSourceDown", "ticket")
    post_alerts(alertmanager, sink_down, sink_errors, sink_backlog, never_loaded, source_down)
    for inhibited in (sink_errors, sink_backlog, source_down):
        expect_inhibited(alertmanager, inhibited)
    assert not is_inhibited(alertmanager, sink_down)
    assert not is_inhibited(alertmanager, never_loaded)


def test_alertmanager_inhibition__a_page_silences_tickets_of_the_same_integration(
    alertmanager: str,
) -> None:
    """While an integration pages, its slow-check and flapping tickets wait."""
    job = "inhibit-ticket"
    page = alert(job, "IntegrationError", "page", integration="stripe", status="error")
    ticket = alert(job, "IntegrationFlapping", "ticket", integration="stripe")
    other_ticket = alert(job, "IntegrationCheckSlow", "ticket", integration="email")
    post_alerts(alertmanager, page, ticket, other_ticket)
    expect_inhibited(alertmanager, ticket)
    assert not is_inhibited(alertmanager, other_ticket)


def test_live_alertmanager__writes_its_log_to_the_workdir(tmp_path: Path) -> None:
    """A failed start can be diagnosed from the log that running_alertmanager keeps."""
    with running_alertmanager(ALERTMANAGER_CONFIG, tmp_path):
        pass
    assert "Listening on" in (tmp_path / "alertmanager.log").read_text(encoding="utf-8")
