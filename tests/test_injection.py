"""Outside text is inert at every door: each hostile value goes in through each door of a running
``andon serve`` — slash commands, a thread answer, the investments form, every CI, every alert
source, ``git push`` past the commit check, a host step's output — and what the channel, the DM
and the thread receive shows it as written, with nothing live that Andon did not mean.

A value comes in as its door carries it: Slack encodes what people type in slash commands and
messages (``@channel`` as ``<!channel>``, ``<`` as ``&lt;``, ``&`` as ``&amp;``, a mention as
``<@U…|name>``, a link as ``<url|label>``); a modal field, a webhook body and git carry it raw.
Only a mention Slack itself encoded stays a live mention; from any other door nothing is live.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests import inert
from tests.ci_payloads import sha
from tests.fakes.slack import FakeSlack
from tests.injection_line import (
    ADMIN,
    DEV,
    DEV_EMAIL,
    MARIA,
    ONCALL,
    Line,
    in_channel,
    in_dm,
    in_thread,
    on_home,
)
from tests.injection_payloads import (
    ALERTS,
    AUTHORED_CI,
    CI,
    LINKED_ALERTS,
    TESTED_CI,
    alert,
    build,
)
from tests.slack_requests import view_submission

# A campaign: `make campaign` (run by .ci/run after `make test`), not `make test`.
pytestmark = pytest.mark.campaign

PERSON = "<@U0EVE>"  # the person the hostile mention names, live only from a Slack door


@dataclass(frozen=True)
class Hostile:
    typed: str  # as a person types it; a modal, a webhook and git carry it so
    slack: str  # as Slack encodes it in slash-command text and message events
    seen: str  # the mrkdwn a person must read when Slack carried it
    seen_outside: str  # … and when any other door carried it


MATH = Hostile(
    "p99 > 2s & errors < 1%",
    "p99 &gt; 2s &amp; errors &lt; 1%",
    "p99 &gt; 2s &amp; errors &lt; 1%",
    "p99 &gt; 2s &amp; errors &lt; 1%",
)
PAYLOAD_URL = Hostile(
    "https://ci.example/x|re-auth here> <!channel",
    "https://ci.example/x|re-auth here&gt; &lt;!channel",
    "https://ci.example/x|re-auth here&gt; &lt;!channel",
    "https://ci.example/x|re-auth here&gt; &lt;!channel",
)
MENTION = Hostile("<@U0EVE|eve>", "<@U0EVE|eve>", PERSON, "&lt;@U0EVE|eve&gt;")
VALUES = {
    "channel": Hostile("<!channel>", "<!channel>", "@channel", "@channel"),
    "here": Hostile("<!here>", "<!here>", "@here", "@here"),
    "everyone": Hostile("<!everyone>", "<!everyone>", "@everyone", "@everyone"),
    "subteam": Hostile("<!subteam^S0123|@devs>", "<!subteam^S0123|@devs>", "@devs", "@devs"),
    # typed plainly: Slack sends it as <!channel> (should_escape); elsewhere it is just text
    "typed @channel": Hostile("@channel", "<!channel>", "@channel", "@channel"),
    "lying link": Hostile(
        "<https://evil.example|the run>",
        "<https://evil.example|the run>",
        "the run (https://evil.example)",
        "&lt;https://evil.example|the run&gt;",
    ),
    "payload url": PAYLOAD_URL,
    "math": MATH,
    "mention": MENTION,
}
NAMES = list(VALUES)
# In the form, a mention is the investment's owner on purpose: it is left out there.
FORM_NAMES = [name for name in NAMES if VALUES[name] is not MENTION]


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack) -> Iterator[Line]:
    running = Line(tmp_path_factory.mktemp("injection"), fake_slack).start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def fresh(line: Line) -> None:
    line.running()


def url_of(value: Hostile) -> str:
    """A payload's link: the value itself when it is a URL, else a URL that carries it."""
    return value.typed if value.typed.startswith("http") else f"https://ci.example/r/{value.typed}"


def url_seen(value: Hostile) -> str:
    if value.typed.startswith("http"):
        return value.seen_outside
    return f"https://ci.example/r/{value.seen_outside}"


def assert_inert(line: Line, *, from_slack: bool) -> None:
    """Nothing Slack received — messages, updates, DMs, answers — is live unless Andon meant it;
    ``&``, ``<``, ``>`` are escaped; no link goes to evil.example or carries ``|<>`` or spaces."""
    found = []
    for where, params in line.everything_read():
        for text in inert.texts(params):
            found += [f"{where}: {problem}" for problem in inert.problems(text)]
            if any("evil.example" in url for url in inert.links(text)):
                found.append(f"{where}: a link to evil.example in {text[:300]!r}")
            if not from_slack and PERSON in text:
                found.append(f"{where}: a live mention from outside Slack in {text[:300]!r}")
    assert not found, "\n".join(found)


# --- Slack: slash commands, a thread answer, the investments form -------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_a_stop_reason_typed_in_slack_is_shown_as_typed_and_notifies_nobody(
    line: Line, name: str
) -> None:
    value = VALUES[name]
    thread = line.stopped(f"checkout down {value.slack}")
    line.shows(in_channel, f"checkout down {value.seen}")
    line.shows(in_thread(thread), f"checkout down {value.seen}")
    line.shows(on_home(MARIA), f"checkout down {value.seen}", method="views.publish")
    status = line.slash("/line", "status")
    assert any(f"checkout down {value.seen}" in text for text in inert.texts(status)), status
    assert_inert(line, from_slack=True)


@pytest.mark.parametrize("name", NAMES)
def test_a_forced_start_reason_typed_by_an_admin_is_shown_as_typed_and_notifies_nobody(
    line: Line, name: str
) -> None:
    value = VALUES[name]
    line.stopped()
    answer = line.slash("/line", f"start force customers wait {value.slack}", user=ADMIN)
    assert "You started the line" in answer["text"]
    line.shows(in_channel, f"customers wait {value.seen}")
    assert_inert(line, from_slack=True)


@pytest.mark.parametrize("name", NAMES)
def test_a_fix_deploys_reason_is_shown_as_typed_and_notifies_nobody(line: Line, name: str) -> None:
    value = VALUES[name]
    thread = line.stopped()
    revision = line.commit(f"restore checkout {name}", {"fail.txt": "", "app.py": name})
    line.green(revision)
    answer = line.slash("/deploy", f"{revision[:12]} fix: restores checkout {value.slack}")
    assert "Deploying" in answer["text"], answer
    line.shows(in_thread(thread), f"restores checkout {value.seen}")
    line.shows(in_channel, "*Deployed*", method="chat.update")
    assert_inert(line, from_slack=True)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("how", ["reply", "also to the channel", "with a file"])
def test_a_five_whys_answer_is_quoted_in_the_next_why_as_typed(
    line: Line, how: str, name: str
) -> None:
    value = VALUES[name]
    thread = line.stopped()
    line.shows(in_thread(thread), "Why 1:")
    line.say(thread, f"because the fake was missing {value.slack}", how=how)
    line.shows(in_thread(thread), f"Why 2: why “the fake was missing {value.seen}”?")
    assert_inert(line, from_slack=True)


@pytest.mark.parametrize("name", NAMES)
def test_an_answer_edited_in_slack_is_shown_as_typed(line: Line, name: str) -> None:
    value = VALUES[name]
    thread = line.stopped()
    line.shows(in_thread(thread), "Why 1:")
    answer_ts = f"1790000000.{NAMES.index(name):06d}"
    line.say(thread, "because a first draft", ts=answer_ts)
    line.shows(in_thread(thread), "Why 2:")
    line.edit(
        thread,
        answer_ts,
        was="because a first draft",
        now=f"because the fake was missing {value.slack}",
    )
    line.shows(in_thread(thread), f"Answer 1 is now: the fake was missing {value.seen}")
    assert_inert(line, from_slack=True)


@pytest.mark.parametrize("name", FORM_NAMES)
def test_an_investment_from_the_form_is_shown_as_written_and_notifies_nobody(
    line: Line, name: str
) -> None:
    value = VALUES[name]
    thread = line.stopped()
    stoppage_id = line.server.open_stoppage()["id"]
    for level in range(1, 6):
        line.shows(in_thread(thread), f"Why {level}:")
        line.say(thread, f"because of reason {level}")
    line.shows(in_thread(thread), "Five whys found")
    fields = {
        f"level_{level}": {"investment": {"type": "plain_text_input", "value": None}}
        for level in range(1, 6)
    }
    written = f"add a contract test @joe {value.typed}"  # raw: Slack does not encode inputs
    fields["level_1"]["investment"]["value"] = written
    body, kind = view_submission(
        "whys_form", fields, user="U0JOE", name="joe", private_metadata=str(stoppage_id)
    )
    answer = line.server.slack_post(body, kind)
    assert answer.status_code == 200 and not answer.text, answer.text  # the modal closes
    line.shows(in_thread(thread), f"Level 1: add a contract test {value.seen_outside}")
    assert_inert(line, from_slack=False)


# --- every CI --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("provider", CI)
def test_a_red_build_from_each_ci_shows_its_fields_as_sent_and_notifies_nobody(
    line: Line, provider: str, name: str
) -> None:
    value = VALUES[name]
    revision = sha()
    payload, headers = build(
        provider,
        revision=revision,
        text=value.typed,
        url=url_of(value),
        branch="main",
        email="nobody@example.com",
    )
    line.hook("ci", provider, payload, headers)
    fields = ["pipeline"]
    if provider in AUTHORED_CI:
        fields += ["subject", "author"]
    if provider in TESTED_CI:
        fields.append("test")
    for field in fields:
        line.shows(in_channel, f"{field} {value.seen_outside}")
    line.shows(in_channel, url_seen(value))
    asked = list(inert.texts(line.slash("/ci", revision)))  # its pipelines and failing tests
    for field in {"pipeline", "test"} & set(fields):
        assert any(f"{field} {value.seen_outside}" in text for text in asked), asked
    assert_inert(line, from_slack=False)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("provider", AUTHORED_CI)
def test_a_red_build_of_a_hostile_branch_is_shown_to_its_author_as_sent(
    line: Line, provider: str, name: str
) -> None:
    value = VALUES[name]
    revision = sha()
    payload, headers = build(
        provider,
        revision=revision,
        text=value.typed,
        url=url_of(value),
        branch=f"feature/{value.typed}",
        email=DEV_EMAIL,
    )
    line.hook("ci", provider, payload, headers)
    line.shows(in_dm(DEV), f"feature/{value.seen_outside}")
    line.shows(in_dm(DEV), f"subject {value.seen_outside}")
    assert_inert(line, from_slack=False)


# --- every alert source ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("provider", ALERTS)
def test_a_page_from_each_alert_source_shows_the_alert_as_sent_and_notifies_nobody(
    line: Line, provider: str, name: str
) -> None:
    value = VALUES[name]
    payload, headers = alert(provider, text=value.typed, url=url_of(value))
    line.hook("alerts", provider, payload, headers)
    line.shows(in_dm(ONCALL), f"name {value.seen_outside}")
    line.shows(in_dm(ONCALL), f"summary {value.seen_outside}")
    if provider in LINKED_ALERTS:
        line.shows(in_dm(ONCALL), url_seen(value))
    line.shows(in_channel, f"summary {value.seen_outside}")
    named = "summary" if provider == "pagerduty" else "name"  # PagerDuty's: by the summary
    line.shows(on_home(MARIA), f"{named} {value.seen_outside}", method="views.publish")
    assert_inert(line, from_slack=False)


# --- git: the commit check ---------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_a_push_past_the_stopped_line_shows_pusher_trailer_and_subject_as_pushed(
    line: Line, name: str
) -> None:
    value = VALUES[name]
    thread = line.stopped()
    line.commit(f"subject {value.typed}\n\nLine-Fix: fix {value.typed}\n", {"app.py": name})
    pushed = line.push(USER=f"pusher {value.typed}")
    assert pushed.returncode == 0, pushed.stderr
    for field in ("pusher", "fix", "subject"):
        line.shows(in_thread(thread), f"{field} {value.seen_outside}")
    assert_inert(line, from_slack=False)


@pytest.mark.parametrize("name", NAMES)
def test_a_push_option_past_the_stopped_line_is_shown_as_pushed(line: Line, name: str) -> None:
    value = VALUES[name]
    thread = line.stopped()
    line.commit(f"option {name}", {"app.py": f"option {name}"})
    pushed = line.push(f"line-fix=fix {value.typed}")
    assert pushed.returncode == 0, pushed.stderr
    line.shows(in_thread(thread), f"fix {value.seen_outside}")
    assert_inert(line, from_slack=False)


# --- a host's own words ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_a_failing_host_steps_output_is_shown_as_printed_and_notifies_nobody(
    line: Line, name: str
) -> None:
    value = VALUES[name]
    revision = line.commit(f"release {name}", {"fail.txt": f"host says {value.typed}\n"})
    line.green(revision)
    answer = line.slash("/deploy", revision[:12])
    assert "Deploying" in answer["text"], answer
    line.shows(in_channel, f"host says {value.seen_outside}", method="chat.update")
    line.shows(in_channel, f"host says {value.seen_outside}")  # the line stopped, saying why
    assert_inert(line, from_slack=False)
