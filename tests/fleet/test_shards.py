"""Shards (§8.7): which replica owns which organization, and what a replica answers for the rest."""

from __future__ import annotations

import hashlib
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from monitor.config import ConfigError, load_settings
from monitor.fleet.scale_settings import Shard
from monitor.fleet.shards import ShardAssignment, shard_of
from tests.fakes.server import FakeServer
from tests.fleet.organizations_fake import (
    fleet_env,
    healthy_fleet,
    requests_to,
    waba_path,
)
from tests.support.daemon import monitor_command, running_daemon, subprocess_env, wait_for

QUIET = {"MONITOR_ORGANIZATION_INTERVAL_SECONDS": "3600"}
FLEET = {"MONITOR_ORGANIZATIONS_FILE": "orgs.yaml", "MONITOR_HOST": "127.0.0.1"}


def contract_shard(organization_id: str, count: int) -> int:
    # The contract's formula, written out as another tool would.
    return int.from_bytes(hashlib.sha256(organization_id.encode()).digest()[:8], "big") % count


def test_shard_of__is_the_contracts_formula_and_spreads_evenly() -> None:
    ids = [f"org-{n:05d}" for n in range(3000)]
    assert [shard_of(i, 3) for i in ids] == [contract_shard(i, 3) for i in ids]
    sizes = Counter(shard_of(i, 3) for i in ids)
    assert set(sizes) == {0, 1, 2}
    assert all(800 < size < 1200 for size in sizes.values()), sizes


def test_assignment__every_organization_has_exactly_one_owner() -> None:
    replicas = [ShardAssignment(Shard(index, 4)) for index in range(4)]
    for n in range(500):
        owners = [r.shard.index for r in replicas if r.owns(f"org-{n}")]
        assert len(owners) == 1
    alone = ShardAssignment(None)
    assert alone.owns("anything")
    assert str(alone.shard) == "0/1"


def test_settings__shard_from_the_variable_or_the_host_names_ordinal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings(**FLEET, monitor_shard="2/5").shard == Shard(2, 5)
    monkeypatch.setenv("HOSTNAME", "integration-monitor-3")
    assert load_settings(**FLEET, monitor_shard_count=4).shard == Shard(3, 4)
    assert load_settings(**FLEET).shard is None


@pytest.mark.parametrize(
    ("settings", "host", "expected"),
    [
        ({"monitor_shard": "3/3"}, "x", "MONITOR_SHARD: the index must be below the count"),
        ({"monitor_shard": "1 of 3"}, "x", "MONITOR_SHARD: should be index/count"),
        ({"monitor_shard": "0/0"}, "x", "MONITOR_SHARD: the count must be at least 1"),
        (
            {"monitor_shard": "0/2", "monitor_shard_count": 2},
            "x",
            "set MONITOR_SHARD or MONITOR_SHARD_COUNT, not both",
        ),
        ({"monitor_shard_count": 3}, "monitor", "does not end in -<ordinal>"),
        ({"monitor_shard_count": 3}, "monitor-3", "has ordinal 3, which is not below"),
    ],
)
def test_settings__bad_shard_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, settings: dict[str, object], host: str, expected: str
) -> None:
    monkeypatch.setenv("HOSTNAME", host)
    with pytest.raises(ConfigError) as raised:
        load_settings(**FLEET, **settings)
    assert any(expected in problem for problem in raised.value.problems), raised.value.problems


def test_run__bad_shard_exits_2_before_binding_listing_every_problem(tmp_path: Path) -> None:
    (tmp_path / "orgs.yaml").write_text("[]\n")
    env = {
        "MONITOR_SHARD": "4/4",
        "MONITOR_STATUS_SINK": "postgres",
        "MONITOR_ORGANIZATIONS_FILE": str(tmp_path / "orgs.yaml"),
        "MONITOR_HOST": "127.0.0.1",
        "MONITOR_PORT": "0",
    }
    done = subprocess.run(
        [*monitor_command(), "run"],
        env=subprocess_env(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "MONITOR_SHARD: the index must be below the count" in done.stderr
    assert "MONITOR_STATUS_SINK=postgres needs MONITOR_STATUS_SINK_URL or DATABASE_URL" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr


def test_settings__sharding_without_organizations_is_a_mistake() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(monitor_shard="0/2")
    assert raised.value.problems == [
        "sharding splits organizations: set an organization source too"
    ]


def test_daemon__checks_only_its_own_and_points_at_the_owner(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """Shard 1 of 2 checks, lists and counts only its organizations; others get a 421."""
    rows, orgs = healthy_fleet(fake_server, tmp_path, 12)
    mine = sorted(r["id"] for r in rows if contract_shard(r["id"], 2) == 1)
    theirs = sorted(r["id"] for r in rows if contract_shard(r["id"], 2) == 0)
    assert mine
    assert theirs
    env = fleet_env(
        fake_server, orgs, MONITOR_SHARD="1/2", MONITOR_ORGANIZATION_INTERVAL_SECONDS="3"
    )
    with running_daemon(env) as daemon:
        listed = daemon.get("/api/organizations").json()
        assert [o["id"] for o in listed["organizations"]] == mine
        summary = daemon.get("/api/organizations/summary").json()
        assert summary["organizations"] == len(mine)
        assert summary["shard"] == {"index": 1, "count": 2}

        elsewhere = daemon.get(f"/api/organizations/{theirs[0]}/integrations/status")
        assert elsewhere.status_code == 421
        assert elsewhere.json() == {"error": "organization belongs to shard 0/2", "shard": 0}
        refresh = daemon.post(f"/api/organizations/{theirs[0]}/integrations/refresh")
        assert refresh.status_code == 421
        nowhere = [f"ghost-{n}" for n in range(20)]  # in no shard's source, whatever the hash
        for ghost in nowhere:
            answer = daemon.get(f"/api/organizations/{ghost}/integrations/status")
            assert (answer.status_code, answer.json()) == (404, {"error": "unknown organization"})
        assert daemon.get(f"/api/organizations/{mine[0]}/integrations/status").status_code == 200

        by_id = {r["id"]: r for r in rows}
        wait_for(
            lambda: all(requests_to(fake_server, waba_path(by_id[i])) for i in mine),
            what="every organization of the shard checked",
        )
        assert not any(requests_to(fake_server, waba_path(by_id[i])) for i in theirs)
        metrics = daemon.get("/metrics").text
        assert 'integration_monitor_shard_info{shard="1",shards="2"} 1.0' in metrics
        assert "integration_monitor_shards 2.0" in metrics
        assert "integration_organization_interval_seconds 3.0" in metrics
        started = daemon.events("monitor.started")[0]
        assert started["shard"] == "1/2"


def test_daemon__shard_from_a_statefulset_pod_name(fake_server: FakeServer, tmp_path: Path) -> None:
    _, orgs = healthy_fleet(fake_server, tmp_path, 2)
    env = fleet_env(fake_server, orgs, MONITOR_SHARD_COUNT="3", HOSTNAME="monitor-2", **QUIET)
    with running_daemon(env) as daemon:
        summary = daemon.get("/api/organizations/summary").json()
        assert summary["shard"] == {"index": 2, "count": 3}


def test_daemon__unsharded_replica_is_shard_0_of_1(fake_server: FakeServer, tmp_path: Path) -> None:
    _, orgs = healthy_fleet(fake_server, tmp_path, 2)
    with running_daemon(fleet_env(fake_server, orgs, **QUIET)) as daemon:
        metrics = daemon.get("/metrics").text
        assert 'integration_monitor_shard_info{shard="0",shards="1"} 1.0' in metrics
        missing = daemon.get("/api/organizations/no-such-org/integrations/status")
        assert missing.status_code == 404
