"""The environment the process runs in (``.env`` in the working folder is read at start)."""

import os
import sys
from urllib.parse import unquote, urlsplit

from dotenv import dotenv_values
from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.logs import FORMATS
from bot.settings import secret_files
from bot.settings.secret_files import PROVIDER_SECRET, SecretFileError
from bot.settings.secrets import Scrubber

SLACK_API = "https://slack.com/api/"


class Settings(BaseSettings):
    """Every variable of ``.env.example``; real environment variables win over ``.env``."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = SLACK_API
    andon_database_url: str = "sqlite:///./andon.db"
    andon_config: str = "./andon.toml"
    andon_http_host: str = "127.0.0.1"
    andon_http_port: int = 3000
    andon_webhook_secret: SecretStr | None = None
    andon_api_token: SecretStr | None = None
    andon_metrics_token: SecretStr | None = None
    andon_flags_token: SecretStr | None = None  # read-only: flag evaluation (OFREP)
    andon_url: str | None = None
    andon_github_token: SecretStr | None = None
    andon_gitlab_token: SecretStr | None = None
    andon_tick_seconds: float = Field(default=5.0, gt=0, le=300)
    andon_access_log: bool = True  # one log line per HTTP request; "off" silences it
    andon_log_format: str = "text"  # or "json": one JSON object per line
    # ANDON_WEBHOOK_SECRET_<PROVIDER>: read once, here, never per request
    _provider: dict[str, str] = PrivateAttr(default_factory=dict)
    _scrubber: Scrubber | None = PrivateAttr(default=None)

    def model_post_init(self, _context: object) -> None:
        self._provider = _provider_secrets()

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """``KEY=`` copied unchanged from .env.example means "not set", not "the empty secret"."""
        if isinstance(value, str) and not value.strip():
            raise PydanticUseDefault()
        return value

    @field_validator("andon_log_format", mode="before")
    @classmethod
    def _known_format(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in FORMATS:
            return value.strip().lower()
        raise ValueError(f"{value!r} is not a log format: {' or '.join(FORMATS)}")

    @property
    def slack_api_base(self) -> str:
        """slack_sdk joins method names with ``urljoin``: the base must end in a slash."""
        return self.slack_api_url if self.slack_api_url.endswith("/") else self.slack_api_url + "/"

    @property
    def uses_slack(self) -> bool:
        return bool(self.slack_bot_token and self.slack_bot_token.get_secret_value())

    def webhook_secret(self, provider: str) -> str | None:
        """``ANDON_WEBHOOK_SECRET_<PROVIDER>`` overrides the shared secret for one provider."""
        specific = self._provider.get(f"{PROVIDER_SECRET}{provider.upper()}")
        if specific:
            return specific
        return self.andon_webhook_secret.get_secret_value() if self.andon_webhook_secret else None

    def secrets(self) -> list[str]:
        """Every secret value set, so that logs can be checked (and scrubbed) for them."""
        values = [
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.andon_webhook_secret,
            self.andon_api_token,
            self.andon_metrics_token,
            self.andon_flags_token,
            self.andon_github_token,
            self.andon_gitlab_token,
        ]
        found = [v.get_secret_value() for v in values if v and v.get_secret_value()]
        password = urlsplit(self.andon_database_url).password  # postgresql://u:<this>@host/db
        if password:
            found += sorted({password, unquote(password)})
        return found + [v for v in self._provider.values() if v not in found]

    def scrubber(self) -> Scrubber:
        """What masks every secret in what Andon logs, stores, posts and answers: one for the
        process, so a secret read again (SIGHUP) is masked everywhere at once."""
        if self._scrubber is None:
            self._scrubber = Scrubber(self.secrets())
        return self._scrubber

    def provider_secrets(self) -> dict[str, str]:
        """Every ``ANDON_WEBHOOK_SECRET_<PROVIDER>`` set, by its variable's name."""
        return dict(self._provider)

    def use_provider_secrets(self, secrets: dict[str, str]) -> None:
        """The providers' secrets swapped whole (SIGHUP): each webhook reads them as it comes."""
        self._provider = dict(secrets)

    def with_webhook_secrets(self, secrets: dict[str, str]) -> "Settings":
        """Webhooks' own secrets read from files (``bot.settings.secret_files``) join those set."""
        self._provider.update(secrets)
        return self


def _given() -> dict[str, str | None]:
    """What the process was given: ``.env`` in the working folder, the environment over it."""
    return {**dotenv_values(".env"), **os.environ}


def _provider_secrets() -> dict[str, str]:
    """Every ``ANDON_WEBHOOK_SECRET_<PROVIDER>`` set, in ``.env`` or the environment."""
    return {
        k.upper(): v
        for k, v in _given().items()
        if k.upper().startswith(PROVIDER_SECRET) and not k.upper().endswith("_FILE") and v
    }


def read() -> Settings:
    """The settings as the environment, ``.env`` and the secret files give them now; raises
    ``SecretFileError`` or ``BadEnvironmentError`` saying what is wrong."""
    files = secret_files.read(_given())
    fields = {name.lower(): v for name, v in files.items() if name in secret_files.SECRETS}
    try:
        settings = Settings(**fields)
    except ValidationError as bad:  # e.g. a port that is not a number
        raise BadEnvironmentError(_said(bad)) from None
    own = {name: v for name, v in files.items() if name.startswith(PROVIDER_SECRET)}
    return settings.with_webhook_secrets(own)


class BadEnvironmentError(ValueError):
    """A variable Andon cannot use; the message names it."""


def _said(bad: ValidationError) -> str:
    """``ANDON_HTTP_PORT: Input should be a valid integer…`` — by the variable's name."""
    return "; ".join(
        f"{'.'.join(map(str, error['loc'])).upper()}: {error['msg'].removeprefix('Value error, ')}"
        for error in bad.errors()
    )


def load() -> Settings:
    """The settings, secrets from files included, or a one-line complaint and exit 2 when a
    variable is malformed or a secret file cannot be read."""
    try:
        return read()
    except SecretFileError as bad:
        print(f"andon: {bad}", file=sys.stderr)
        raise SystemExit(2) from bad
    except BadEnvironmentError as bad:
        print(f"andon: bad environment: {bad}", file=sys.stderr)
        raise SystemExit(2) from bad
