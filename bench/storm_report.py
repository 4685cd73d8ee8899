"""The storms' figures, their Markdown and what misses a target: shared by ``storms.py`` and
``alerts.py``, which both report the runs of ``storm_runs.py``.
"""

import math
from dataclasses import asdict
from typing import Any

from common import percentile
from storm_runs import FEW_DOZEN, TARGET_STATUS_P99_S, TITLES, Result


def figures(result: Result) -> dict[str, Any]:
    taken = [p.took_ms for p in result.probes]
    return {
        "slack_calls": sum(result.calls.values()),
        "status_probes": len(result.probes),
        "status_not_ok": sum(not p.ok for p in result.probes),
        "status_p50_ms": percentile(taken, 50),
        "status_p99_ms": percentile(taken, 99),
        "status_max_ms": max(taken, default=math.nan),
        "status_over_3s": sum(t > TARGET_STATUS_P99_S * 1000 for t in taken),
        "answer_p50_ms": percentile(result.answers_ms, 50),
        "answer_max_ms": max(result.answers_ms, default=math.nan),
    }


def _calls(result: Result) -> str:
    order = ("DM", "channel post", "thread reply", "chat.update", "conversations.open")
    shown = [f"{result.calls.get(k, 0):,} {k}" for k in order if result.calls.get(k)]
    rest = sum(v for k, v in result.calls.items() if k not in order)
    if rest:
        shown.append(f"{rest:,} other")
    return ", ".join(shown) or "none"


def _drained(result: Result) -> str:
    if result.left_queued:
        return f"not within {result.drained_s:,.0f} s: {result.left_queued:,.0f} still queued"
    return f"{result.drained_s:,.1f}"


def markdown(results: list[Result]) -> str:
    out = _storms_table(results)
    out += _targets(results)
    out += _server_logs(results)
    return "\n".join(out)


def _storms_table(results: list[Result]) -> list[str]:
    out = [
        "**The storms** — from the first POST until the outbox had nothing left to send; "
        "`/line status` sent 10 times a second throughout (open loop, 8 clients)",
        "",
        "| case | database | code | POST answered, ms (p50 / max) | pages paged / held | "
        "Slack calls | of them | `@here` | all sent after, s | `/line status`: sent · not ok "
        "· p50 · p99 · max ms · over 3 s |",
        "|---|---|---|--:|--:|--:|---|--:|--:|---|",
    ]
    for r in results:
        if r.skipped:
            out.append(
                f"| {TITLES[r.case]} | {r.database} | {r.code} | skipped: {r.skipped} |||||||"
            )
            continue
        f = figures(r)
        paged = sum(v for k, v in r.pages.items() if k != "held")
        out.append(
            f"| {TITLES[r.case]} | {r.database} | {r.code} | "
            f"{f['answer_p50_ms']:,.0f} / {f['answer_max_ms']:,.0f} | "
            f"{paged:,} / {r.pages.get('held', 0):,} | {f['slack_calls']:,} | {_calls(r)} | "
            f"{r.here:,} | {_drained(r)} | {f['status_probes']} · {f['status_not_ok']} · "
            f"{f['status_p50_ms']:,.0f} · {f['status_p99_ms']:,.0f} · {f['status_max_ms']:,.0f} · "
            f"{f['status_over_3s']} |"
        )
    return out


def _targets(results: list[Result]) -> list[str]:
    """This checkout's runs against the targets (an older checkout's are for comparison)."""
    out = [
        "",
        f"**Targets** (this checkout): a one-request storm costs at most {FEW_DOZEN} Slack calls "
        "(a few dozen); `/line status` p99 under 3 s during every storm.",
        "",
    ]
    for r in results:
        if r.skipped or not r.code.startswith("this"):
            continue
        f = figures(r)
        if r.case != "minute":
            verdict = "met" if f["slack_calls"] <= FEW_DOZEN else "MISSED"
            out.append(f"- {r.database}, {r.case}: {f['slack_calls']} Slack calls — {verdict}")
        ok = f["status_p99_ms"] < TARGET_STATUS_P99_S * 1000 and not f["status_not_ok"]
        out.append(
            f"- {r.database}, {r.case}: `/line status` p99 {f['status_p99_ms']:,.0f} ms, "
            f"{f['status_not_ok']} not ok — {'met' if ok else 'MISSED'}"
        )
    return out


def _server_logs(results: list[Result]) -> list[str]:
    logged = [(r, e) for r in results for e in r.log_errors]
    out = ["", f"**Server logs** (storms): {len(logged)} warnings, errors or tracebacks."]
    for r, entry in logged[:12]:
        lines = entry.splitlines()
        shown = lines[0] if len(lines) == 1 else f"{lines[0][:100]} … {lines[-1]}"
        out.append(f"- {r.database} · {r.case} · {r.code}: `{shown[:220]}`")
    return out


def problems(results: list[Result]) -> list[str]:
    """What makes the script exit 1: this checkout missing a target."""
    found = []
    for r in results:
        if r.skipped or not r.code.startswith("this"):
            continue
        f = figures(r)
        if r.case != "minute" and f["slack_calls"] > FEW_DOZEN:
            found.append(f"{r.database} · {r.case}: {f['slack_calls']} Slack calls")
        if f["status_p99_ms"] >= TARGET_STATUS_P99_S * 1000 or f["status_not_ok"]:
            found.append(f"{r.database} · {r.case}: /line status p99 {f['status_p99_ms']:.0f} ms")
        if r.not_ok_posts:
            found.append(f"{r.database} · {r.case}: {r.not_ok_posts} POSTs not answered 200")
    return found


def as_json(results: list[Result]) -> list[dict[str, Any]]:
    return [{**asdict(r), "figures": figures(r)} for r in results]
