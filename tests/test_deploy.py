"""Deploys over SSH, end to end: a signed ``/deploy`` to a running ``andon serve``, real OpenSSH
servers on loopback as hosts, each with a health endpoint serving its ``current/REVISION``."""

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy_line import DeployLine
from tests.fakes.slack import FakeSlack
from tests.postgres import PostgresCluster
from tests.ssh_hosts import SshFleet

FIRST_FILES = {"app.py": "print('v1')\n", "static/site.css": "body {}\n", "README": "app\n"}


@pytest.fixture
def team(tmp_path: Path, fleet: SshFleet, fake_slack: FakeSlack) -> Iterator[DeployLine]:
    fake_slack.forget()
    line = DeployLine(tmp_path, fleet=fleet, slack=fake_slack).start()
    yield line
    line.stop()


def test_a_green_revision_goes_live_on_every_host_canary_first(team: DeployLine) -> None:
    revision = team.release("first", FIRST_FILES)
    answer = team.slash("/deploy", "")
    assert f"Deploying {revision[:7]} to production" in answer
    deploy = team.finished()
    assert deploy["status"] == "succeeded", deploy
    assert [team.live(i) for i in team.hosts] == [revision] * 3
    canary, *rest = deploy["hosts"]
    assert all(h["step"] == "healthy" for h in deploy["hosts"])
    assert all(canary["finished_at"] < h["finished_at"] for h in rest)
    team.slack.wait_for(  # the courier delivers the last update after the deploy's record ends
        "chat.update", lambda p: "3/3 hosts live" in json.dumps(p.get("blocks"))
    )
    messages = team.progress(deploy["id"])
    assert len([m for m in messages if "ts" not in m]) == 1  # one post, then updates in place
    final = json.dumps(messages[-1]["blocks"])
    assert "Deployed" in final and "3/3 hosts live" in final


def test_a_red_revision_is_refused_and_no_host_changes(team: DeployLine) -> None:
    revision = team.app.commit("broken", FIRST_FILES)
    team.red(revision, branch="signup-form")  # red on a branch: the line keeps running
    answer = team.slash("/deploy", revision[:7])
    assert "failed CI" in answer
    assert team.deploys() == []
    assert [team.live(i) for i in team.hosts] == [None] * 3


def test_a_stopped_line_refuses_a_deploy_but_a_green_fix_ships(team: DeployLine) -> None:
    revision = team.release("first", FIRST_FILES)
    team.server.cli("line", "stop", "checkout is broken", "--as", "maria")
    assert "The line is stopped" in team.slash("/deploy", revision)
    assert team.deploys() == []
    answer = team.slash("/deploy", f"{revision[:7]} fix: restores checkout")
    assert "Deploying" in answer
    assert team.finished()["status"] == "succeeded"
    assert team.live(0) == revision
    thread = team.server.open_stoppage()["thread_ts"]
    team.slack.wait_for(
        "chat.postMessage",
        lambda p: p.get("thread_ts") == thread and "restores checkout" in p.get("text", ""),
    )


def test_a_failing_canary_reverts_and_stops_the_line(team: DeployLine) -> None:
    good = team.release("first", FIRST_FILES)
    team.slash("/deploy", "")
    assert team.finished()["status"] == "succeeded"
    bad = team.release("breaks health", {"UNHEALTHY": "yes\n"})
    team.slash("/deploy", bad[:7])
    deploy = team.finished()
    assert deploy["status"] == "failed"
    assert deploy["error"].startswith(f"deploy of {bad[:7]} failed: ")
    assert [team.live(i) for i in team.hosts] == [good] * 3  # canary flipped back, rest never
    assert [h["step"] for h in deploy["hosts"]] == ["reverted", "staged", "staged"]
    stopped = team.line()
    assert stopped["state"] == "stopped"
    assert f"deploy of {bad[:7]} failed" in stopped["stoppage"]["causes"][0]["text"]
    team.server.cli("line", "start", "--force", "fixed", "--as", "maria")
    assert "marked bad" in team.slash("/deploy", bad[:7])


def test_delta_upload_sends_only_changed_files_and_never_shares_a_changed_inode(
    team: DeployLine,
) -> None:
    files = {f"lib/module_{n}.py": f"value = {n}\n" for n in range(30)}
    first = team.release("thirty modules", files)
    team.slash("/deploy", "")
    assert team.finished()["status"] == "succeeded"
    second = team.release("one change", {"lib/module_7.py": "value = 'seven'\n"})
    team.slash("/deploy", "")
    deploy = team.finished()
    assert deploy["status"] == "succeeded"
    assert [h["files_sent"] for h in deploy["hosts"]] == [1, 1, 1]
    same = team.file(0, first, "lib/module_3.py"), team.file(0, second, "lib/module_3.py")
    assert os.stat(same[0]).st_ino == os.stat(same[1]).st_ino  # hard-linked, not copied
    old, new = team.file(0, first, "lib/module_7.py"), team.file(0, second, "lib/module_7.py")
    assert os.stat(old).st_ino != os.stat(new).st_ino
    assert old.read_text() == "value = 7\n" and new.read_text() == "value = 'seven'\n"
    # The manifest came as the lines that changed, rebuilt on the host as a file of its own.
    listed = team.file(0, first, ".andon-manifest"), team.file(0, second, ".andon-manifest")
    assert os.stat(listed[0]).st_ino != os.stat(listed[1]).st_ino
    assert json.loads(listed[0].read_text())["files"].keys() == files.keys()
    assert json.loads(listed[1].read_text())["files"]["lib/module_7.py"]["sha256"] == (
        hashlib.sha256(b"value = 'seven'\n").hexdigest()
    )
    assert all(h["bytes_sent"] < len(listed[1].read_bytes()) // 4 for h in deploy["hosts"])


def test_rollback_while_the_line_is_stopped_flips_every_host_back(team: DeployLine) -> None:
    first = team.release("first", FIRST_FILES)
    team.slash("/deploy", "")
    team.finished()
    second = team.release("second", {"app.py": "print('v2')\n"})
    team.slash("/deploy", "")
    assert team.finished()["status"] == "succeeded"
    team.server.cli("line", "stop", "sign-up is slow", "--as", "maria")
    answer = team.slash("/rollback", "")
    assert f"Rolling back production to {first[:7]}" in answer
    rollback = team.finished()
    assert rollback["kind"] == "rollback" and rollback["status"] == "succeeded"
    assert [team.live(i) for i in team.hosts] == [first] * 3
    causes = [c["text"] for c in team.line()["stoppage"]["causes"]]
    assert causes[-1] == f"production rolled back from {second[:7]} to {first[:7]}"
    team.server.cli("line", "start", "--force", "fixed", "--as", "maria")
    assert "marked bad" in team.slash("/deploy", second[:7])


def test_pruning_keeps_only_the_newest_releases_with_current_and_previous(
    tmp_path: Path, fleet: SshFleet, fake_slack: FakeSlack
) -> None:
    team = DeployLine(tmp_path, fleet=fleet, slack=fake_slack, hosts=1, keep_releases=2).start()
    try:
        shipped = []
        for n in range(4):
            shipped.append(team.release(f"release {n}", {"app.py": f"print({n})\n"}))
            team.slash("/deploy", "")
            assert team.finished()["status"] == "succeeded"
        assert team.releases(0) == set(shipped[-2:])
    finally:
        team.stop()


def test_an_unknown_host_key_is_refused_before_anything_goes_live(
    tmp_path: Path, fleet: SshFleet, fake_slack: FakeSlack
) -> None:
    known = tmp_path / "known_hosts"
    lines = Path(fleet.known_hosts_path).read_text().splitlines()
    known.write_text("\n".join(lines[:2]) + "\n")  # the third host was never vouched for
    team = DeployLine(tmp_path, fleet=fleet, slack=fake_slack, known_hosts=str(known)).start()
    try:
        team.release("first", FIRST_FILES)
        team.slash("/deploy", "")
        deploy = team.finished()
        assert deploy["status"] == "failed"
        third = deploy["hosts"][2]
        assert third["step"] == "failed" and "host key" in third["error"]
        assert f"{fleet.hosts[2].port}" in deploy["error"]
        assert [team.live(i) for i in team.hosts] == [None] * 3
        assert team.line()["state"] == "stopped"
    finally:
        team.stop()


def test_sshd_killed_mid_deploy_halts_and_flips_the_canary_back(
    tmp_path: Path, fleet: SshFleet, fake_slack: FakeSlack
) -> None:
    marker = tmp_path / "activated"
    after = f"touch {marker}.$(basename $(dirname $(dirname $PWD))) && sleep 1"
    team = DeployLine(
        tmp_path, fleet=fleet, slack=fake_slack, after_activate=[after], health_timeout="5s"
    ).start()
    try:
        good = team.release("first", FIRST_FILES)
        team.slash("/deploy", "")
        assert team.finished()["status"] == "succeeded"
        team.release("second", {"app.py": "print('v2')\n"})
        team.slash("/deploy", "")
        team.wait_for_step(0, "active")  # the canary is live: now host 2's sshd dies
        fleet.kill(2)
        deploy = team.finished()
        assert deploy["status"] == "failed"
        assert deploy["hosts"][2]["step"] == "failed"
        assert deploy["hosts"][0]["step"] == "reverted"
        assert [team.live(i) for i in team.hosts] == [good] * 3
        assert "failed" in team.line()["stoppage"]["causes"][0]["text"]
    finally:
        team.stop()


def test_andon_killed_mid_deploy_restarts_with_the_deploy_interrupted_and_hosts_whole(
    tmp_path: Path, fleet: SshFleet, fake_slack: FakeSlack
) -> None:
    team = DeployLine(
        tmp_path, fleet=fleet, slack=fake_slack, after_activate=["sleep 2"], health_timeout="5s"
    ).start()
    try:
        first = team.release("first", FIRST_FILES)
        team.slash("/deploy", "")
        assert team.finished()["status"] == "succeeded"
        second = team.release("second", {"app.py": "print('v2')\n"})
        team.slash("/deploy", "")
        team.wait_for_step(0, "active")
        team.server.process.kill()  # SIGKILL: no cleanup of any kind
        team.server.process.wait()
        team.server.start()
        deploy = team.finished(timeout=10)
        assert deploy["status"] == "interrupted"
        assert [team.live(i) for i in team.hosts] == [second, first, first]
        for i in team.hosts:  # every current is a complete release, never a .partial
            assert (Path(fleet.hosts[i].path) / "current" / ".andon-manifest").exists()
        status = team.slash("/deploy", "status")
        for i in team.hosts:
            live = second if i == 0 else first
            assert f"{fleet.hosts[i].address} — {live[:7]}" in status
        fake_slack.wait_for("chat.update", lambda p: "interrupted" in p.get("text", ""))
        assert "Deploying" in team.slash("/deploy", second[:7])  # the lock was released
        assert team.finished()["status"] == "succeeded"
    finally:
        team.stop()


def test_a_rollback_to_a_release_missing_on_a_host_changes_nothing_and_names_it(
    team: DeployLine,
) -> None:
    first = team.release("first", FIRST_FILES)
    team.slash("/deploy", "")
    team.finished()
    second = team.release("second", {"app.py": "print('v2')\n"})
    team.slash("/deploy", "")
    assert team.finished()["status"] == "succeeded"
    shutil.rmtree(Path(team.fleet.hosts[1].path) / "releases" / first)
    team.slash("/rollback", "")
    rollback = team.finished()
    assert rollback["status"] == "failed"
    assert f"release {first[:7]} is missing on {team.fleet.hosts[1].address}" in rollback["error"]
    assert [team.live(i) for i in team.hosts] == [second] * 3
    assert team.line()["state"] == "running"


def test_deploy_and_rollback_keep_their_records_on_postgresql(
    tmp_path: Path, fleet: SshFleet, fake_slack: FakeSlack, postgres: PostgresCluster
) -> None:
    url = postgres.create_database("andon_deploys")
    team = DeployLine(tmp_path, fleet=fleet, slack=fake_slack, database_url=url).start()
    try:
        first = team.release("first", FIRST_FILES)
        team.slash("/deploy", "")
        assert team.finished()["status"] == "succeeded"
        team.release("second", {"app.py": "print('v2')\n"})
        team.slash("/deploy", "")
        assert team.finished()["status"] == "succeeded"
        team.slash("/rollback", "")
        rollback = team.finished()
        assert rollback["kind"] == "rollback" and rollback["status"] == "succeeded"
        assert [team.live(i) for i in team.hosts] == [first] * 3
        assert [d["kind"] for d in team.deploys()] == ["rollback", "deploy", "deploy"]
    finally:
        team.stop()
