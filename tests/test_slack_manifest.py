"""The Slack app manifest, docs/slack-setup.md and the code agree: every scope and event the
manifest asks for is explained in the docs and used by the code, and every Web API method the
code calls is covered by a scope the manifest asks for."""

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parent.parent
MANIFEST = ROOT / "docs" / "slack-app-manifest.yml"
SETUP = ROOT / "docs" / "slack-setup.md"

# What each Web API method Andon may call needs, from each method's page in Slack's reference
# (https://docs.slack.dev/reference/methods/<method>, "Required scopes"); None: no scope; a
# tuple: one for each kind of conversation Andon reads (its channel, public or private; DMs).
HISTORY = ("channels:history", "groups:history", "im:history")
METHODS: dict[str, str | tuple[str, ...] | None] = {
    "auth.test": None,  # bolt's App calls it when it starts
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.getPermalink": None,
    "conversations.open": "im:write",  # a DM with one person
    "conversations.history": HISTORY,  # a message whose answer was lost, looked for
    "conversations.replies": HISTORY[:2],  # the same in a thread (threads are in the channel)
    "views.open": None,
    "views.publish": None,
    "views.update": None,
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "users.lookupByEmail": "users:read.email",
    "users.info": "users:read",
}
# Events and the scope each needs (https://docs.slack.dev/reference/events/<event>).
EVENTS: dict[str, str | None] = {
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "app_home_opened": None,
    "reaction_added": "reactions:read",
}
# Scopes Slack grants only together with another (https://docs.slack.dev/reference/scopes/
# users.read.email: "must be requested at the same time as users:read").
GRANTED_WITH = {"users:read.email": "users:read"}
FAMILIES = "auth|apps|bookmarks|chat|conversations|files|pins|reactions|team|usergroups|users|views"
CALL = re.compile(rf"client\.({FAMILIES})_([A-Za-z]+)\(")
API_CALL = re.compile(r"\bapi_call\(\s*[\"']([a-z]+\.[A-Za-z.]+)[\"']")


def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text())


def scopes() -> list[str]:
    return manifest()["oauth_config"]["scopes"]["bot"]


def events() -> list[str]:
    return manifest()["settings"]["event_subscriptions"]["bot_events"]


def documented() -> dict[str, str]:
    """The table of docs/slack-setup.md: each scope or event and its kind."""
    rows = re.findall(r"^\| `([^`]+)` \| (scope|event) \| (.+) \|$", SETUP.read_text(), re.M)
    return {name: kind for name, kind, why in rows if why.strip()}


def called() -> set[str]:
    """Every Web API method the bot's code calls through slack_sdk's WebClient."""
    found = {"auth.test"}  # bolt's App calls it at construction, on Andon's behalf
    for source in (ROOT / "bot").rglob("*.py"):
        text = source.read_text()
        found |= {f"{family}.{name}" for family, name in CALL.findall(text)}
        found |= set(API_CALL.findall(text))
    return found


def test_the_manifest_is_yaml_with_scopes_and_events() -> None:
    assert scopes() and events()
    assert len(set(scopes())) == len(scopes()) and len(set(events())) == len(events())


def test_every_scope_and_event_is_explained_in_the_setup_docs_and_nothing_else_is() -> None:
    table = documented()
    asked = {name: "scope" for name in scopes()} | {name: "event" for name in events()}
    assert table == asked


def test_every_web_api_method_the_code_calls_is_covered_by_a_scope() -> None:
    used = called()
    assert "users.lookupByEmail" in used and "chat.postMessage" in used
    unknown = used - set(METHODS)
    assert not unknown, f"add these methods and the scope each needs to METHODS: {unknown}"
    missing = {m: _needs(m) - set(scopes()) for m in used if _needs(m) - set(scopes())}
    assert not missing, f"the manifest lacks scopes the code needs: {missing}"


def _needs(method: str) -> set[str]:
    needed = METHODS[method]
    return set() if needed is None else {needed} if isinstance(needed, str) else set(needed)


def test_every_event_the_manifest_subscribes_to_has_its_scope() -> None:
    for event in events():
        assert event in EVENTS, f"add {event} and the scope it needs to EVENTS"
        needed = EVENTS[event]
        assert needed is None or needed in scopes(), f"{event} needs {needed}"


def test_every_event_the_code_listens_to_is_subscribed() -> None:
    """A listener for an event the app never subscribed to waits forever, silently."""
    heard = set()
    for source in (ROOT / "bot").rglob("*.py"):
        heard |= set(re.findall(r"@app\.event\(\s*[\"']([a-z_]+)[\"']", source.read_text()))
    assert "reaction_added" in heard
    subscribed = {event.split(".")[0] for event in events()}
    missing = heard - subscribed
    assert not missing, f"the manifest does not subscribe to events the code listens to: {missing}"


def test_scopes_slack_grants_only_in_pairs_are_asked_in_pairs() -> None:
    for scope, companion in GRANTED_WITH.items():
        assert scope not in scopes() or companion in scopes(), f"{scope} needs {companion}"


def test_no_scope_is_asked_that_nothing_uses() -> None:
    needed = {scope for m in called() for scope in _needs(m)} | {EVENTS[e] for e in events()}
    needed |= {GRANTED_WITH[s] for s in needed if s in GRANTED_WITH}
    if manifest()["features"].get("slash_commands"):
        needed.add("commands")
    unused = set(scopes()) - needed
    assert not unused, f"the manifest asks for scopes nothing uses: {unused}"


def test_the_home_tab_is_on_and_its_event_subscribed() -> None:
    home = manifest()["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is True  # pages and CI DMs arrive there
    assert "app_home_opened" in events()
