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
        (["alertname=SomethingWithoutSeverity"], "ticket"),
    ],
    ids=["page", "ticket", "no-severity"],
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


def test_alertmanager_inhibition__monitor_down_silences_its_integration_alerts(
    alertmanager: str,
) -> None:
    """While the monitor is down, only that page goes out, not one per integration."""
    job, here, elsewhere = "inhibit-down", {"instance": "a:9477"}, {"instance": "b:9477"}
    down = alert(job, "IntegrationMonitorDown", "page", **here)
    burn = alert(job, "IntegrationErrorBudgetBurnFast", "page", integration="stripe", **here)
    other = alert(
        job, "IntegrationError", "page", integration="stripe", status="error", **elsewhere
    )
    post_alerts(alertmanager, down, burn, other)
    expect_inhibited(alertmanager, burn)
    assert not is_inhibited(alertmanager, down)
    assert not is_inhibited(alertmanager, other), "another instance must still page"


def test_alertmanager_inhibition__monitor_absent_silences_integration_alerts(
    alertmanager: str,
) -> None:
    """When Prometheus loses the target, its leftover per-integration alerts stay quiet."""
    job = "inhibit-absent"
    absent = alert(job, "IntegrationMonitorAbsent", "page")
    stale = alert(job, "IntegrationChecksStale", "page", instance="a:9477", integration="email")
    post_alerts(alertmanager, absent, stale)
    expect_inhibited(alertmanager, stale)
    assert not is_inhibited(alertmanager, absent)


def test_alertmanager_inhibition__integration_error_silences_degraded(alertmanager: str) -> None:
    """One failing integration pages once, not also as a degraded overall status."""
    job, instance = "inhibit-degraded", {"instance": "a:9477"}
    error = alert(job, "IntegrationError", "page", integration="stripe", status="error", **instance)
    degraded = alert(job, "IntegrationsDegraded", "page", status="degraded", **instance)
    post_alerts(alertmanager, error, degraded)
    expect_inhibited(alertmanager, degraded)
    assert not is_inhibited(alertmanager, error)


def test_alertmanager_inhibition__integration_error_silences_only_its_own_burn_alerts(
    alertmanager: str,
) -> None:
    """An integration in error does not page again for its budget; others still page."""
    job, instance = "inhibit-burn", {"instance": "a:9477"}
    error = alert(job, "IntegrationError", "page", integration="stripe", status="error", **instance)
    burn = alert(job, "IntegrationErrorBudgetBurnFast", "page", integration="stripe", **instance)
    other_burn = alert(
        job, "IntegrationErrorBudgetBurnSlow", "page", integration="email", **instance
    )
    post_alerts(alertmanager, error, burn, other_burn)
    expect_inhibited(alertmanager, burn)
    assert not is_inhibited(alertmanager, other_burn)


def test_alertmanager_inhibition__a_page_silences_tickets_of_the_same_integration(
    alertmanager: str,
) -> None:
    """While an integration pages, its slow-check and flapping tickets wait."""
    job, instance = "inhibit-ticket", {"instance": "a:9477"}
    page = alert(job, "IntegrationError", "page", integration="stripe", status="error", **instance)
    ticket = alert(job, "IntegrationFlapping", "ticket", integration="stripe", **instance)
    other_ticket = alert(job, "IntegrationCheckSlow", "ticket", integration="email", **instance)
    post_alerts(alertmanager, page, ticket, other_ticket)
    expect_inhibited(alertmanager, ticket)
    assert not is_inhibited(alertmanager, other_ticket)


def test_live_alertmanager__writes_its_log_to_the_workdir(tmp_path: Path) -> None:
    """A failed start can be diagnosed from the log that running_alertmanager keeps."""
    with running_alertmanager(ALERTMANAGER_CONFIG, tmp_path):
        pass
    assert "Listening on" in (tmp_path / "alertmanager.log").read_text(encoding="utf-8")
