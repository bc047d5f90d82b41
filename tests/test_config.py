"""Configuration: defaults, validation that lists every problem, secrets kept out of errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, load_settings
from monitor.targets import build_targets, postgres_dsn_in_use


def test_load_settings__defaults_match_the_contract() -> None:
    """With nothing set, the documented defaults apply."""
    settings = load_settings()
    assert settings.monitor_interval_seconds == 60
    assert settings.monitor_check_timeout_seconds == 10
    assert settings.monitor_port == 9477
    assert settings.whatsapp_graph_api_version == "v25.0"
    assert settings.database_check_mode == "auto"


def test_load_settings__every_problem_listed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several bad variables are all named in one error, each with what is wrong."""
    monkeypatch.setenv("MONITOR_INTERVAL_SECONDS", "soon")
    monkeypatch.setenv("MONITOR_PORT", "70000")
    monkeypatch.setenv("STRIPE_API_URL", "not a url")
    monkeypatch.setenv("DATABASE_CHECK_MODE", "mysql")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    named = " ".join(caught.value.problems)
    for variable in (
        "MONITOR_INTERVAL_SECONDS",
        "MONITOR_PORT",
        "STRIPE_API_URL",
        "DATABASE_CHECK_MODE",
    ):
        assert variable in named
    assert len(caught.value.problems) == 4


def test_load_settings__timeout_must_be_below_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """A timeout as long as the interval is refused."""
    monkeypatch.setenv("MONITOR_INTERVAL_SECONDS", "10")
    monkeypatch.setenv("MONITOR_CHECK_TIMEOUT_SECONDS", "10")
    with pytest.raises(ConfigError, match="MONITOR_CHECK_TIMEOUT_SECONDS"):
        load_settings()


def test_load_settings__bad_dsn_error_hides_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed DATABASE_URL is named, its value (and password) never echoed."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:hunter2secret@host:port/db x")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "DATABASE_URL" in caught.value.problems[0]
    assert "hunter2secret" not in str(caught.value)


def test_load_settings__reads_dotenv_file() -> None:
    """A .env in the working directory is read."""
    (Path.cwd() / ".env").write_text("MONITOR_PORT=9999\nSTRIPE_SECRET_KEY=sk_test_dotenv\n")
    settings = load_settings()
    assert settings.monitor_port == 9999
    assert settings.stripe_secret_key is not None


def test_settings__repr_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets never appear in a repr or in the effective configuration that is logged."""
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "EAAGsecretvalue")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw-secret@h/db")
    settings = load_settings()
    assert "EAAGsecretvalue" not in repr(settings)
    view = str(settings.public_view())
    assert "EAAGsecretvalue" not in view
    assert "pw-secret" not in view
    assert settings.public_view()["WHATSAPP_ACCESS_TOKEN"] == "[set]"
    assert "pw-secret" in settings.secret_values()


@pytest.mark.parametrize(
    ("variables", "kind"),
    [
        ({}, "postgres"),
        ({"DATABASE_URL": "postgresql://u@h/db"}, "postgres"),
        (
            {
                "SUPABASE_URL": "https://x.supabase.co",
                "SUPABASE_SERVICE_ROLE_KEY": "service-role-key",
            },
            "supabase",
        ),
        (
            {
                "SUPABASE_URL": "https://x.supabase.co",
                "SUPABASE_SERVICE_ROLE_KEY": "service-role-key",
                "DATABASE_URL": "postgresql://u@h/db",
                "DATABASE_CHECK_MODE": "postgres",
            },
            "postgres",
        ),
        ({"DATABASE_CHECK_MODE": "supabase"}, "supabase"),
    ],
)
def test_build_targets__database_mode(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], kind: str
) -> None:
    """auto picks Supabase when it is configured, else PostgreSQL; an explicit mode wins."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    targets = {t.name: t for t in build_targets(load_settings())}
    assert list(targets) == ["whatsapp", "stripe", "email", "database"]
    assert targets["database"].kind == kind


def test_build_targets__reprs_hold_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Targets and the provider settings inside them print without their secrets."""
    secrets = {
        "WHATSAPP_ACCESS_TOKEN": "EAAGreprcanary",
        "STRIPE_SECRET_KEY": "sk_reprcanary",
        "RESEND_API_KEY": "re_reprcanary",
        "DATABASE_URL": "postgresql://u:pwreprcanary@h/d",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    for target in build_targets(load_settings()):
        printed = repr(target) + repr(vars(target.check))
        for value in secrets.values():
            assert value not in printed
        assert "pwreprcanary" not in printed


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("MONITOR_INTERVAL_SECONDS", "inf", "finite"),
        ("MONITOR_CHECK_TIMEOUT_SECONDS", "nan", "finite"),
        ("RESEND_API_URL", "http://127.0.0.1:99999", "port"),
        ("STRIPE_API_URL", "https://api.stripe.com/?key=x", "base URL"),
        ("WHATSAPP_BUSINESS_ACCOUNT_ID", "1?fields=x#", "numeric"),
        ("WHATSAPP_GRAPH_API_VERSION", "latest", "v25.0"),
        ("SUPABASE_HEALTH_TABLE", "t; drop", "table name"),
    ],
)
def test_load_settings__values_that_would_fail_later_fail_now(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    """A value that would only break at the first request is refused at start, in plain words."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    [problem] = caught.value.problems
    assert problem.startswith(f"{variable}: ")
    assert words in problem
    assert value not in problem


def test_load_settings__integrations_default_to_all_four() -> None:
    """Without MONITOR_INTEGRATIONS every integration is checked."""
    assert load_settings().monitor_integrations == ("whatsapp", "stripe", "email", "database")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("email", ("email",)),
        ("stripe,email,database", ("stripe", "email", "database")),
        (" database , Stripe ", ("stripe", "database")),
        ("email,", ("email",)),
    ],
)
def test_load_settings__integrations_comma_separated(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: tuple[str, ...]
) -> None:
    """Names are comma-separated, spaces and case aside, and kept in the dashboard's order."""
    monkeypatch.setenv("MONITOR_INTEGRATIONS", value)
    assert load_settings().monitor_integrations == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("whatsapp,sms", "name 2 is not one of whatsapp, stripe, email, database"),
        ("mail,sms", "names 1 and 2 are not one of whatsapp, stripe, email, database"),
        (" , ", "must name at least one of whatsapp, stripe, email, database"),
        ("stripe,email,stripe", "names stripe more than once"),
    ],
)
def test_load_settings__bad_integrations_listed_with_other_problems(
    monkeypatch: pytest.MonkeyPatch, value: str, words: str
) -> None:
    """An unknown, repeated or missing integration is bad configuration, among the others."""
    monkeypatch.setenv("MONITOR_INTEGRATIONS", value)
    monkeypatch.setenv("MONITOR_PORT", "-1")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    problems = sorted(caught.value.problems)
    assert len(problems) == 2
    assert problems[0] == f"MONITOR_INTEGRATIONS: {words}"
    assert problems[1].startswith("MONITOR_PORT: ")


def test_build_targets__only_the_listed_integrations(monkeypatch: pytest.MonkeyPatch) -> None:
    """An integration left out of MONITOR_INTEGRATIONS gets no target at all."""
    monkeypatch.setenv("MONITOR_INTEGRATIONS", "database,email")
    assert [t.name for t in build_targets(load_settings())] == ["email", "database"]


@pytest.mark.parametrize(
    ("variables", "in_use"),
    [
        ({"DATABASE_URL": "postgresql://u@h/db"}, True),
        ({"DATABASE_URL": "postgresql://u@h/db", "MONITOR_INTEGRATIONS": "email"}, False),
        (
            {
                "DATABASE_URL": "postgresql://u@h/db",
                "SUPABASE_URL": "https://x.supabase.co",
                "SUPABASE_SERVICE_ROLE_KEY": "service-role-key",
            },
            False,
        ),
        ({}, False),
    ],
)
def test_postgres_dsn_in_use__only_when_the_postgres_check_runs(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], in_use: bool
) -> None:
    """The DSN counts (for the TLS warning) only when the PostgreSQL check will use it."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert (postgres_dsn_in_use(load_settings()) is not None) is in_use
