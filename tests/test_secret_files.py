"""Secrets from files, as containers and systemd hand them over: ``<NAME>_FILE`` or a file named
``<NAME>`` in the secrets directory — read once at start, and a file that cannot be read stops
Andon with a sentence naming the variable."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot.settings.environment import load
from tests.ci_payloads import generic, sha, signature
from tests.harness import API_TOKEN, WEBHOOK_SECRET, AndonServer, andon_env, run_cli

GENERIC_OWN = "gitlab-own-secret-5c1e"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AndonServer]:
    """``andon serve`` whose API token is a file named by ANDON_API_TOKEN_FILE, and whose generic
    webhook has its own secret in the secrets directory; neither is in its environment."""
    workdir = tmp_path_factory.mktemp("secret-files")
    secrets = workdir / "secrets"
    secrets.mkdir()
    (secrets / "api-token").write_text(API_TOKEN + "\n")
    (secrets / "ANDON_WEBHOOK_SECRET_GENERIC").write_text(GENERIC_OWN)
    server = AndonServer(workdir, database_url=f"sqlite:///{workdir / 'a.db'}", slack=None)
    del server.env["ANDON_API_TOKEN"]
    server.env.update(
        ANDON_API_TOKEN_FILE=str(secrets / "api-token"), ANDON_SECRETS_DIR=str(secrets)
    )
    yield server.start()
    server.stop()


def test_the_api_token_read_from_a_file_opens_the_api(served: AndonServer) -> None:
    assert served.api("/api/line").json()["state"] == "running"
    assert served.api("/api/line", token="not-the-token").status_code == 401
    assert API_TOKEN not in served.log()


def test_a_webhooks_own_secret_from_the_secrets_directory_signs_its_deliveries(
    served: AndonServer,
) -> None:
    body = json.dumps(generic(sha(), "passed")).encode()

    def delivered(secret: str) -> int:
        headers = {"Content-Type": "application/json", "X-Andon-Signature": signature(body, secret)}
        url = f"{served.url}/hooks/ci/generic"
        return requests.post(url, data=body, headers=headers, timeout=10).status_code

    assert delivered(WEBHOOK_SECRET) == 401  # its own secret replaces the shared one
    assert delivered(GENERIC_OWN) == 200


def test_a_secret_given_both_ways_stops_the_cli_naming_it(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-the-file")
    env = andon_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'a.db'}", slack=None)
    env["ANDON_API_TOKEN_FILE"] = str(tmp_path / "token")

    ran = run_cli(["line", "status"], env=env, cwd=tmp_path)

    assert ran.returncode == 2
    assert ran.stderr.strip() == (
        "andon: ANDON_API_TOKEN and ANDON_API_TOKEN_FILE are both set: keep one of them."
    )
    assert not (tmp_path / "a.db").exists()


@pytest.mark.parametrize(
    ("variable", "content", "said"),
    [
        ("SLACK_BOT_TOKEN_FILE", None, "SLACK_BOT_TOKEN_FILE: there is no file {path}."),
        ("ANDON_WEBHOOK_SECRET_FILE", "\n", "ANDON_WEBHOOK_SECRET_FILE: {path} is empty."),
    ],
)
def test_a_secret_file_that_cannot_be_used_stops_andon_naming_the_variable(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    content: str | None,
    said: str,
) -> None:
    path = tmp_path / "secret"
    if content is not None:
        path.write_text(content)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(variable.removesuffix("_FILE"), raising=False)
    monkeypatch.setenv(variable, str(path))

    with pytest.raises(SystemExit) as stopped:
        load()

    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == "andon: " + said.format(path=path)


def test_a_secret_file_is_read_at_start_and_stripped_of_its_newline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "signing").write_text("s3cret-signing\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    monkeypatch.setenv("SLACK_SIGNING_SECRET_FILE", str(tmp_path / "signing"))

    settings = load()
    (tmp_path / "signing").write_text("changed-later")  # read once: a later change is not seen

    assert settings.slack_signing_secret is not None
    assert settings.slack_signing_secret.get_secret_value() == "s3cret-signing"
    assert "s3cret-signing" in settings.secrets()  # masked in logs and messages like any other
