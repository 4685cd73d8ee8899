"""A red build names its author as Slack knows them: ``users.lookupByEmail``, ``[people]`` first.

Results arrive as signed generic webhooks at a running ``andon serve``; Slack is the fake, which
knows the people a test registers and no one else.
"""

import json
import secrets
from collections.abc import Iterator

import pytest

from tests.ci_payloads import generic, post, sha
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.harness import CHANNEL, AndonServer

CONFIG = f"""
[slack]
channel = "{CHANNEL}"

[access]
admins = ["setup"]

[repo]
path = "/srv/git/app.git"
branch = "main"

[people]
"shared@example.com" = "U0PEOPLE1"
"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_slack: FakeSlack,
) -> Iterator[AndonServer]:
    workdir = tmp_path_factory.mktemp(f"ci-authors-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'andon.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database(f"authors_{workdir.name}")
    running = AndonServer(workdir, database_url=url, slack=fake_slack, config=CONFIG)
    yield running.start()
    running.stop()


def someone(fake: FakeSlack, name: str) -> tuple[str, str]:
    """A member of the workspace no other test knows: their Slack user ID and e-mail."""
    tag = secrets.token_hex(3).upper()
    user, email = f"U0{tag}", f"{name.split()[0].lower()}.{tag.lower()}@example.com"
    fake.add_user(user, email, name)
    return user, email


def announced(fake: FakeSlack, revision: str) -> dict:
    """The channel's "CI failed" message about one revision."""
    found = fake.wait_for(
        "chat.postMessage",
        lambda p: (
            p.get("channel") == CHANNEL
            and p.get("text", "").startswith(f"CI failed on {revision[:7]}")
        ),
    )
    return found[-1].params


def shown(params: dict) -> str:
    return json.dumps(params.get("blocks"), ensure_ascii=False)


def lookups(fake: FakeSlack, email: str) -> int:
    return len([c for c in fake.calls("users.lookupByEmail") if c.params.get("email") == email])


def red(revision: str, *, email: str, name: str, branch: str = "main") -> dict:
    return generic(
        revision,
        "failed",
        branch=branch,
        author_name=name,
        author_email=email,
        subject="cart: round totals",
        failed_tests=["tests/test_cart.py::test_total"],
    )


def test_a_red_build_on_the_line_mentions_the_author_slack_knows_by_e_mail(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    user, email = someone(fake_slack, "Ana Lima")
    rev = sha()
    assert post(server, "generic", red(rev, email=email.upper(), name="Ana L")).status_code == 200
    blocks = shown(announced(fake_slack, rev))
    assert f"<@{user}>" in blocks
    assert "Ana L" not in blocks
    call = fake_slack.calls("users.lookupByEmail")[-1]
    assert call.params["email"] == email  # asked in the case Slack files it under
    assert call.headers["Authorization"] == f"Bearer {BOT_TOKEN}"


def test_a_red_build_on_another_branch_reaches_its_author_by_dm(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    user, email = someone(fake_slack, "Bo Chen")
    rev = sha()
    answer = post(server, "generic", red(rev, email=email, name="Bo", branch="feature/cart"))
    assert answer.json()["stopped_line"] is False
    fake_slack.wait_for("conversations.open", lambda p: p.get("users") == user)
    dm = fake_slack.wait_for(
        "chat.postMessage",
        lambda p: (
            p.get("channel") == "D" + user[1:]
            and p.get("text", "").startswith(f"Your commit {rev[:7]} on feature/cart failed")
        ),
    )[-1]
    assert "tests/test_cart.py::test_total" in shown(dm.params)


def test_people_in_andon_toml_win_over_slack_s_answer(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U0SLACK01", "shared@example.com", "Shared Inbox")
    rev = sha()
    post(server, "generic", red(rev, email="Shared@Example.com", name="Team"))
    blocks = shown(announced(fake_slack, rev))
    assert "<@U0PEOPLE1>" in blocks and "U0SLACK01" not in blocks
    assert lookups(fake_slack, "shared@example.com") == 0


def test_an_e_mail_slack_does_not_know_shows_the_author_s_name(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    tag = secrets.token_hex(3)
    email = f"zoe.{tag}@personal.example"
    rev = sha()
    post(server, "generic", red(rev, email=email, name=f"Zoë Unknown {tag}"))
    blocks = shown(announced(fake_slack, rev))
    assert f"Zoë Unknown {tag}" in blocks and "<@" not in blocks
    assert lookups(fake_slack, email) == 1


def test_the_same_author_s_second_failure_does_not_ask_slack_again(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    user, email = someone(fake_slack, "Cy Park")
    first, second = sha(), sha()
    for rev in (first, second):
        post(server, "generic", red(rev, email=email, name="Cy", branch="feature/tax"))
        fake_slack.wait_for(
            "chat.postMessage",
            lambda p, rev=rev: (
                p.get("channel") == "D" + user[1:]
                and p.get("text", "").startswith(f"Your commit {rev[:7]}")
            ),
        )
    assert lookups(fake_slack, email) == 1


def test_slack_refusing_the_lookup_still_announces_the_failure_with_the_name(
    server: AndonServer, fake_slack: FakeSlack
) -> None:
    _user, email = someone(fake_slack, "Di Rossi")
    fake_slack.fail(200, methods={"users.lookupByEmail"}, error="missing_scope")
    rev = sha()
    post(server, "generic", red(rev, email=email, name="Di Rossi"))
    blocks = shown(announced(fake_slack, rev))
    assert "Di Rossi" in blocks and "<@" not in blocks
    assert server.api("/api/line").json()["state"] == "stopped"
    log = server.log()
    assert "users.lookupByEmail failed (missing_scope)" in log
    assert "users:read.email" in log
    assert email not in log and BOT_TOKEN not in log
