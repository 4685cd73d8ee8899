"""Looking for Andon's secrets where they must never be: a distinctive value for every secret
setting, the spellings text carries a secret in, and the places a person or an attacker reads."""

import base64
import json
import sqlite3
from pathlib import Path
from urllib.parse import quote

from tests.fakes.slack import FakeSlack

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-SEKRIT-bot-5a1f0c9e77",
    "SLACK_SIGNING_SECRET": "SEKRIT-signing-0d8e3b61",
    "SLACK_APP_TOKEN": "xapp-SEKRIT-app-c27b94ee",
    "ANDON_API_TOKEN": "SEKRIT-api-9f13d7a2",
    "ANDON_METRICS_TOKEN": "SEKRIT-metrics-2d7c41e8",
    "ANDON_FLAGS_TOKEN": "SEKRIT-flags-8e51a3c0",
    "ANDON_WEBHOOK_SECRET": "SEKRIT-hooks-4c6e21b0",
    "ANDON_WEBHOOK_SECRET_GENERIC": "SEKRIT-generic-7b02e9f4",
    "ANDON_GITHUB_TOKEN": "ghp_SEKRIT-github-3e8a50",
    "ANDON_GITLAB_TOKEN": "glpat-SEKRIT-gitlab-61d2f8",
}


def encodings(secret: str) -> dict[str, str]:
    raw = secret.encode()
    return {
        "raw": secret,
        "base64": base64.b64encode(raw).decode().rstrip("="),
        "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "url": quote(secret, safe=""),
        "hex": raw.hex(),
        "json": json.dumps(secret)[1:-1],
    }


def leaks(places: dict[str, str], secrets: dict[str, str] = SECRETS) -> list[str]:
    """Every secret, in every spelling, found in any of ``places`` (name → text)."""
    return [
        f"{name} ({how}) in {where}"
        for name, secret in secrets.items()
        for how, encoded in encodings(secret).items()
        for where, text in places.items()
        if encoded in text
    ]


def slack_calls(slack: FakeSlack) -> str:
    """Everything Slack received but the bot token in ``Authorization``, where it belongs."""
    found = []
    for call in slack.calls():
        headers = {k: v for k, v in call.headers.items() if k.lower() != "authorization"}
        found.append(json.dumps({"method": call.method, "params": call.params, "h": headers}))
    return "\n".join(found)


def database_dump(path: Path) -> str:
    """Every row of every table of a SQLite database, the outbox with the rest."""
    assert path.is_file(), f"no database at {path}"
    with sqlite3.connect(path) as connection:
        return "\n".join(connection.iterdump())
