"""Bodies as the real senders build them, each from the sender's own documentation or source
(where each came from is said beside it). Tests change a field or two and post them as they are.

``SECRET`` is filled in where a sender carries the webhook secret in the body (PagerDuty's
``routing_key``).
"""

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

from tests.harness import WEBHOOK_SECRET

FIXTURES = Path(__file__).parent / "fixtures"

# PagerDuty Events API v2, "Send an Alert Event": the trigger example of PagerDuty's developer
# documentation (developer.pagerduty.com/docs/send-alert-event), field for field; the client
# libraries (pdpyras EventsAPISession.trigger, pagerduty EventsApiV2Client) send this shape to
# BASE/v2/enqueue.
PAGERDUTY_TRIGGER: dict[str, Any] = {
    "payload": {
        "summary": "DISK at 99% on machine prod-datapipe03.example.com",
        "timestamp": "2015-07-17T08:42:58.315+0000",
        "severity": "critical",
        "source": "prod-datapipe03.example.com",
        "component": "mysql",
        "group": "prod-datapipe",
        "class": "deploy",
        "custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75},
    },
    "routing_key": WEBHOOK_SECRET,
    "dedup_key": "srv01/mysql",
    "images": [
        {
            "src": "https://chart.googleapis.com/chart?chs=600x400&chd=t:6,2,9,5,2,5,7,4,8,2,1"
            "&cht=lc&chds=a&chxt=y&chm=D,0033FF,0,0,5,1",
            "href": "https://example.com/",
            "alt": "An example link with an image",
        }
    ],
    "links": [{"href": "https://example.com/", "text": "Link text"}],
    "event_action": "trigger",
    "client": "Sample Monitoring Service",
    "client_url": "https://monitoring.example.com",
}

# The same documentation's resolve: only the routing key, the action and the dedup key.
PAGERDUTY_RESOLVE: dict[str, Any] = {
    "routing_key": WEBHOOK_SECRET,
    "event_action": "resolve",
    "dedup_key": "srv01/mysql",
}

# Alertmanager 0.25's PagerDuty sender (notify/pagerduty/pagerduty.go, notifyV2, with the default
# templates of template/default.tmpl): source and client are "Alertmanager", the summary is
# "[FIRING:n] <group labels>", severity "error" unless configured, dedup_key the SHA-256 of the
# group key, custom_details the firing and resolved instances; images and links empty lists.
ALERTMANAGER_PAGERDUTY: dict[str, Any] = {
    "routing_key": WEBHOOK_SECRET,
    "event_action": "trigger",
    "dedup_key": hashlib.sha256(b'{}/{}:{alertname="InstanceDown"}').hexdigest(),
    "client": "Alertmanager",
    "client_url": "http://alertmanager.example.com:9093/#/alerts?receiver=andon-pagerduty",
    "images": [],
    "links": [],
    "payload": {
        "summary": "[FIRING:1] InstanceDown (localhost:8081 node production critical)",
        "source": "Alertmanager",
        "severity": "error",
        "custom_details": {
            "firing": "Labels:\n - alertname = InstanceDown\n - instance = localhost:8081\n"
            "Annotations:\n - title = Instance localhost:8081 down\nSource: \n",
            "num_firing": "1",
            "num_resolved": "0",
            "resolved": "",
        },
    },
}

# Grafana's contact-point Test button with the default test alert: labels and annotations from
# Grafana's TestReceivers (pkg/services/ngalert: alertname=TestAlert, instance=Grafana, summary
# "Notification test", __value_string__ as valueString), in the webhook notifier's body
# (grafana/alerting notify/receivers/webhook: Alertmanager's v4 body plus orgId, title, state,
# message and each alert's silenceURL, dashboardURL, panelURL, values, valueString).
GRAFANA_TEST: dict[str, Any] = {
    "receiver": "andon",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "TestAlert", "instance": "Grafana"},
            "annotations": {"summary": "Notification test"},
            "startsAt": "2026-11-26T13:58:12.085355886Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": "57c6d9296de2ad39",
            "silenceURL": "https://grafana.example.com/alerting/silence/new?alertmanager=grafana"
            "&matcher=alertname%3DTestAlert&matcher=instance%3DGrafana",
            "dashboardURL": "",
            "panelURL": "",
            "values": None,
            "valueString": "[ metric='foo' labels={instance=bar} value=10 ]",
        }
    ],
    "groupLabels": {},
    "commonLabels": {"alertname": "TestAlert", "instance": "Grafana"},
    "commonAnnotations": {"summary": "Notification test"},
    "externalURL": "https://grafana.example.com/",
    "version": "1",
    "groupKey": '{alertname="TestAlert", instance="Grafana"}2022-04-05 22:16:47.085355886',
    "truncatedAlerts": 0,
    "title": "[FIRING:1]  (TestAlert Grafana)",
    "state": "alerting",
    "message": "**Firing**\n\nValue: [no value]\nLabels:\n - alertname = TestAlert\n"
    " - instance = Grafana\nAnnotations:\n - summary = Notification test\n",
}


def grafana_firing() -> dict[str, Any]:
    """Grafana's webhook documentation's firing example (the body of its "Webhook" contact point
    page), with the ``imageURL`` the notifier adds when the rule has a screenshot."""
    body = copy.deepcopy(GRAFANA_TEST)
    body["groupKey"] = "{}:{}"
    body["commonLabels"] = {"team": "blue", "zone": "us-1"}
    body["commonAnnotations"] = {}
    body["alerts"] = [
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
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana"
            "&matchers=alertname%3DT1%2Cteam%3Dblue%2Czone%3Dus-1",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
            "valueString": "[ var='B' labels={__name__=go_threads, "
            "instance=host.docker.internal:3000, job=grafana} value=44 ], [ var='C' "
            "labels={__name__=go_threads, instance=host.docker.internal:3000, job=grafana} "
            "value=1 ]",
            "imageURL": "https://grafana.example.com/public/img/attachments/memory-usage.png",
        }
    ]
    body["title"] = "[FIRING:1]  (blue us-1)"
    return body


def nagios_service(state: str, output: str, *, kind: str = "PROBLEM") -> list[str]:
    """The arguments docs/alerts.md has Nagios pass to contrib/nagios/andon-notify for a service
    notification (``notify-service-by-andon``), with the macro values Nagios's documentation
    gives them: SERVICEPROBLEMID stays the same while the service moves between non-OK states
    (WARNING → CRITICAL), and is 0 at recovery, LASTSERVICEPROBLEMID then naming the problem."""
    recovered = kind == "RECOVERY"
    return [
        f"NOTIFICATIONTYPE={kind}",
        "HOSTNAME=web1",
        "SERVICEDESC=HTTP",
        f"SERVICESTATE={state}",
        f"SERVICEOUTPUT={output}",
        f"SERVICEPROBLEMID={0 if recovered else 4711}",
        f"LASTSERVICEPROBLEMID={4711 if recovered else 4650}",
    ]


def alertmanager_firing() -> dict[str, Any]:
    """Alertmanager's webhook (version 4) from the shared fixture, one alert, with the annotations
    Prometheus's alerting-rule documentation and the kube-prometheus rules give (``summary``,
    ``description``, ``runbook_url``, a ``value`` of ``{{ $value }}``) and its ``generatorURL``."""
    body = json.loads((FIXTURES / "alertmanager" / "firing.json").read_text())
    body["alerts"] = body["alerts"][:1]
    body["alerts"][0]["annotations"] = {
        "summary": "Instance localhost:8081 down",
        "description": "localhost:8081 of job node has been down for more than 1 minute.",
        "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/general/targetdown",
        "value": "0",
    }
    body["alerts"][0]["generatorURL"] = "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0"
    return body


def alertmanager_resolved() -> dict[str, Any]:
    """The same group resolved, as Alertmanager sends it (status resolved, endsAt set), with a
    variation of ours: annotations that say how it ended (up again, value 1)."""
    body = alertmanager_firing()
    body["status"] = "resolved"
    alert = body["alerts"][0]
    alert["status"] = "resolved"
    alert["endsAt"] = "2023-06-12T08:31:38.326Z"
    alert["annotations"] = alert["annotations"] | {
        "summary": "Instance localhost:8081 is up again",
        "value": "1",
    }
    return body
