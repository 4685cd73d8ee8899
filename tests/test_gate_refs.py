"""Deletions, forced pushes and tags through the commit check: a real ``git push`` into a bare
repository whose pre-receive hook asks one running ``andon serve`` (over HTTP, and a second
repository straight from its database). The repositories set ``receive.denyDeleteCurrent=ignore``
so that git itself never refuses deleting ``main``: whatever is refused here, Andon refused."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from core.config.file import AndonConfig
from tests.fakes.slack import FakeSlack
from tests.gate_line import Developer, said
from tests.harness import API_TOKEN, CHANNEL, AndonServer, run_cli
from tests.slack_requests import slash_command

PROTECTED = '["main", "release/*", "refs/tags/v*"]'
REFUSED = "(pre-receive hook declined)"
TOLD = "takes commits off"


class Line:
    """One ``andon serve`` guarding two repositories, one hook over HTTP, one from the database."""

    def __init__(self, root: Path, slack: FakeSlack) -> None:
        self.slack = slack
        self.root = root
        self.dev = Developer(root / "http")
        self._offline: Developer | None = None
        workdir = root / "andon"
        self.server = AndonServer(
            workdir,
            database_url=f"sqlite:///{workdir / 'andon.db'}",
            slack=slack,
            config=f"""
[slack]
channel = "{CHANNEL}"

[access]
admins = ["U0MARIA"]

[repo]
path = "{self.dev.bare}"
branch = "main"

[gate]
protected = {PROTECTED}
""",
        )

    def start(self) -> "Line":
        self.server.start()
        self._install(self.dev, ANDON_URL=self.server.url)
        return self

    @property
    def offline(self) -> Developer:
        """The repository whose hook reads the database: made when a scenario first needs it."""
        if self._offline is None:
            self._offline = self._install(Developer(self.root / "database"))
        return self._offline

    def _install(self, dev: Developer, **env: str) -> Developer:
        installed = run_cli(
            ["gate", "install", str(dev.bare)],
            env={**self.server.env, **env},
            cwd=self.server.workdir,
        )
        assert installed.returncode == 0, installed.stderr
        dev.git("config", "receive.denyDeleteCurrent", "ignore", cwd=dev.bare)
        dev.commit("Add the cart")
        assert dev.push().returncode == 0
        return dev

    def slash(self, text: str) -> dict[str, Any]:
        body, kind = slash_command(
            "/line",
            text,
            user="U0MARIA",
            name="maria",
            response_url=self.slack.response_url("line"),
        )
        answer = self.server.slack_post(body, kind)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def stop(self) -> dict[str, Any]:
        self.slash("stop CI is red")
        return self.server.open_stoppage()

    def running(self) -> None:
        if self.server.api("/api/line").json()["state"] != "running":
            self.slash("start force the next scenario")
        assert self.server.api("/api/line").json()["state"] == "running"

    def sync(self) -> None:
        """Each clone at its repository's ``main``, whatever the last scenario left refused."""
        for dev in (self.dev, self._offline):
            if dev is None:
                continue
            dev.git("fetch", "-q", "origin", "main")
            dev.git("reset", "-q", "--hard", "FETCH_HEAD")

    def told(self, starts: str, **where: Any) -> dict[str, Any]:
        """The channel message (or thread reply, with ``thread_ts``) whose text starts so."""

        def matches(p: dict[str, Any]) -> bool:
            return str(p.get("text", "")).startswith(starts) and all(
                p.get(k) == v for k, v in where.items()
            )

        return self.slack.wait_for("chat.postMessage", matches, timeout=15)[0].params


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack) -> Iterator[Line]:
    started = Line(tmp_path_factory.mktemp("gate-refs"), fake_slack).start()
    yield started
    started.server.stop()


@pytest.fixture(autouse=True)
def running(line: Line) -> None:
    """Each scenario starts on a running line and a quiet fake Slack."""
    line.running()
    line.sync()
    line.slack.forget()


def shown(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


# --- deleting a protected branch ------------------------------------------------------------------


def test_deleting_main_while_stopped_is_refused_and_main_stays(line: Line) -> None:
    dev = line.dev
    before = dev.head()
    stoppage = line.stop()

    deleted = dev.push(":main")

    assert deleted.returncode != 0
    text = said(deleted)
    assert "remote: Andon: the line is stopped — deletion of main refused." in text
    assert f"(stoppage #{stoppage['id']})" in text
    assert 'remote:   fix. If it is: git push -o line-fix="<why>"' in text
    assert f"! [remote rejected] main {REFUSED}" in text
    assert dev.head() == before


def test_deleting_main_with_the_override_passes_is_announced_and_restoring_needs_it_too(
    line: Line,
) -> None:
    dev = line.dev
    before = dev.head()
    assert before is not None
    stoppage = line.stop()

    deleted = dev.push(":main", options=("line-fix=main is rebuilt from the release",))

    assert deleted.returncode == 0, said(deleted)
    assert dev.head() is None
    told = line.told(f"dana's push {TOLD} main", channel=CHANNEL)
    assert "thread_ts" not in told
    blocks = shown(told)
    assert "past the stopped line as a fix: main is rebuilt from the release" in blocks
    assert f"deletes `refs/heads/main`, which was at `{before[:12]}`" in blocks
    assert f"`git push origin {before}:refs/heads/main` puts it back" in blocks
    assert 'putting one back needs `-o line-fix=\\"&lt;why&gt;\\"` too' in blocks
    line.told("dana pushed past the stopped line as a fix", thread_ts=stoppage["thread_ts"])

    restored = dev.push(f"{before}:refs/heads/main")
    assert restored.returncode != 0
    assert "the line is stopped — push to main refused." in said(restored)
    again = dev.push(f"{before}:refs/heads/main", options=("line-fix=restore main",))
    assert again.returncode == 0, said(again)
    assert dev.head() == before


def test_deleting_main_while_the_line_runs_passes_and_is_announced(line: Line) -> None:
    dev = line.dev
    before = dev.head()
    assert before is not None

    deleted = dev.push(":main")

    assert deleted.returncode == 0, said(deleted)
    assert "remote: Andon: the line channel has been told of the deletion of main." in said(deleted)
    told = line.told(f"dana's push {TOLD} main", channel=CHANNEL)
    assert f"`git push origin {before}:refs/heads/main` puts it back" in shown(told)
    assert "line-fix" not in shown(told)
    assert dev.push(f"{before}:refs/heads/main").returncode == 0
    assert dev.head() == before


# --- rewinding a protected branch -----------------------------------------------------------------


def test_a_forced_push_that_rewinds_main_while_stopped_is_refused_even_with_a_trailer(
    line: Line,
) -> None:
    dev = line.dev
    dev.commit("Add the coupon field")
    assert dev.push().returncode == 0
    before = dev.head()
    line.stop()
    dev.git("reset", "-q", "--hard", "HEAD~1")
    dev.commit("Round the cart total\n\nLine-Fix: drop the coupon field\n")

    rewound = dev.push("+HEAD:main")

    assert rewound.returncode != 0
    text = said(rewound)
    assert "remote: Andon: the line is stopped — forced push to main refused." in text
    assert 'git push -o line-fix="<why>"' in text
    assert dev.head() == before


def test_a_forced_push_with_the_override_passes_and_the_channel_hears_how_to_undo_it(
    line: Line,
) -> None:
    dev = line.dev
    dev.commit("Add the gift card")
    assert dev.push().returncode == 0
    before = dev.head()
    assert before is not None
    line.stop()
    dev.git("reset", "-q", "--hard", "HEAD~1")
    after = dev.git("rev-parse", "HEAD").strip()

    rewound = dev.push("+HEAD:main", options=("line-fix=the gift card broke checkout",))

    assert rewound.returncode == 0, said(rewound)
    assert dev.head() == after
    blocks = shown(line.told(f"dana's push {TOLD} main", channel=CHANNEL))
    assert f"moves `refs/heads/main` from `{before[:12]}` to `{after[:12]}`" in blocks
    assert f"`git push --force origin {before}:refs/heads/main` puts it back" in blocks


def test_a_forced_push_while_the_line_runs_passes_and_is_announced(line: Line) -> None:
    dev = line.dev
    dev.commit("Add the wish list")
    assert dev.push().returncode == 0
    dev.git("reset", "-q", "--hard", "HEAD~1")
    dev.commit("Add the wish list, smaller")

    rewound = dev.push("+HEAD:main")

    assert rewound.returncode == 0, said(rewound)
    assert "told of the forced push to main" in said(rewound)
    line.told(f"dana's push {TOLD} main", channel=CHANNEL)


def test_a_fast_forward_is_not_announced(line: Line) -> None:
    dev = line.dev
    dev.commit("Add the receipt")

    pushed = dev.push()

    assert pushed.returncode == 0, said(pushed)
    assert "andon" not in said(pushed).lower()
    assert not [c for c in line.slack.calls("chat.postMessage") if TOLD in str(c.params)]


# --- globs, tags and mixed pushes -----------------------------------------------------------------


def test_tags_matching_a_protected_glob_are_guarded_and_others_pass(line: Line) -> None:
    dev = line.dev
    dev.git("tag", "v0.9")
    assert dev.push("v0.9").returncode == 0
    line.stop()
    dev.git("tag", "v1.0")
    dev.git("tag", "-a", "-m", "nightly", "nightly-1")

    release = dev.push("v1.0")
    nightly = dev.push("nightly-1")
    dropped = dev.push(":refs/tags/v0.9")
    fixed = dev.push("v1.0", options=("line-fix=the hotfix release",))

    assert release.returncode != 0
    assert "the line is stopped — push to refs/tags/v1.0 refused." in said(release)
    assert nightly.returncode == 0, said(nightly)
    assert dropped.returncode != 0
    assert "deletion of refs/tags/v0.9 refused" in said(dropped)
    assert fixed.returncode == 0, said(fixed)


def test_a_release_glob_guards_nested_branches_and_one_refused_ref_refuses_the_whole_push(
    line: Line,
) -> None:
    dev = line.dev
    assert dev.push("HEAD:release/2/hotfix").returncode == 0
    line.stop()
    dev.commit("Try a coupon field")

    mixed = dev.push("HEAD:feature/coupons", ":release/2/hotfix")

    assert mixed.returncode != 0
    text = said(mixed)
    assert "deletion of release/2/hotfix refused" in text
    assert f"! [remote rejected] HEAD -> feature/coupons {REFUSED}" in text
    assert dev.head("feature/coupons") is None
    assert dev.head("release/2/hotfix") is not None


# --- the hook that reads the database itself ------------------------------------------------------


def test_without_andon_url_deletions_and_rewinds_are_judged_and_told_alike(line: Line) -> None:
    dev = line.offline
    dev.commit("Add the coupon field")
    assert dev.push().returncode == 0
    before = dev.head()
    assert before is not None
    line.stop()

    deleted = dev.push(":main")
    dev.git("reset", "-q", "--hard", "HEAD~1")
    rewound = dev.push("+HEAD:main")
    passed = dev.push("+HEAD:main", options=("line-fix=drop the coupon field",))

    assert deleted.returncode != 0
    assert "deletion of main refused" in said(deleted)
    assert rewound.returncode != 0
    assert "forced push to main refused" in said(rewound)
    assert passed.returncode == 0, said(passed)
    blocks = shown(line.told(f"dana's push {TOLD} main", channel=CHANNEL))
    assert f"`git push --force origin {before}:refs/heads/main` puts it back" in blocks


# --- POST /api/gate: "forced" is optional ---------------------------------------------------------


def gate(line: Line, forced: Any = "absent") -> requests.Response:
    update: dict[str, Any] = {"old": "a" * 40, "new": "b" * 40, "ref": "refs/heads/main"}
    if forced != "absent":
        update["forced"] = forced
    body = {
        "refs": [update],
        "commits": [{"sha": "b" * 40, "subject": "Fix", "trailers": {"Line-Fix": "green"}}],
        "pusher": "dana",
    }
    return requests.post(
        f"{line.server.url}/api/gate",
        json=body,
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=10,
    )


def test_an_older_hook_that_does_not_say_forced_is_judged_as_before(line: Line) -> None:
    line.stop()

    older = gate(line)
    forced = gate(line, True)
    wrong = gate(line, "yes")

    assert older.status_code == 200 and older.json()["allow"] is True
    assert forced.status_code == 200 and forced.json()["allow"] is False
    assert "forced push to main refused" in forced.json()["message"]
    assert wrong.status_code == 422
    assert "forced" in wrong.text


def test_protected_globs_are_read_as_refs() -> None:
    config = AndonConfig.model_validate({"gate": {"protected": ["refs/tags/v*", "release/*"]}})

    assert config.protected_refs == ["refs/tags/v*", "refs/heads/release/*"]
