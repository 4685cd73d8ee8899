"""SIGHUP: ``andon serve`` reads its settings again — the environment with ``.env``, the secret
files and andon.toml — and takes at once what is safe to change while it serves: the webhooks'
secrets (``ANDON_WEBHOOK_SECRET`` and every ``ANDON_WEBHOOK_SECRET_<PROVIDER>``, which each
webhook reads as it arrives), and every new secret is masked from then on. Anything else that
changed is named in the log as waiting for a restart: the Slack tokens, the API and metrics
tokens, the database, the address, and andon.toml's sections (its schedule, hosts and rules are
wired into the running parts).

Nothing is half-taken: settings or an andon.toml that cannot be read leave the running ones as
they are, and the log says why.
"""

import logging
import signal
import threading
from collections.abc import Callable

from bot.settings import environment
from bot.settings.environment import BadEnvironmentError, Settings
from bot.settings.secret_files import SecretFileError
from core.config.file import AndonConfig, ConfigError, load

log = logging.getLogger("andon")

LIVE = ("andon_webhook_secret",)  # and the providers' own secrets (``Settings._provider``)


class Reread:
    """What SIGHUP runs, in a thread of its own (never inside the signal handler)."""

    def __init__(
        self,
        settings: Settings,
        config: AndonConfig,
        *,
        read: Callable[[], Settings] = environment.read,
    ) -> None:
        self._settings, self._config, self._read = settings, config, read
        self._lock = threading.Lock()  # two signals in a row: one reading after the other

    def __call__(self) -> None:
        with self._lock:
            try:
                new = self._read()
            except (SecretFileError, BadEnvironmentError) as bad:
                log.error("SIGHUP: settings not read again, the running ones stay: %s", bad)
                return
            applied, waiting = self._take(new)
            waiting += self._config_changes()
        said = ", ".join(applied) if applied else "nothing"
        later = f"; takes a restart: {', '.join(waiting)}" if waiting else ""
        log.info(
            "SIGHUP: read the environment, .env, the secret files and andon.toml again; "
            "applied: %s%s",
            said,
            later,
            extra={"event": "settings.reread", "applied": applied, "restart_needed": waiting},
        )

    def _take(self, new: Settings) -> tuple[list[str], list[str]]:
        """The webhooks' secrets swapped in; the names of the other settings that changed."""
        running = self._settings
        running.scrubber().learn(new.secrets())  # before any new secret can be used or logged
        applied, waiting = [], []
        for name in Settings.model_fields:
            if getattr(running, name) == getattr(new, name):
                continue
            if name in LIVE:
                setattr(running, name, getattr(new, name))
                applied.append(name.upper())
            else:
                waiting.append(name.upper())
        old, now = running.provider_secrets(), new.provider_secrets()
        changed = sorted(k for k in old.keys() | now.keys() if old.get(k) != now.get(k))
        if changed:
            running.use_provider_secrets(now)
            applied += changed
        return applied, waiting

    def _config_changes(self) -> list[str]:
        """andon.toml's sections that differ from the running ones (or why it was not read)."""
        path = self._settings.andon_config
        try:
            new = load(path)
        except ConfigError as bad:
            said = "; ".join(bad.problems)
            log.error("SIGHUP: %s not read again, the running configuration stays: %s", path, said)
            return []
        return [
            f"andon.toml [{name}]"
            for name in AndonConfig.model_fields
            if getattr(self._config, name) != getattr(new, name)
        ]


def install(reread: Reread) -> None:
    """SIGHUP reads the settings again; nothing else listens for it (uvicorn catches only the
    signals that stop it)."""
    if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
        return

    def hangup(_sig: int, _frame: object) -> None:
        threading.Thread(target=reread, name="andon-sighup", daemon=True).start()

    signal.signal(signal.SIGHUP, hangup)
