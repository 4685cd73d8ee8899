"""Real ``git`` pushing to a bare repository hooked by ``andon gate install``, over ``file://``
and over ``ssh://`` to a loopback sshd: branches, tags, deletions, mixed pushes and push options,
while the line runs and while it is stopped. What the pusher reads and what the repository then
holds are asserted, and the stoppage's thread for a fix that passed."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.slack import FakeSlack
from tests.git_server import GitWorkspace
from tests.harness import CHANNEL, AndonServer, run_cli
from tests.slack_requests import slash_command
from tests.ssh_hosts import SSHD, SshFleet
from tests.waiting import eventually

CONFIG = """
[slack]
channel = "{channel}"
[access]
admins = ["{maria}"]
[repo]
path = "{bare}"
branch = "main"
"""
REFUSED = "remote: Andon: the line is stopped — push to main refused."
MARIA = "U0MARIA01"


class Pusher(GitWorkspace):
    """Dana's clone, pushing to ``origin`` by ``file://`` or by ``ssh://``."""

    def __init__(self, root: Path, *, fleet: SshFleet | None) -> None:
        super().__init__(
            root,
            author=("Dana Kim", "dana@example.com"),
            env={"USER": "dana", "LOGNAME": "dana"},
        )
        if fleet is None:
            url = f"file://{self.bare}"
        else:
            host = fleet.hosts[0]
            url = f"ssh://{host.user}@127.0.0.1:{host.port}{self.bare}"
            self.env["GIT_SSH_COMMAND"] = (
                f"ssh -i {fleet.key_path} -o IdentitiesOnly=yes -o BatchMode=yes "
                f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={fleet.known_hosts_path}"
            )
        self.git("remote", "set-url", "origin", url)

    def commit(self, message: str) -> str:
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def push(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "push", "origin", *args],
            cwd=self.clone,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def ref(self, name: str) -> str | None:
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", name],
            cwd=self.bare,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return found.stdout.strip() or None


def said(done: subprocess.CompletedProcess[str]) -> str:
    return "\n".join(line.rstrip() for line in (done.stdout + done.stderr).splitlines())


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshFleet | None]:
    if not Path(SSHD).exists():
        yield None
        return
    with SshFleet(1) as fleet:
        yield fleet


@pytest.fixture(scope="module")
def andon(tmp_path_factory: pytest.TempPathFactory, slack: FakeSlack) -> Iterator[AndonServer]:
    workdir = tmp_path_factory.mktemp("andon")
    server = AndonServer(
        workdir,
        database_url=f"sqlite:///{workdir / 'andon.db'}",
        slack=slack,
        config=CONFIG.format(channel=CHANNEL, maria=MARIA, bare=workdir / "unused.git"),
    )
    yield server.start()
    server.stop()


@pytest.fixture(scope="module", params=["file", "ssh"])
def repository(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    andon: AndonServer,
    sshd: SshFleet | None,
) -> Pusher:
    """A hooked repository and Dana's clone of it, by the transport of the parameter; each test
    pushes branches and tags of its own names."""
    if request.param == "ssh" and sshd is None:
        pytest.skip(f"no OpenSSH server ({SSHD}): apt-get install openssh-server")
    root = tmp_path_factory.mktemp(f"git-{request.param}")
    pusher = Pusher(root, fleet=sshd if request.param == "ssh" else None)
    env = {**andon.env, "ANDON_URL": andon.url}
    installed = run_cli(["gate", "install", str(pusher.bare)], env=env, cwd=andon.workdir)
    assert installed.returncode == 0, installed.stderr
    pusher.commit("Add the cart")
    assert pusher.push("main").returncode == 0
    return pusher


@pytest.fixture
def dana(repository: Pusher, andon: AndonServer, slack: FakeSlack) -> Iterator[Pusher]:
    """The repository, with the line running again after the test."""
    yield repository
    if andon.api("/api/line").json()["state"] == "stopped":
        line(andon, slack, "start force the next test")
        eventually(
            lambda: andon.api("/api/line").json()["state"] == "running",
            timeout=30,
            every=0.1,
            what="the line running",
        )


def line(andon: AndonServer, slack: FakeSlack, text: str) -> None:
    """Maria types ``/line <text>`` in Slack."""
    body, kind = slash_command(
        "/line", text, user=MARIA, name="maria", response_url=slack.response_url()
    )
    assert andon.slack_post(body, kind).status_code == 200


def stop(andon: AndonServer, slack: FakeSlack) -> dict:
    line(andon, slack, "stop CI is red")
    return andon.open_stoppage(timeout=20)


def test_while_the_line_runs_branches_tags_deletions_mixed_pushes_and_options_pass(
    dana: Pusher,
) -> None:
    main = dana.commit("Add the coupon field")
    dana.git("tag", "v1.0")
    dana.git("tag", "-a", "-m", "release 1.1", "v1.1")

    mixed = dana.push("main", "HEAD:feature/coupons", "v1.0", "v1.1")
    with_option = dana.push("-o", "ci.skip", "HEAD:feature/options")
    deleted = dana.push("--delete", "feature/coupons", "v1.0")

    for done in (mixed, with_option, deleted):
        assert done.returncode == 0, said(done)
        assert "andon" not in said(done).lower()
    assert dana.ref("refs/heads/main") == main
    assert dana.ref("refs/heads/feature/options") == main
    assert dana.ref("refs/heads/feature/coupons") is None and dana.ref("refs/tags/v1.0") is None
    assert dana.ref("refs/tags/v1.1^{commit}") == main


def test_while_stopped_main_is_refused_and_a_mixed_push_is_refused_whole(
    dana: Pusher, andon: AndonServer, slack: FakeSlack
) -> None:
    before = dana.ref("refs/heads/main")
    stoppage = stop(andon, slack)
    dana.commit("Add the coupon field")
    dana.git("tag", "v2.0")

    to_main = dana.push("main")
    mixed = dana.push("main", "HEAD:feature/stopped", "v2.0")
    elsewhere = dana.push("HEAD:feature/stopped", "v2.0")

    assert to_main.returncode != 0
    assert REFUSED in said(to_main)
    assert f"(stoppage #{stoppage['id']})" in said(to_main)
    assert "! [remote rejected] main -> main (pre-receive hook declined)" in said(to_main)
    assert mixed.returncode != 0
    assert "! [remote rejected] HEAD -> feature/stopped (pre-receive hook declined)" in said(mixed)
    assert dana.ref("refs/heads/main") == before  # git's all-or-nothing: nothing landed
    assert elsewhere.returncode == 0, said(elsewhere)  # a branch and a tag are not the line
    assert dana.ref("refs/heads/feature/stopped") is not None
    assert dana.ref("refs/tags/v2.0") is not None


def test_while_stopped_the_line_fix_push_option_passes_and_the_thread_hears_of_it(
    dana: Pusher, andon: AndonServer, slack: FakeSlack
) -> None:
    stoppage = stop(andon, slack)
    fix = dana.commit("Round the cart total")

    pushed = dana.push("-o", "line-fix=restore the cart total", "main")

    assert pushed.returncode == 0, said(pushed)
    assert "this push passes as a fix (restore the cart total)" in said(pushed)
    assert dana.ref("refs/heads/main") == fix
    told = slack.wait_for(
        "chat.postMessage",
        lambda p: (
            p.get("thread_ts") == stoppage["thread_ts"]
            and "pushed past the stopped line" in p["text"]
            and "restore the cart total" in p["text"]
        ),
        timeout=15,
    )
    assert told[0].params["channel"] == CHANNEL


def test_while_stopped_deleting_the_checked_out_main_is_refused_by_andon_before_git(
    dana: Pusher, andon: AndonServer, slack: FakeSlack
) -> None:
    stop(andon, slack)

    deleted = dana.push(":main")

    assert deleted.returncode != 0
    # the pre-receive hook runs before git's own receive.denyDeleteCurrent check
    assert "the line is stopped" in said(deleted) and "deletion of main refused" in said(deleted)
    assert dana.ref("refs/heads/main") is not None


def test_while_stopped_the_commit_check_refuses_deleting_main(
    dana: Pusher, andon: AndonServer, slack: FakeSlack
) -> None:
    dana.git("config", "receive.denyDeleteCurrent", "ignore", cwd=dana.bare)
    stop(andon, slack)

    deleted = dana.push(":main")  # the last test of the repository: main may be gone after it

    assert dana.ref("refs/heads/main") is not None, said(deleted)
    assert deleted.returncode != 0
    assert "Andon" in said(deleted)
