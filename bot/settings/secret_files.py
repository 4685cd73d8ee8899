"""Secrets handed over as files, the way Docker, Kubernetes and systemd credentials hand them:
``<NAME>_FILE=/path`` beside any secret variable, or a file named ``<NAME>`` in the secrets
directory (``ANDON_SECRETS_DIR``; by default ``/run/secrets`` when it exists). A secret in a file
never sits in the process environment, where every child process would inherit it.

Read once, at start: a file that is missing, unreadable or empty, or a secret given both ways,
stops Andon with a sentence naming the variable — never a door silently left closed.
"""

from collections.abc import Mapping
from pathlib import Path

SECRETS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "ANDON_WEBHOOK_SECRET",
    "ANDON_API_TOKEN",
    "ANDON_METRICS_TOKEN",
    "ANDON_FLAGS_TOKEN",
    "ANDON_GITHUB_TOKEN",
    "ANDON_GITLAB_TOKEN",
)
PROVIDER_SECRET = "ANDON_WEBHOOK_SECRET_"  # noqa: S105 - a variable name: + the provider
DEFAULT_DIRECTORY = Path("/run/secrets")


class SecretFileError(ValueError):
    """A secret file Andon was told to read and cannot; the message names the variable."""


def read(given: Mapping[str, str | None]) -> dict[str, str]:
    """Each secret given as a file, by its variable's name, as if that variable were set.

    ``given`` is what the process was given: ``.env`` under the environment."""
    directory = _directory(given)
    found: dict[str, str] = {}
    for name in sorted(_names(given, directory)):
        via_file = given.get(f"{name}_FILE")
        if via_file:
            if given.get(name):
                raise SecretFileError(f"{name} and {name}_FILE are both set: keep one of them.")
            found[name] = _read(Path(via_file), f"{name}_FILE")
        elif directory is not None and not given.get(name) and (directory / name).is_file():
            found[name] = _read(directory / name, f"{name} in {directory}")
    return found


def _names(given: Mapping[str, str | None], directory: Path | None) -> set[str]:
    """The secrets Andon knows, and every webhook's own secret given in any of the three ways."""
    names = set(SECRETS)
    names |= {k.removesuffix("_FILE") for k in given if k.upper().startswith(PROVIDER_SECRET)}
    if directory is not None and directory.is_dir():
        names |= {p.name for p in directory.iterdir() if p.name.startswith(PROVIDER_SECRET)}
    return {name.upper() for name in names}


def _directory(given: Mapping[str, str | None]) -> Path | None:
    named = given.get("ANDON_SECRETS_DIR")
    if named:
        if not Path(named).is_dir():
            raise SecretFileError(f"ANDON_SECRETS_DIR: {named} is not a directory.")
        return Path(named)
    return DEFAULT_DIRECTORY if DEFAULT_DIRECTORY.is_dir() else None


def _read(path: Path, via: str) -> str:
    try:
        value = path.read_text().strip()  # the newline an editor or `echo` leaves
    except FileNotFoundError:
        raise SecretFileError(f"{via}: there is no file {path}.") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not text"
        raise SecretFileError(f"{via}: {path} cannot be read ({reason}).") from None
    if not value:
        raise SecretFileError(f"{via}: {path} is empty.")
    return value
