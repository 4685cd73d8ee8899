"""Revisions, refs, paths and host names are refused before they reach git, a shell or a
filesystem: each injection is answered with a clear refusal, and nothing ran — the marker file
that ``$(touch marker)`` would create does not exist, no deploy was recorded."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.githooks.push import UnreadablePushError
from bot.githooks.push import read as read_push
from bot.intents.typed import Deploy, Help, Rollback, ShowCi, parse
from bot.render.reply import Failure
from core.actor import Actor
from core.clock import ManualClock
from core.config.file import problems
from core.deploy import manifest
from core.deploy.transport import HostError, path_inside
from core.gate.push import ZERO, BadPushError, RefUpdate
from core.refusal import Refusal
from storage.tables import Deploy as DeployRow
from tests.deploy_line import App, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import API_TOKEN, CHANNEL, andon_env, run_cli
from tests.inprocess import InProcessAndon

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
PERSON = Actor(id="U0FUZZ", name="fuzz", via="slack")


def injections(marker: Path) -> list[str]:
    """What a person (or a script) might slip into a revision, a ref or a path."""
    return [
        f"$(touch {marker})",
        f"main$(touch${{IFS}}{marker})",
        f"`touch {marker}`",
        f"main;touch {marker}",
        f"main|touch {marker}",
        f"main&&touch {marker}",
        f"main\ntouch {marker}",
        "main\x00",
        "\x00",
        "../../../etc/passwd",
        "main/../../x",
        "main..HEAD",
        f"--upload-pack=touch {marker}",
        "-c",
        "HEAD@{1}",
    ]


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack) -> Iterator:
    root = tmp_path_factory.mktemp("bad-input")
    app = App(root / "git")
    app.commit("first", {"README": "hello\n"})
    config = "\n".join(
        [
            "[slack]",
            f'channel = "{CHANNEL}"',
            "[repo]",
            f"path = {toml_value(str(app.clone))}",
            "[environments.production]",
            f"path = {toml_value(str(root / 'hosts' / 'production'))}",
            'hosts = ["local"]',
        ]
    )
    running = InProcessAndon(
        root / "andon", config=config + "\n", slack=fake_slack, clock=ManualClock(T0)
    ).start()
    yield running
    running.stop()


def _deploys(line: InProcessAndon) -> int:
    with line.andon.database.reading() as session:
        return session.exec(select(func.count()).select_from(DeployRow)).one()


@pytest.mark.parametrize(
    "ask",
    [
        lambda rev: Deploy(revision=rev, environment="production"),
        lambda rev: Rollback(environment="production", revision=rev, confirmed=True),
        lambda rev: ShowCi(rev),
    ],
    ids=["deploy", "rollback", "ci"],
)
def test_a_revision_that_is_no_revision_is_refused_and_runs_nothing(
    line: InProcessAndon, tmp_path: Path, ask
) -> None:
    marker = tmp_path / "marker"
    for revision in injections(marker):
        result = line.andon.execute(ask(revision), PERSON)
        assert isinstance(result, Refusal), f"{revision!r} → {result!r}"
        assert result.reason.strip()
        assert not marker.exists(), revision
    assert _deploys(line) == 0


@pytest.mark.parametrize("command", ["/deploy", "/rollback", "/ci"])
def test_a_typed_injection_is_refused_in_words(
    line: InProcessAndon, tmp_path: Path, command: str
) -> None:
    marker = tmp_path / "marker"
    for revision in injections(marker):
        text = f"{revision} production" if command != "/ci" else revision
        intent = parse(command, text, environments=line.andon.config.environments)
        result = line.andon.execute(intent, PERSON)
        assert isinstance(result, Refusal | Help), f"{command} {text!r} → {result!r}"
        assert not isinstance(result, Failure)
        assert not marker.exists(), text
    assert _deploys(line) == 0


def test_andon_deploy_refuses_an_injected_revision(line: InProcessAndon, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    env = andon_env(
        Path(line.settings.andon_config).parent,
        database_url=line.settings.andon_database_url,
        slack=None,
    )
    for revision in (f"$(touch {marker})", f"main;touch {marker}", f"--upload-pack=touch {marker}"):
        done = run_cli(["deploy", "--", revision, "production"], env=env, cwd=tmp_path)
        assert done.returncode != 0, done.stdout + done.stderr
        said = done.stdout + done.stderr
        assert "is not a revision" in said or "I don't know" in said, said
        assert not marker.exists()
    assert _deploys(line) == 0


# The gate: refs as the pre-receive hook reads them and as /api/gate receives them -----------

SHA = "a" * 40


@pytest.mark.parametrize(
    "ref",
    [
        "refs/heads/$(touch marker)",
        "refs/heads/a..b",
        "refs/heads/../../x",
        "refs/heads/x\x00",
        "refs/heads/x.lock",
        "refs/heads/x@{1}",
        "refs/heads/x\\y",
        "refs/heads/",
        "heads/main",
    ],
)
def test_a_ref_git_would_not_accept_is_refused_naming_it(ref: str) -> None:
    with pytest.raises(BadPushError) as bad:
        RefUpdate(ZERO, SHA, ref)
    assert bad.value.field == "ref" and repr(ref[:60]) in str(bad.value)


def test_the_hook_refuses_a_bad_ref_before_it_asks_git(tmp_path: Path) -> None:
    """No git runs (GIT_DIR points nowhere): the line is refused as it is read."""
    for ref in ("refs/heads/a..b", "refs/heads/x\x00", "refs/heads/x:y"):
        with pytest.raises(UnreadablePushError, match="is not a ref name"):
            read_push([f"{ZERO} {SHA} {ref}\n"], {"GIT_DIR": str(tmp_path / "nowhere")})


def test_andon_gate_pre_receive_refuses_an_injected_ref(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    (tmp_path / "andon.toml").write_text('[gate]\nprotected = ["refs/heads/main"]\n')
    env = andon_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'andon.db'}", slack=None)
    assert run_cli(["db", "upgrade"], env=env, cwd=tmp_path).returncode == 0
    for ref in (f"refs/heads/$(touch {marker})", "refs/heads/a..b", "refs/heads/`id`:x"):
        done = run_cli(
            ["gate", "pre-receive"], env=env, cwd=tmp_path, stdin=f"{ZERO} {SHA} {ref}\n"
        )
        assert done.returncode == 1, done.stderr
        assert "could not be read" in done.stderr and "refused" in done.stderr, done.stderr
        assert not marker.exists()


def test_api_gate_refuses_a_bad_ref_naming_the_field(line: InProcessAndon) -> None:
    import requests

    body = {"refs": [{"old": ZERO, "new": SHA, "ref": "refs/heads/a..b"}], "commits": []}
    answer = requests.post(
        line.url + "/api/gate",
        json=body,
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=10,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "ref" and "refs/heads/a..b" in answer.json()["detail"]


# andon.toml: release paths and host names ---------------------------------------------------

BAD_PATHS = [
    "/srv/app/$(touch /tmp/andon-marker)",
    "/srv/app;rm -rf /",
    "/srv/`id`",
    "/srv/app\nx",
    "/srv/app\u0000",
    "/srv/../etc",
    "~/app",  # not expanded over SFTP: refused, the message says to write it out
    "/srv/app|x",
]
BAD_HOSTS = [
    "deploy@web1;id",
    "deploy@$(touch x)",
    "deploy@web\n1",
    "deploy@-oProxyCommand=x",
    "de ploy@web1",
]


def test_config_check_names_every_bad_path_and_host(tmp_path: Path) -> None:
    lines = []
    for n, path in enumerate(BAD_PATHS):
        lines += [f"[environments.p{n}]", f"path = {json.dumps(path)}", 'hosts = ["local"]']
    for n, host in enumerate(BAD_HOSTS):
        lines += [f"[environments.h{n}]", 'path = "/srv/app"', f"hosts = [{json.dumps(host)}]"]
    tables = [
        '{ host = "web1;id", user = "deploy" }',
        '{ host = "web1", user = "$(id)" }',
        '{ host = "web1", user = "deploy", path = "/srv/$(id)" }',
    ]
    for n, table in enumerate(tables):
        lines += [f"[environments.t{n}]", 'path = "/srv/app"', f"hosts = [{table}]"]
    config = tmp_path / "andon.toml"
    config.write_text("\n".join(lines) + "\n")
    found = problems(config)
    for n in range(len(BAD_PATHS)):
        assert any(p.startswith(f"environments.p{n}.path:") for p in found), (n, found)
    for n in range(len(BAD_HOSTS)):
        assert any(p.startswith(f"environments.h{n}.hosts[0]") for p in found), (n, found)
    for n in range(len(tables)):
        assert any(p.startswith(f"environments.t{n}.hosts[0]") for p in found), (n, found)
    done = run_cli(
        ["config", "check"],
        env={**andon_env(tmp_path, database_url="sqlite://", slack=None)},
        cwd=tmp_path,
    )
    assert done.returncode != 0
    assert "environments.p0.path" in done.stdout + done.stderr
    assert not Path("/tmp/andon-marker").exists()


def test_good_paths_and_hosts_still_pass(tmp_path: Path) -> None:
    config = tmp_path / "andon.toml"
    config.write_text(
        '[environments.production]\npath = "/srv/my app/v1.2_x-y@z"\n'
        'hosts = ["deploy@web1", "deploy@web2:2222", "ops@[::1]:22", "local",'
        ' { host = "web3", user = "deploy", path = "/srv/other" }]\n'
    )
    assert problems(config) == []


# A release's manifest: paths outside the release directory ----------------------------------


@pytest.mark.parametrize(
    "path", ["../x", "a/../../x", "/etc/passwd", "a\nb", "a\x00b", "a\\b", "", ".."]
)
def test_a_manifest_with_a_path_outside_the_release_is_not_used(path: str) -> None:
    text = json.dumps({"version": 1, "files": {path: {"mode": 420, "sha256": "0" * 64}}})
    assert manifest.loads(text) is None
    good = json.dumps({"version": 1, "files": {"a/b": {"mode": 420, "sha256": "0" * 64}}})
    assert manifest.loads(good) == {"a/b": manifest.Entry(mode=420, sha256="0" * 64)}


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd", ".."])
def test_a_path_outside_the_release_directory_is_refused(path: str) -> None:
    with pytest.raises(HostError, match="outside the release directory"):
        path_inside(path)
