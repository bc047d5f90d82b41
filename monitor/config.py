"""Configuration from the environment (and `.env`), validated in one pass.

Every problem is collected into one ConfigError so an operator fixes them all at once; no
message ever quotes the value it rejects, since that value may be a secret.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import psycopg
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from monitor.fleet.scale_settings import ScaleOutSettingsFields
from monitor.fleet.settings import FleetSettingsFields
from monitor.redaction import MIN_SECRET_LENGTH

# Every integration the monitor knows, in the order the dashboard lists them.
INTEGRATIONS = ("whatsapp", "stripe", "email", "database")


class ConfigError(Exception):
    """The configuration is invalid; `problems` lists each one in plain words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration: " + "; ".join(problems))
        self.problems = problems


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 - reading it is the check: urlsplit validates ports lazily
    except ValueError:
        raise ValueError("has a port that is not a number from 0 to 65535") from None
    if parts.query or parts.fragment:
        raise ValueError("must be a base URL, without a query or fragment")
    return value.rstrip("/")


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _comma_separated(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return tuple(name.strip().lower() for name in value.split(",") if name.strip())


def _known_integrations(names: tuple[str, ...]) -> tuple[str, ...]:
    # Unknown names are counted, not quoted: a value pasted into the wrong variable may be a
    # secret. Repeated names are known ones, safe to say.
    known = ", ".join(INTEGRATIONS)
    if not names:
        raise ValueError(f"must name at least one of {known}")
    unknown = [str(place) for place, name in enumerate(names, 1) if name not in INTEGRATIONS]
    repeated = [name for name in INTEGRATIONS if names.count(name) > 1]
    problems = []
    if unknown:
        one = len(unknown) == 1
        problems.append(
            f"name{'' if one else 's'} {_and(unknown)} {'is' if one else 'are'} not one of {known}"
        )
    if repeated:
        problems.append(f"names {_and(repeated)} more than once")
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(name for name in INTEGRATIONS if name in names)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


HttpUrl = Annotated[str, AfterValidator(_http_url)]
# Comma-separated in the environment (NoDecode: pydantic-settings would expect JSON).
IntegrationNames = Annotated[
    tuple[str, ...],
    NoDecode,
    BeforeValidator(_comma_separated),
    AfterValidator(_known_integrations),
]
_TOO_SHORT = f"is too short to be kept out of logs (at least {MIN_SECRET_LENGTH} characters)"
LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class Settings(FleetSettingsFields, ScaleOutSettingsFields, BaseSettings):
    """Every variable the monitor reads; names are the contract, see the README."""

    model_config = SettingsConfigDict(
        env_file=".env", env_ignore_empty=True, extra="ignore", hide_input_in_errors=True
    )

    whatsapp_access_token: SecretStr | None = None
    whatsapp_business_account_id: str | None = Field(None, pattern=r"^\d+$")
    whatsapp_graph_api_url: HttpUrl = "https://graph.facebook.com"
    whatsapp_graph_api_version: str = Field("v25.0", pattern=r"^v\d+\.\d+$")
    whatsapp_app_id: str | None = Field(None, pattern=r"^\d+$")
    stripe_secret_key: SecretStr | None = None
    stripe_customer_id: str | None = None
    stripe_api_url: HttpUrl = "https://api.stripe.com"
    stripe_webhook_endpoint_id: str | None = Field(None, pattern=r"^we_[A-Za-z0-9]+$")
    resend_api_key: SecretStr | None = None
    resend_api_url: HttpUrl = "https://api.resend.com"
    resend_domain: Annotated[str | None, BeforeValidator(_lower)] = Field(
        None, max_length=253, pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
    )
    supabase_url: HttpUrl | None = None
    supabase_service_role_key: SecretStr | None = None
    supabase_health_table: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    database_url: SecretStr | None = None
    database_check_mode: Annotated[
        Literal["auto", "supabase", "postgres"], BeforeValidator(_lower)
    ] = "auto"
    monitor_integrations: IntegrationNames = INTEGRATIONS
    monitor_interval_seconds: float = Field(60.0, gt=0, le=86400, allow_inf_nan=False)
    monitor_check_timeout_seconds: float = Field(10.0, gt=0, allow_inf_nan=False)
    monitor_host: str = "0.0.0.0"
    monitor_port: int = Field(9477, ge=0, le=65535)
    monitor_api_token: SecretStr | None = None
    # How often the status page re-reads the status; the page itself caps what a browser timer
    # can hold.
    monitor_ui_refresh_seconds: float = Field(60.0, ge=1, allow_inf_nan=False)
    monitor_retry_transient: bool = False
    monitor_failure_threshold: int = Field(1, ge=1)
    monitor_success_threshold: int = Field(1, ge=1)
    monitor_log_format: Annotated[Literal["json", "console", "auto"], BeforeValidator(_lower)] = (
        "auto"
    )
    monitor_log_level: Annotated[LogLevel, BeforeValidator(_lower)] = "info"

    @field_validator(
        "whatsapp_access_token",
        "stripe_secret_key",
        "resend_api_key",
        "supabase_service_role_key",
        "monitor_api_token",
        "monitor_status_sink_url",
    )
    @classmethod
    def _long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and len(secret.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(_TOO_SHORT)
        return secret

    @field_validator("database_url", "monitor_status_sink_url")
    @classmethod
    def _parseable_dsn(cls, dsn: SecretStr | None) -> SecretStr | None:
        if dsn is not None:
            try:
                conninfo = psycopg.conninfo.conninfo_to_dict(dsn.get_secret_value())
            except psycopg.ProgrammingError:
                raise ValueError("is not a PostgreSQL connection string or URL") from None
            password = str(conninfo.get("password") or "")
            if password and len(password) < MIN_SECRET_LENGTH:
                raise ValueError(f"has a password that {_TOO_SHORT}")
        return dsn

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> Settings:
        if self.monitor_check_timeout_seconds >= self.monitor_interval_seconds:
            raise ValueError(
                "MONITOR_CHECK_TIMEOUT_SECONDS must be less than MONITOR_INTERVAL_SECONDS"
            )
        return self

    @model_validator(mode="after")
    def _fleet_needs(self) -> Settings:
        problems = self.fleet_problems(
            timeout_seconds=self.monitor_check_timeout_seconds,
            has_database_url=self.database_url is not None,
            has_supabase=bool(self.supabase_url and self.supabase_service_role_key),
            has_api_token=self.monitor_api_token is not None,
            host=self.monitor_host,
        )
        problems += self.scale_out_problems(
            in_fleet_mode=self.organization_source is not None,
            has_database_url=self.database_url is not None,
        )
        if problems:
            raise ValueError(_SEPARATE.join(problems))
        return self

    @property
    def status_sink_dsn(self) -> str | None:
        """Where organization statuses are written: MONITOR_STATUS_SINK_URL, else DATABASE_URL."""
        url = self.monitor_status_sink_url or self.database_url
        return url.get_secret_value() if url is not None else None

    def secret_values(self) -> list[str]:
        """Every secret that is set, plus the password inside DATABASE_URL."""
        secrets = [
            s.get_secret_value()
            for s in (
                self.whatsapp_access_token,
                self.stripe_secret_key,
                self.resend_api_key,
                self.supabase_service_role_key,
                self.database_url,
                self.monitor_api_token,
                self.monitor_status_sink_url,
            )
            if s is not None
        ]
        for dsn in (self.database_url, self.monitor_status_sink_url):
            if dsn is not None:
                conninfo = psycopg.conninfo.conninfo_to_dict(dsn.get_secret_value())
                secrets += [str(conninfo["password"])] if conninfo.get("password") else []
        return secrets

    def public_view(self) -> dict[str, Any]:
        """The effective configuration by variable name, secrets shown only as set or not."""
        view: dict[str, Any] = {}
        for name, value in self:
            shown = ("[set]" if value is not None else None) if _is_secret(name) else value
            view[name.upper()] = shown
        return view


def _is_secret(name: str) -> bool:
    return Settings.model_fields[name].annotation in (SecretStr, SecretStr | None)


def load_settings(**overrides: Any) -> Settings:
    """Read the environment and `.env`.

    Raises:
        ConfigError: listing every invalid variable.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors()]
        # A check across variables may find several problems at once; one line each.
        raise ConfigError(
            [line for problem in problems for line in problem.split(_SEPARATE)]
        ) from None


_SEPARATE = "\n"

# What a value that fails a pattern should look like, in words rather than a regex.
_PATTERN_HINTS = {
    "whatsapp_business_account_id": "should be the numeric WhatsApp Business Account id",
    "whatsapp_graph_api_version": "should be a Graph API version such as v25.0",
    "whatsapp_app_id": "should be the numeric Meta app id",
    "stripe_webhook_endpoint_id": "should be a Stripe webhook endpoint id such as we_123",
    "resend_domain": "should be a domain name such as mail.example.com",
    "supabase_health_table": "should be a table name (letters, digits, _; schema.table allowed)",
    "monitor_organizations_table": "should be a table or view name (schema.name allowed)",
}


def _problem(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:
        return message
    field = str(error["loc"][0])
    if error["type"] == "string_pattern_mismatch":
        message = _PATTERN_HINTS.get(field, message)
    return f"{field.upper()}: {_plain(message)}"


def _plain(message: str) -> str:
    # pydantic speaks of "input"; an operator set a variable.
    return message.replace("Input should be", "should be").replace("input", "value")
