"""Every monitoring system's webhook body becomes the same alerts; what is no alert is ignored."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.http.alerts import READERS, pagerduty
from bot.http.alerts.ignored import Ignored
from core.alerts.event import AlertEvent, AlertStatus, BadAlertError, Facts

FIXTURES = Path(__file__).parent / "fixtures"
FIRING, RESOLVED = AlertStatus.FIRING, AlertStatus.RESOLVED


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "alertmanager" / f"{name}.json").read_text())


def alerts(provider: str, body: object) -> list[AlertEvent]:
    read = READERS[provider](body)
    assert read and not isinstance(read, Ignored), read
    return read


def alert(provider: str, body: object) -> AlertEvent:
    [one] = alerts(provider, body)
    return one


def ignored(provider: str, body: object) -> str:
    read = READERS[provider](body)
    assert isinstance(read, Ignored) and read == [], read
    return read.why


def refused(provider: str, body: object) -> BadAlertError:
    with pytest.raises(BadAlertError) as bad:
        READERS[provider](body)
    assert bad.value.field in str(bad.value)  # the sender reads the field in the message too
    return bad.value


def test_there_is_a_reader_for_each_supported_source() -> None:
    assert set(READERS) == {"alertmanager", "grafana", "nagios", "pagerduty", "generic"}


@pytest.mark.parametrize("provider", sorted(READERS))
def test_a_body_that_is_not_a_json_object_is_refused(provider: str) -> None:
    assert refused(provider, ["not", "an", "object"]).field == "body"


# Alertmanager ---------------------------------------------------------------------------------


def test_a_firing_alertmanager_group_is_one_alert_per_fingerprint() -> None:
    first, second = alerts("alertmanager", fixture("firing"))
    assert first == AlertEvent(
        source="alertmanager",
        key="f404ecabc8dd5cd7",
        name="InstanceDown",
        status=FIRING,
        summary="Instance localhost:8081 down",
        severity="critical",
        labels={
            "job": "node",
            "group": "production",
            "instance": "localhost:8081",
            "severity": "critical",
            "alertname": "InstanceDown",
        },
        started_at=datetime(2023, 6, 12, 8, 24, 38, 326000, tzinfo=UTC),
        group='{}:{alertname="InstanceDown"}',
        facts=Facts(description="localhost:8081 of job node has been down for more than 1 minute."),
    )
    assert (second.key, second.labels["group"]) == ("f8f08d4e32c61a9d", "canary")


def test_the_resolved_group_resolves_the_same_alerts() -> None:
    resolved = alerts("alertmanager", fixture("resolved"))
    assert [(a.key, a.status) for a in resolved] == [
        ("f404ecabc8dd5cd7", RESOLVED),
        ("f8f08d4e32c61a9d", RESOLVED),
    ]
    firing = alerts("alertmanager", fixture("firing"))
    assert [a.identity for a in resolved] == [a.identity for a in firing]


def test_an_alert_without_a_fingerprint_is_keyed_by_its_labels_whatever_their_order() -> None:
    body = fixture("firing")
    del body["alerts"][0]["fingerprint"]
    reordered = copy.deepcopy(body)
    reordered["alerts"][0]["labels"] = dict(reversed(body["alerts"][0]["labels"].items()))
    key = alerts("alertmanager", body)[0].key
    assert key == alerts("alertmanager", reordered)[0].key
    assert key != alerts("alertmanager", fixture("firing"))[1].key


def test_without_annotations_the_summary_is_the_alert_name_and_instance() -> None:
    body = fixture("firing")
    body["alerts"][0]["annotations"] = {}
    assert alerts("alertmanager", body)[0].summary == "InstanceDown on localhost:8081"


def test_the_summary_annotation_comes_before_the_title() -> None:
    body = fixture("firing")
    body["alerts"][0]["annotations"]["summary"] = "web1 is gone"
    assert alerts("alertmanager", body)[0].summary == "web1 is gone"


def test_a_value_annotation_and_the_generator_url_are_kept() -> None:
    body = fixture("firing")
    body["alerts"][0]["annotations"]["value"] = "0"
    body["alerts"][0]["generatorURL"] = "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0"
    first = alerts("alertmanager", body)[0]
    assert (first.value, first.url) == ("0", "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0")


def test_without_a_generator_url_the_link_is_alertmanagers_own() -> None:
    body = fixture("firing")
    body["externalURL"] = "http://alertmanager:9093"
    assert alerts("alertmanager", body)[0].url == "http://alertmanager:9093"


def test_a_group_without_alerts_is_ignored() -> None:
    body = fixture("firing") | {"alerts": []}
    assert ignored("alertmanager", body) == "the group holds no alerts"


def _broken(change: str) -> dict[str, Any]:
    body = fixture("firing")
    second = body["alerts"][1]
    match change:
        case "no alerts":
            del body["alerts"]
        case "alerts not a list":
            body["alerts"] = {"status": "firing"}
        case "no alertname":
            del second["labels"]["alertname"]
        case "pending":
            second["status"] = "pending"
        case "label not a string":
            second["labels"]["severity"] = 5
        case "bad start":
            second["startsAt"] = "yesterday"
        case "alert not an object":
            body["alerts"][1] = "InstanceDown"
    return body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("no alerts", "alerts"),
        ("alerts not a list", "alerts"),
        ("no alertname", "alerts[1].labels.alertname"),
        ("pending", "alerts[1].status"),
        ("label not a string", "alerts[1].labels.severity"),
        ("bad start", "alerts[1].startsAt"),
        ("alert not an object", "alerts[1]"),
    ],
)
def test_a_malformed_alertmanager_group_is_refused_naming_the_field(
    change: str, field: str
) -> None:
    assert refused("alertmanager", _broken(change)).field == field


# Grafana --------------------------------------------------------------------------------------

# As Grafana's documentation shows its webhook contact point's body (unified alerting).
GRAFANA: dict[str, Any] = {
    "receiver": "andon",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
            "annotations": {
                "description": "The system has high memory usage",
                "runbook_url": "https://myrunbook.com/runbook/1234",
                "summary": "This alert was triggered for zone us-1",
            },
            "startsAt": "2021-10-12T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
            "valueString": "[ var='B' labels={instance=localhost:9090} value=44.23943737541908 ],"
            " [ var='C' labels={instance=localhost:9090} value=1 ]",
        }
    ],
    "groupLabels": {},
    "commonLabels": {"team": "blue", "zone": "us-1"},
    "commonAnnotations": {},
    "externalURL": "https://play.grafana.org/",
    "version": "1",
    "groupKey": "{}:{}",
    "truncatedAlerts": 0,
    "title": "[FIRING:1]  (blue us-1)",
    "state": "alerting",
    "message": "**Firing**\n\nLabels:\n - alertname = High memory usage\n",
}


def test_a_grafana_alert_carries_its_evaluated_value_and_its_rule() -> None:
    fired = alert("grafana", GRAFANA)
    assert (fired.source, fired.key, fired.name, fired.status) == (
        "grafana",
        "c6eadffa33fcdf37",
        "High memory usage",
        FIRING,
    )
    assert fired.summary == "This alert was triggered for zone us-1"
    assert fired.value == GRAFANA["alerts"][0]["valueString"]
    assert fired.url == "https://play.grafana.org/alerting/1afz29v7z/edit"
    assert fired.started_at == datetime(2021, 10, 12, 7, 51, 3, 157076, tzinfo=UTC)
    assert fired.labels["team"] == "blue"


def test_a_grafana_alert_links_to_its_panel_first() -> None:
    body = copy.deepcopy(GRAFANA)
    body["alerts"][0]["dashboardURL"] = "https://play.grafana.org/d/abc"
    body["alerts"][0]["panelURL"] = "https://play.grafana.org/d/abc?viewPanel=2"
    assert alert("grafana", body).url == "https://play.grafana.org/d/abc?viewPanel=2"


def test_without_a_value_string_grafanas_values_are_shown() -> None:
    body = copy.deepcopy(GRAFANA)
    del body["alerts"][0]["valueString"]
    assert alert("grafana", body).value == "B=44.23943737541908, C=1"


def test_grafanas_legacy_alerting_body_is_refused() -> None:
    legacy = {"ruleName": "Panel Title alert", "state": "alerting", "evalMatches": []}
    assert refused("grafana", legacy).field == "alerts"


# Nagios ---------------------------------------------------------------------------------------


def nagios(kind: str, **macros: str) -> dict[str, str]:
    """A service notification as contrib/nagios/andon-notify posts it."""
    service = {
        "NOTIFICATIONTYPE": kind,
        "HOSTNAME": "web1",
        "SERVICEDESC": "HTTP",
        "SERVICESTATE": "CRITICAL",
        "SERVICEOUTPUT": "connect to address 10.0.0.5 and port 80: Connection refused",
        "SERVICEPROBLEMID": "4711",
        "LASTSERVICEPROBLEMID": "4650",
    }
    return {**service, **macros}


def nagios_host(kind: str, **macros: str) -> dict[str, str]:
    host = {
        "NOTIFICATIONTYPE": kind,
        "HOSTNAME": "db2",
        "HOSTSTATE": "DOWN",
        "HOSTOUTPUT": "PING CRITICAL - Packet loss = 100%",
        "HOSTPROBLEMID": "812",
        "LASTHOSTPROBLEMID": "790",
    }
    return {**host, **macros}


def test_a_nagios_service_problem_fires_keyed_by_its_problem_id() -> None:
    assert alert("nagios", nagios("PROBLEM")) == AlertEvent(
        source="nagios",
        key="4711",
        name="HTTP",
        status=FIRING,
        summary="HTTP on web1 is CRITICAL: connect to address 10.0.0.5 and port 80: "
        "Connection refused",
        severity="critical",
        labels={"host": "web1", "service": "HTTP", "severity": "critical"},
    )


def test_a_recovery_resolves_the_problem_by_its_last_problem_id() -> None:
    recovery = nagios(
        "RECOVERY",
        SERVICESTATE="OK",
        SERVICEOUTPUT="HTTP OK: HTTP/1.1 200 OK",
        SERVICEPROBLEMID="0",
        LASTSERVICEPROBLEMID="4711",
    )
    resolved = alert("nagios", recovery)
    assert (resolved.key, resolved.status, resolved.severity) == ("4711", RESOLVED, None)
    assert resolved.identity == alert("nagios", nagios("PROBLEM")).identity


def test_a_recovery_that_still_carries_its_problem_id_is_keyed_by_it() -> None:
    recovery = nagios("RECOVERY", SERVICESTATE="OK", LASTSERVICEPROBLEMID="4650")
    assert alert("nagios", recovery).key == "4711"


def test_a_host_problem_without_a_service_fires_keyed_by_the_host_problem_id() -> None:
    fired = alert("nagios", nagios_host("PROBLEM"))
    assert (fired.key, fired.name, fired.summary, fired.labels) == (
        "812",
        "db2",
        "db2 is DOWN: PING CRITICAL - Packet loss = 100%",
        {"host": "db2", "severity": "critical"},
    )


def test_a_host_recovery_resolves_by_the_last_host_problem_id() -> None:
    recovery = nagios_host("RECOVERY", HOSTSTATE="UP", HOSTPROBLEMID="0", LASTHOSTPROBLEMID="812")
    assert (alert("nagios", recovery).key, alert("nagios", recovery).status) == ("812", RESOLVED)


@pytest.mark.parametrize("kind", ["ACKNOWLEDGEMENT", "FLAPPINGSTART", "DOWNTIMESTART", "CUSTOM"])
def test_nagios_notifications_that_are_no_problem_or_recovery_are_ignored(kind: str) -> None:
    assert kind in ignored("nagios", nagios(kind))


def test_macro_names_in_lower_case_and_numeric_ids_are_read_alike() -> None:
    lower: dict[str, object] = {name.lower(): value for name, value in nagios("PROBLEM").items()}
    lower["serviceproblemid"] = 4711
    assert alert("nagios", lower) == alert("nagios", nagios("PROBLEM"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (nagios("PROBLEM", SERVICEPROBLEMID="0"), "SERVICEPROBLEMID"),
        (
            nagios("RECOVERY", SERVICEPROBLEMID="0", LASTSERVICEPROBLEMID="0"),
            "LASTSERVICEPROBLEMID",
        ),
        (nagios_host("PROBLEM", HOSTPROBLEMID=""), "HOSTPROBLEMID"),
        ({"HOSTNAME": "web1", "SERVICEPROBLEMID": "1"}, "NOTIFICATIONTYPE"),
        (nagios("PROBLEM", HOSTNAME=""), "HOSTNAME"),
    ],
)
def test_a_nagios_notification_without_what_identifies_it_is_refused(
    body: dict[str, str], field: str
) -> None:
    assert refused("nagios", body).field == field


# PagerDuty Events API v2 ----------------------------------------------------------------------


def trigger(**fields: Any) -> dict[str, Any]:
    event = {
        "routing_key": "secret",
        "event_action": "trigger",
        "dedup_key": "disk-web1",
        "payload": {
            "summary": "Disk on web1 is 97% full",
            "source": "web1.example.com",
            "severity": "error",
            "component": "postgres",
            "group": "prod-datapipe",
            "class": "disk",
            "timestamp": "2024-03-01T10:00:00.000+00:00",
            "custom_details": {"free space": "1.2GB", "ping time": 1500, "nested": {"a": 1}},
        },
        "links": [{"href": "https://grafana.example.com/d/disk", "text": "Disk"}],
    }
    return event | fields


def test_a_pagerduty_trigger_fires_keyed_by_its_dedup_key() -> None:
    assert alert("pagerduty", trigger()) == AlertEvent(
        source="pagerduty",
        key="disk-web1",
        name="Disk on web1 is 97% full",
        status=FIRING,
        summary="Disk on web1 is 97% full",
        severity="error",
        url="https://grafana.example.com/d/disk",
        labels={
            "free space": "1.2GB",
            "ping time": "1500",
            "source": "web1.example.com",
            "component": "postgres",
            "group": "prod-datapipe",
            "class": "disk",
            "severity": "error",
        },
        started_at=datetime(2024, 3, 1, 10, 0, tzinfo=UTC),
        facts=Facts(
            origin="web1.example.com",
            links=(("Disk", "https://grafana.example.com/d/disk"),),
            details=(("free space", "1.2GB"), ("ping time", "1500"), ("nested", '{"a": 1}')),
        ),
    )


def test_a_trigger_without_a_dedup_key_gets_one_from_its_summary_and_source() -> None:
    body = trigger()
    del body["dedup_key"]
    key = alert("pagerduty", body).key
    assert key == alert("pagerduty", copy.deepcopy(body)).key
    body["payload"]["summary"] = "Disk on web1 is 99% full"
    assert alert("pagerduty", body).key != key


def test_a_pagerduty_resolve_resolves_its_dedup_key() -> None:
    resolve = {"routing_key": "secret", "event_action": "resolve", "dedup_key": "disk-web1"}
    resolved = alert("pagerduty", resolve)
    assert (resolved.key, resolved.status) == ("disk-web1", RESOLVED)
    assert resolved.identity == alert("pagerduty", trigger()).identity


def test_a_pagerduty_acknowledge_is_ignored() -> None:
    acknowledge = {"routing_key": "secret", "event_action": "acknowledge", "dedup_key": "disk-web1"}
    assert "acknowledged in Slack" in ignored("pagerduty", acknowledge)


def _without(field: str) -> dict[str, Any]:
    body = trigger()
    del body["payload"][field]
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (trigger(event_action="escalate"), "event_action"),
        ({"routing_key": "secret"}, "event_action"),
        ({"routing_key": "secret", "event_action": "resolve"}, "dedup_key"),
        (trigger(payload=None), "payload"),
        (_without("summary"), "payload.summary"),
        (_without("source"), "payload.source"),
        (trigger(payload=trigger()["payload"] | {"severity": "major"}), "payload.severity"),
        (trigger(links=[{"href": 7}]), "links[0].href"),
    ],
)
def test_a_malformed_pagerduty_event_is_refused_naming_the_field(
    body: dict[str, Any], field: str
) -> None:
    assert refused("pagerduty", body).field == field


@pytest.mark.parametrize(
    ("body", "secret", "expected"),
    [
        ({"routing_key": "secret"}, "secret", True),
        ({"routing_key": "guessed"}, "secret", False),
        ({}, "secret", False),
        ({"routing_key": ""}, None, False),
        (["routing_key", "secret"], "secret", False),
    ],
)
def test_only_the_webhook_secret_as_routing_key_authenticates(
    body: object, secret: str | None, expected: bool
) -> None:
    assert pagerduty.authenticated(body, secret) is expected


# Generic --------------------------------------------------------------------------------------


def test_the_generic_payload_of_the_design_is_one_alert() -> None:
    body = {
        "name": "signups_low",
        "status": "firing",
        "severity": "critical",
        "summary": "Signups are below 1/min",
        "fingerprint": "signups-eu",
        "value": 0.0,
    }
    assert alert("generic", body) == AlertEvent(
        source="generic",
        key="signups-eu",
        name="signups_low",
        status=FIRING,
        summary="Signups are below 1/min",
        severity="critical",
        value="0.0",
        labels={"alertname": "signups_low", "severity": "critical"},
    )


def test_a_generic_alert_without_a_fingerprint_is_keyed_by_its_name() -> None:
    resolved = alert("generic", {"name": "signups_low", "status": "resolved"})
    assert (resolved.key, resolved.status, resolved.summary) == (
        "signups_low",
        RESOLVED,
        "signups_low resolved",
    )


def test_generic_labels_and_url_are_kept_for_routes_and_people() -> None:
    body = {
        "name": "queue_depth",
        "status": "firing",
        "url": "https://metrics.example.com/queue",
        "labels": {"team": "payments"},
    }
    fired = alert("generic", body)
    assert fired.url == "https://metrics.example.com/queue"
    assert fired.labels == {"team": "payments", "alertname": "queue_depth"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "firing"}, "name"),
        ({"name": "  ", "status": "firing"}, "name"),
        ({"name": "signups_low"}, "status"),
        ({"name": "signups_low", "status": "pending"}, "status"),
        ({"name": "signups_low", "status": "firing", "value": [1]}, "value"),
        ({"name": "signups_low", "status": "firing", "url": "ftp://x"}, "url"),
        ({"name": "signups_low", "status": "firing", "labels": {"team": 1}}, "labels.team"),
        ({"name": "signups_low", "status": "firing", "severity": "x" * 40}, "severity"),
    ],
)
def test_a_malformed_generic_alert_is_refused_naming_the_field(body: dict, field: str) -> None:
    assert refused("generic", body).field == field
