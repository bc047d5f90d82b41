"""The fleet schedule: hashed phases, spread rounds, new keys first, no double checks."""

from __future__ import annotations

from collections import Counter

from monitor.fleet.schedule import Schedule, phase_of

INTERVAL = 300.0
NOW = 1_800_000_000.0


def drain(schedule: Schedule[str], until: float) -> list[tuple[float, str]]:
    """Every (due time, key) popped up to `until`, as a dispatcher keeping up would see them."""
    popped = []
    while (due := schedule.next_due()) is not None and due <= until:
        key = schedule.pop_due(due)
        assert key is not None
        popped.append((due, key))
    return popped


def fleet_schedule(count: int, now: float = NOW) -> Schedule[str]:
    schedule: Schedule[str] = Schedule(INTERVAL)
    for n in range(count):
        key = f"org-{n}"
        schedule.add(key, phase_of(key, "whatsapp", INTERVAL), now)
    return schedule


def test_phase_of__stable_and_inside_the_interval() -> None:
    """The same key gets the same offset in every process; offsets differ per integration."""
    assert phase_of("org-1", "whatsapp", INTERVAL) == phase_of("org-1", "whatsapp", INTERVAL)
    assert phase_of("org-1", "whatsapp", INTERVAL) != phase_of("org-1", "stripe", INTERVAL)
    assert all(0 <= phase_of(f"o{n}", "stripe", INTERVAL) < INTERVAL for n in range(1000))


def test_schedule__first_round_is_spread_never_a_burst() -> None:
    """10,000 organizations started at once: no tenth of the interval holds much over a tenth."""
    schedule = fleet_schedule(10_000)
    first_round = drain(schedule, NOW + INTERVAL)
    assert len(first_round) == 10_000
    per_tenth = Counter(int((due - NOW) // (INTERVAL / 10)) for due, _ in first_round)
    assert max(per_tenth.values()) < 1_150
    assert min(due for due, _ in first_round) > NOW


def test_schedule__each_key_once_per_interval_at_its_phase() -> None:
    """Over three intervals every key is due three times, an interval apart."""
    schedule = fleet_schedule(50)
    popped = drain(schedule, NOW + 3 * INTERVAL)
    by_key: dict[str, list[float]] = {}
    for due, key in popped:
        by_key.setdefault(key, []).append(due)
    assert all(len(times) == 3 for times in by_key.values())
    for times in by_key.values():
        assert times[1] - times[0] == INTERVAL
        assert times[2] - times[1] == INTERVAL


def test_add__at_once_jumps_the_queue_then_keeps_its_phase() -> None:
    """An organization added by a reload is due now, then at its hashed phase."""
    schedule = fleet_schedule(100)
    schedule.add("new-org", phase_of("new-org", "whatsapp", INTERVAL), NOW, at_once=True)
    assert schedule.next_due() == NOW
    assert schedule.pop_due(NOW) == "new-org"
    later = [due for due, key in drain(schedule, NOW + INTERVAL) if key == "new-org"]
    assert len(later) == 1
    assert (later[0] - phase_of("new-org", "whatsapp", INTERVAL)) % INTERVAL == 0


def test_pop_due__far_behind_does_not_check_a_key_twice_in_a_row() -> None:
    """A dispatcher that was stalled for two intervals gets each key once, not three times."""
    schedule = fleet_schedule(20)
    late = NOW + 2.5 * INTERVAL
    seen = []
    while (key := schedule.pop_due(late)) is not None:
        seen.append(key)
    assert sorted(seen) == sorted(f"org-{n}" for n in range(20))
    next_due = schedule.next_due()
    assert next_due is not None
    assert next_due > late


def test_remove__removed_keys_are_never_due_again() -> None:
    """An organization removed by a reload disappears from the schedule."""
    schedule = fleet_schedule(10)
    schedule.remove(["org-3", "org-4"])
    popped = {key for _, key in drain(schedule, NOW + INTERVAL)}
    assert popped == {f"org-{n}" for n in range(10)} - {"org-3", "org-4"}
    assert len(schedule) == 8
    assert "org-3" not in schedule
