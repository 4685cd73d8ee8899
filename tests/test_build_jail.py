"""The build's jail, attacked the way issue 15 found it open: a revision whose ``andon.deploy.toml``
build — and a pushed test script run by the built-in CI runner — reads ``/proc/$PPID/environ``,
``.env`` and the SSH key, then fails so that Andon posts its output. Through a real ``andon serve``
with a distinctive value for every secret: the code finds none (what it found is written where
the test reads it, not through Andon), and nothing Andon posts, stores, answers or logs holds one
— even output that does carry secrets (the repository's ``leaked.txt``) is masked. Without
``[build] from_repo`` the same revision is refused and nothing runs; as root without
``[build] user`` nothing runs either, and ``andon config check`` says why; a build past its time
or output limit is cut off with a sentence."""

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.ci_payloads import generic
from tests.deploy_line import App, newest_ended, toml_value
from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, AndonServer
from tests.leaks import SECRETS, database_dump, leaks, slack_calls
from tests.slack_requests import signed_headers, slash_command
from tests.test_ci_local import Developer
from tests.waiting import eventually

AS_ROOT = os.geteuid() == 0
BUILD_USER = {"user": "nobody"} if AS_ROOT else {}
ROOT = Path(__file__).resolve().parent.parent
KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nSEKRIT-sshkey-0e5b77d1\n-----END OPENSSH PRIVATE KEY-----"
)
IN_DOT_ENV = ("ANDON_GITHUB_TOKEN", "ANDON_GITLAB_TOKEN")  # read from .env, not the environment
LOOKED_FOR = {name: value for name, value in SECRETS.items() if name != "SLACK_APP_TOKEN"}


def leaked_txt() -> str:
    """Output that does carry every secret, as written and encoded: Andon must mask it all."""
    return "".join(
        f"{name}={value} {base64.b64encode(value.encode()).decode()} {value.encode().hex()}\n"
        for name, value in LOOKED_FOR.items()
    )


class Stage:
    """Andon's machine as an attacker meets it: secrets in the environment and in ``.env``, an
    SSH key in Andon's home, and a folder both the test and the build user can write to."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workdir = root / "andon"
        self.home = root / "andon-home"
        (self.home / ".ssh").mkdir(parents=True)
        (self.home / ".ssh" / "id_ed25519").write_text(KEY)
        self.shared = Path(tempfile.mkdtemp(prefix="andon-test-jail-"))
        self.shared.chmod(0o777)
        self.app = App(root / "git")
        self.servers: list[AndonServer] = []

    def exfiltration(self, *, then: str) -> str:
        """A script that looks everywhere Andon's secrets live, writes what it found to
        ``found.txt`` (read by the test, not by Andon), then does ``then``."""
        absolute = (  # by absolute path too, where another user is what stands in the way
            f'cat "{self.workdir}/.env"; cat "{self.home}/.ssh/id_ed25519"\n' if AS_ROOT else ""
        )
        return (
            f'touch "{self.shared}/ran"\n'
            "{\n"
            "echo environ:; tr '\\0' '\\n' < /proc/$PPID/environ | grep -i sekrit\n"
            "echo env:; env | grep -i sekrit\n"
            "echo dotenv:; cat .env\n"
            "echo ssh:; cat ~/.ssh/id_*\n"
            f"{absolute}"
            f'}} > "{self.shared}/found.txt" 2>&1\n'
            f"{then}\n"
        )

    def found(self) -> str:
        return (self.shared / "found.txt").read_text()

    def ran(self) -> bool:
        return (self.shared / "ran").exists()

    def serve(self, slack: FakeSlack, config: str) -> AndonServer:
        server = AndonServer(
            self.workdir,
            database_url=f"sqlite:///{self.root / 'andon.db'}",
            slack=slack,
            config=config,
        )
        in_env = {k: v for k, v in LOOKED_FOR.items() if k not in IN_DOT_ENV}
        server.env.update(in_env, HOME=str(self.home))
        for name in IN_DOT_ENV:
            server.env.pop(name, None)
        (self.workdir / ".env").write_text("".join(f"{k}={LOOKED_FOR[k]}\n" for k in IN_DOT_ENV))
        self.servers.append(server.start())
        return server

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        shutil.rmtree(self.shared, ignore_errors=True)


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[Stage]:
    built = Stage(tmp_path)
    yield built
    built.close()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(token=SECRETS["SLACK_BOT_TOKEN"]) as fake:
        yield fake


def deploy_config(stage: Stage, build: dict[str, Any]) -> str:
    lines = [
        "[slack]",
        f'channel = "{CHANNEL}"',
        "[repo]",
        f"path = {toml_value(str(stage.app.clone))}",
        "[environments.production]",
        f"path = {toml_value(str(stage.root / 'hosts'))}",
        'hosts = ["local"]',
        "[build]",
        *(f"{key} = {toml_value(value)}" for key, value in build.items()),
    ]
    return "\n".join(lines) + "\n"


def api(server: AndonServer, path: str) -> Any:
    answer = server.api(path, token=SECRETS["ANDON_API_TOKEN"])
    assert answer.status_code == 200, answer.text
    return answer.json()


def hook(server: AndonServer, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    secret = SECRETS["ANDON_WEBHOOK_SECRET_GENERIC"].encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Andon-Signature": signature}
    answer = requests.post(server.url + "/hooks/ci/generic", data=body, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text


def release(stage: Stage, server: AndonServer, message: str, files: dict[str, str]) -> str:
    revision = stage.app.commit(message, files)
    hook(server, generic(revision, "passed", run_id=revision[:8]))
    return revision


def slash(server: AndonServer, slack: FakeSlack, command: str, text: str) -> str:
    body, kind = slash_command(
        command, text, user="U0MARIA", name="maria", response_url=slack.response_url("d")
    )
    headers = signed_headers(body, secret=SECRETS["SLACK_SIGNING_SECRET"])
    answer = server.slack_post(body, kind, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["text"]


def finished(server: AndonServer, count: int = 1, timeout: float = 60.0) -> dict[str, Any]:
    return newest_ended(
        lambda: api(server, "/api/deploys")["deploys"], count=count, timeout=timeout
    )


def spec(build: str) -> str:
    return f"build = {toml_value(build)}\n"


# --- a repository's build ------------------------------------------------------------------------


def test_a_repository_build_finds_no_secret_and_nothing_andon_keeps_or_says_holds_one(
    stage: Stage, slack: FakeSlack
) -> None:
    server = stage.serve(slack, deploy_config(stage, {"from_repo": True, **BUILD_USER}))
    script = stage.exfiltration(then="cat leaked.txt\nexit 1")
    files = {
        "attack.sh": script,
        "leaked.txt": leaked_txt(),
        "andon.deploy.toml": spec("sh attack.sh"),
    }
    revision = release(stage, server, "speed up the build", files)

    slash(server, slack, "/deploy", revision[:7])
    deploy = finished(server)

    found = stage.found()
    assert "environ" in found and "Permission denied" in found, found  # it tried, and was stopped
    assert not leaks({"what the build found": found}, LOOKED_FOR) and "SEKRIT-sshkey" not in found
    assert deploy["status"] == "failed"
    assert deploy["error"].startswith(f"deploy of {revision[:7]} failed: build command exited 1: ")
    assert "[secret]" in deploy["error"]  # what it printed did carry secrets: masked
    line = api(server, "/api/line")
    assert line["state"] == "stopped"
    assert "build command exited 1" in line["stoppage"]["causes"][0]["text"]
    slack.wait_for("chat.update", lambda p: "build command exited 1" in json.dumps(p))
    slack.wait_for("chat.postMessage", lambda p: "Line stopped" in str(p.get("text")))
    answers = {path: api(server, path) for path in ("/api/deploys", "/api/line", "/api/audit")}
    server.stop()

    places = {
        "the calls to Slack": slack_calls(slack),
        **{f"GET {path}": json.dumps(answer) for path, answer in answers.items()},
        "the database": database_dump(stage.root / "andon.db"),
        "the log of andon serve": server.log(),
    }
    assert not leaks(places, LOOKED_FOR)
    assert all("SEKRIT-sshkey" not in text for text in places.values())


def test_without_from_repo_the_same_revision_is_refused_and_nothing_of_it_runs(
    stage: Stage, slack: FakeSlack
) -> None:
    server = stage.serve(slack, deploy_config(stage, {"command": "true", **BUILD_USER}))
    script = stage.exfiltration(then="exit 1")
    files = {"attack.sh": script, "andon.deploy.toml": spec("sh attack.sh")}
    revision = release(stage, server, "speed up the build", files)

    slash(server, slack, "/deploy", revision[:7])
    deploy = finished(server)

    assert deploy["status"] == "failed"
    assert deploy["error"] == (
        f"deploy of {revision[:7]} failed: andon.deploy.toml at {revision[:7]} asks to run "
        "commands of its own (build), and andon.toml runs a repository's commands only with "
        "`[build] from_repo = true` — nothing was deployed"
    )
    assert not stage.ran()
    assert not (stage.root / "hosts" / "current").exists()
    assert api(server, "/api/line")["state"] == "running"  # Andon said no: nothing is broken
    slack.wait_for("chat.update", lambda p: "[build] from_repo = true" in json.dumps(p))


@pytest.mark.skipif(not AS_ROOT, reason="Andon runs as root only where the tests do")
def test_as_root_without_a_build_user_config_check_says_so_and_nothing_runs(
    stage: Stage, slack: FakeSlack
) -> None:
    server = stage.serve(slack, deploy_config(stage, {"from_repo": True}))
    checked = server.cli("config", "check")
    assert checked.returncode == 1
    assert (
        "build.user: Andon runs as root and would run the repository's build "
        "([build] from_repo = true) with no [build] user to run it as"
    ) in checked.stdout
    script = stage.exfiltration(then="exit 1")
    files = {"attack.sh": script, "andon.deploy.toml": spec("sh attack.sh")}
    revision = release(stage, server, "speed up the build", files)

    slash(server, slack, "/deploy", revision[:7])
    deploy = finished(server)

    assert deploy["error"] == (
        f"deploy of {revision[:7]} failed: the build was not run: Andon runs as root and "
        "andon.toml names no [build] user: code from the repository never runs as root — set "
        '[build] user = "nobody" (or a user of its own)'
    )
    assert not stage.ran()
    assert api(server, "/api/line")["state"] == "running"


@pytest.mark.skipif(AS_ROOT, reason="as root the same configuration is a problem (test above)")
def test_not_as_root_the_build_needs_no_user(stage: Stage, slack: FakeSlack) -> None:
    server = stage.serve(slack, deploy_config(stage, {"from_repo": True}))
    checked = server.cli("config", "check")
    assert checked.returncode == 0 and "no problems" in checked.stdout, checked.stdout


def test_a_build_past_its_output_or_time_limit_is_cut_off_with_a_sentence(
    stage: Stage, slack: FakeSlack
) -> None:
    config = deploy_config(stage, {"from_repo": True, "timeout": "2s", **BUILD_USER})
    server = stage.serve(slack, config)
    loud = release(stage, server, "chatty build", {"andon.deploy.toml": spec("yes")})
    slash(server, slack, "/deploy", loud[:7])
    deploy = finished(server)
    assert deploy["error"].startswith(
        f"deploy of {loud[:7]} failed: build command printed more than 50 MB and was stopped; "
        "its last output: y\ny\n"
    )

    waiting = f'echo waiting for the database; sleep 30 & echo $! > "{stage.shared}/pid"; wait'
    slow = release(stage, server, "slow build", {"andon.deploy.toml": spec(waiting)})
    slash(server, slack, "/deploy", f"{slow[:7]} fix: the build is quiet now")
    deploy = finished(server, count=2)
    assert deploy["error"] == (
        f"deploy of {slow[:7]} failed: build command timed out after 2 s and was stopped; "
        "its last output: waiting for the database"
    )
    sleeper = int((stage.shared / "pid").read_text())
    eventually(  # what the build left running was stopped with it
        lambda: not _alive(sleeper), every=0.1, what=f"the build's sleep {sleeper} stopped"
    )


def _alive(pid: int) -> bool:
    """A killed process may linger as a zombie until something reaps it: that one is dead."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except FileNotFoundError:
        return False


# --- the built-in CI runner ----------------------------------------------------------------------


def test_a_pushed_test_script_finds_no_secret_and_the_ci_failed_announcement_holds_none(
    stage: Stage, slack: FakeSlack
) -> None:
    dev = Developer(stage.root / "git-server", name="app")
    config = (
        f'[slack]\nchannel = "{CHANNEL}"\n[repo]\npath = "{dev.bare}"\n'
        '[ci.local]\ncommand = "sh check.sh"\ntimeout = "60s"\n'
        + ("[build]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in BUILD_USER.items()))
    )
    server = stage.serve(slack, config)
    assert server.cli("ci", "install", str(dev.bare)).returncode == 0
    script = stage.exfiltration(then="cat leaked.txt\nexit 1")
    revision = dev.commit("Faster tests", {"check.sh": script, "leaked.txt": leaked_txt()})

    dev.push()

    failed = slack.wait_for(
        "chat.postMessage",
        lambda p: str(p.get("text", "")).startswith(f"CI failed on {revision[:7]}"),
    )[0].params
    found = stage.found()
    assert "environ" in found and "Permission denied" in found, found
    assert not leaks({"what the script found": found}, LOOKED_FOR) and "SEKRIT-sshkey" not in found
    shown = json.dumps(failed)
    assert "[secret]" in shown  # what it printed did carry secrets: masked
    assert not leaks({"the CI failed announcement": shown}, LOOKED_FOR)
    server.stop()
    assert not leaks({"the database": database_dump(stage.root / "andon.db")}, LOOKED_FOR)


# --- Andon not running as root: its own /proc closed to its own user ---------------------------

_PROBE = """
import sys
from datetime import timedelta
from pathlib import Path
from bot.settings.sealed import sealed
from bot.workers.jail import Jail
read = "tr '\\\\0' '\\\\n' < /proc/$PPID/environ | grep SEKRIT; exit 0"
tree = Path(sys.argv[1])
before = Jail(user=None).run(read, cwd=tree, timeout=timedelta(seconds=20), trusted=True)
print("before:", sealed(), before.output)
after = Jail(user=None).run(read, cwd=tree, timeout=timedelta(seconds=20))
print("after:", sealed(), after.output)
"""


def test_a_build_run_as_andons_own_user_cannot_read_andons_environment(stage: Stage) -> None:
    """Without root there is no other user to build as: Andon seals itself (non-dumpable)
    before it runs a repository's code, and ``/proc/<Andon>/environ`` is then closed to it.
    As root, the same is shown for an Andon running as ``nobody``."""
    python = _python_anyone_may_run() if AS_ROOT else sys.executable
    if python is None:
        pytest.skip(f"no Python {sys.version_info[:2]} that nobody may run on this machine")
    tree = stage.shared / "tree"
    tree.mkdir()
    tree.chmod(0o777)
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"]]),
        "ANDON_API_TOKEN": SECRETS["ANDON_API_TOKEN"],
    }
    drop: dict[str, Any] = {"user": 65534, "group": 65534, "extra_groups": []} if AS_ROOT else {}
    done = subprocess.run(
        [python, "-c", _PROBE, str(tree)],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=60,
        **drop,
    )
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.split("after:")
    assert SECRETS["ANDON_API_TOKEN"] in before  # a same-user child reads an unsealed parent
    assert "True" in after and SECRETS["ANDON_API_TOKEN"] not in after
    assert "Permission denied" in after, done.stdout


def _python_anyone_may_run() -> str | None:
    """This Python, or the system's of the same version, where every folder on its way is open
    to others (this venv's may link into root's home)."""
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        path = Path(candidate).resolve()
        if not path.exists() or not all(p.stat().st_mode & 0o001 for p in [path, *path.parents]):
            continue
        version = subprocess.run(
            [str(path), "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if version.stdout.strip() == str(sys.version_info[:2]):
            return str(path)
    return None
