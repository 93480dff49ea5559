"""`jobs` and `logs`: the jobs of a stack's queues by pipeline run, and one job's output."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone
from typing import Optional

from ..errors import EXIT_FINDINGS, EXIT_OK, RvBatchError
from ..text import plural, table
from .common import add_stack_argument, print_json, seconds_above_zero, stderr
from .global_options import wants_json

COLUMNS = ("COMMAND", "QUEUE", "STATUS", "ATTEMPTS", "STARTED (UTC)", "STOPPED (UTC)",
           "DURATION", "COST (USD)", "JOB ID", "REASON")
# Marks beside a cost: its instance was assumed; it is still running (counted to now); an
# attempt without a price is left out.
ASSUMED_MARK, RUNNING_MARK, UNPRICED_MARK = "~", "+", "?"
CLEAR_SCREEN = "\033[H\033[2J"


def _when(moment: Optional[datetime]) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _duration(span: Optional[timedelta]) -> str:
    if span is None:
        return "-"
    seconds = max(0, int(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def _counts(states: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in states.items())


def usd(amount: float) -> str:
    """$1.23, or $0.0042 below a cent (a short job's share of an instance)."""
    return f"${amount:.2f}" if amount >= 0.01 or amount == 0 else f"${amount:.4f}"


def _cost(job) -> str:
    if job.cost is None or not job.cost.estimates:
        return "-"
    marks = ((ASSUMED_MARK if job.cost.assumed else "") + (RUNNING_MARK if job.cost.running else "")
             + (UNPRICED_MARK if job.cost.unpriced else ""))
    return usd(job.cost.usd) + marks


def spend_rate(report) -> str:
    """The spend rate now: the jobs running at this moment, per hour, beside the totals."""
    running = report.running_now
    total = sum(run.cost_usd for run in report.runs)
    return (f"spend rate now: {usd(report.usd_per_hour_now)}/h for {running} running "
            f"job{'s' if running != 1 else ''} (estimated; {usd(total)} in all shown)")


def cost_notes(report) -> list[str]:
    """The lines under a costed report: how to read the marks, what is not counted."""
    return [f"cost: estimates ({ASSUMED_MARK} instance assumed: the cheapest type that fits, "
            f"ECS no longer knows the one used; {RUNNING_MARK} still running, counted to now; "
            f"{UNPRICED_MARK} an attempt without a known price, left out)",
            *[f"cost: {note}" for note in report.cost_notes]]


def _reason(job) -> str:
    if job.array_size:
        children = f"array of {job.array_size}" + (f": {_counts(job.array_states)}"
                                                    if job.array_states else "")
        return f"[{children}] {job.reason}".rstrip()
    return job.reason


def format_jobs(report) -> str:
    """The report a person reads: one table per pipeline run, then what to do about stuck jobs."""
    from ..aws.jobs.listing import STATES, STUCK_AFTER

    queues = ", ".join(f"{name} ({kind})" for kind, name in report.queues.items())
    lines = [f"stack {report.stack} ({report.region}), queues {queues}: jobs created since "
             f"{_when(report.since)} UTC"]
    if not report.runs:
        narrowed = [f"of run {report.run}"] if report.run else []
        narrowed += [f"in state {', '.join(report.statuses)}"] if report.statuses else []
        lines.append(" ".join(["no jobs", *narrowed, "in that time"]))
        return "\n".join(lines)
    columns = [c for c in COLUMNS if report.costed or c != "COST (USD)"]
    rows = {job.job_id: [job.command, job.kind, job.status, str(job.attempts),
                         _when(job.started), _when(job.stopped),
                         _duration(job.duration(report.now)),
                         *([_cost(job)] if report.costed else []), job.job_id, _reason(job)]
            for job in report.jobs}
    # One set of column widths for every run's table: the runs read as one listing.
    header, *aligned = table([columns, *rows.values()], indent="  ")
    line_of = dict(zip(rows, aligned))

    for run in report.runs:
        states: dict[str, int] = {}
        for job in run.jobs:
            states[job.status] = states.get(job.status, 0) + 1
        ordered = {s: states[s] for s in STATES if s in states}
        title = f"run {run.name}" if run.name else "jobs of no pipeline run"
        cost = f", estimated cost {usd(run.cost_usd)}" if report.costed else ""
        if report.costed and run.usd_per_hour_now:
            cost += f", {usd(run.usd_per_hour_now)}/h now"
        lines += ["", f"{title}: {plural(len(run.jobs), 'job')} ({_counts(ordered)}){cost}",
                  header]
        lines += [line_of[job.job_id] for job in run.jobs]
    if report.costed:
        lines += ["", spend_rate(report), *cost_notes(report)]
    stuck = report.stuck
    if stuck:
        lines.append("")
        for job in stuck:
            said = f"; Batch says: {job.reason}" if job.reason else ""
            lines.append(f"note: {job.command} ({job.job_id}) is RUNNABLE, created "
                         f"{_when(job.created)} UTC{said}")
        minutes = int(STUCK_AFTER.total_seconds() // 60)
        lines.append(f"note: a job RUNNABLE for over {minutes} minutes, or with a reason, is "
                     f"waiting for an instance Batch cannot start: `rv-batch-cfn doctor --stack "
                     f"{report.stack}` checks the compute environments, instance types, zones, "
                     "AMI and images")
    capacity = report.capacity_jobs
    if capacity:
        lines.append("")
        lines += [f"note: {job.command} ({job.job_id}) {report.capacity_advice(job)}"
                  for job in capacity]
    return "\n".join(lines)


def format_cost_only(report) -> str:
    """One line per run, for scripts: the run's name (`-` for jobs of no run), a tab, its
    estimated cost in USD."""
    return "\n".join(f"{run.name or '-'}\t{run.cost_usd:.4f}" for run in report.runs)


def cost_only_data(report) -> dict:
    """--cost-only --json: each run's total, and what the totals leave out."""
    return {"stack": report.stack, "since": report.as_dict()["since"],
            "runs": [{"run": run.name, "cost_usd": round(run.cost_usd, 6)}
                     for run in report.runs],
            "cost_notes": list(report.cost_notes)}


def cmd_jobs(args: argparse.Namespace) -> int:
    """`rv-batch-cfn jobs`: 0; with --watch, 1 when a job shown failed."""
    from ..aws.jobs.listing import parse_since, parse_statuses, read_jobs, watch
    from ..aws.costs.pricing import PriceBook
    from ..aws.clients.session import connect

    now = datetime.now(timezone.utc)
    since = parse_since(args.since, now)
    statuses = parse_statuses(args.status or ())
    if args.cost_only and (args.no_cost or args.watch):
        raise RvBatchError("--cost-only cannot go with " + ("--no-cost" if args.no_cost
                                                           else "--watch"))
    session = connect(args.profile, args.region, args.endpoint_url)
    costs = not args.no_cost
    book = PriceBook(session, session.region_name) if costs else None

    def read():
        return read_jobs(session, args.stack, since, args.run, statuses, costs=costs, book=book)

    if args.cost_only:
        report = read()
        if args.json:
            print_json(cost_only_data(report))
        else:
            if report.runs:
                print(format_cost_only(report))
            for note in report.cost_notes:
                stderr(f"cost: {note}")
        return EXIT_OK
    if not args.watch:
        report = read()
        print(json.dumps(report.as_dict(), indent=2) if args.json else format_jobs(report))
        return EXIT_OK
    report = None
    for report in watch(read, args.interval):
        if args.json:
            print(json.dumps(report.as_dict()), flush=True)
            continue
        if sys.stdout.isatty():
            sys.stdout.write(CLEAR_SCREEN)
        print(format_jobs(report), flush=True)
        if not report.all_ended:
            print(f"\n(every {args.interval:g}s until every job shown has ended; Ctrl-C stops)",
                  flush=True)
    if not args.json:
        stderr("every job shown has ended")
    failed = [j for j in report.jobs if j.status == "FAILED"] if report else []
    return EXIT_FINDINGS if failed else EXIT_OK


def cmd_logs(args: argparse.Namespace) -> int:
    """`rv-batch-cfn logs`: the job's output; 1 when it has none yet. With --output json, one
    JSON document (the log's source and its events); with --follow as well, one JSON object per
    event and line (JSON Lines), as they come."""
    from ..aws.jobs import logs as joblogs
    from ..aws.clients.session import connect

    session = connect(args.profile, args.region, args.endpoint_url)
    batch, logs = session.client("batch"), session.client("logs")
    as_json = wants_json(args)

    def event_data(event) -> dict:
        return {"timestamp": event.timestamp.isoformat(), "message": event.message}

    def show(event) -> None:
        if isinstance(event, joblogs.Note):
            stderr(event.text)
        elif as_json:
            print(json.dumps(event_data(event)), flush=args.follow)
        else:
            stamp = f"{_when(event.timestamp)} " if args.timestamps else ""
            print(f"{stamp}{event.message}", flush=args.follow)

    try:
        if args.follow:
            for event in joblogs.follow(batch, logs, args.job_id, args.index, args.attempt,
                                        args.interval):
                show(event)
            return EXIT_OK
        job = joblogs.find_job(batch, args.job_id, args.index)
        source = joblogs.log_source(batch, job, args.attempt)
        stderr(f"job {source.job_id} ({source.status}), attempt {source.attempt} of "
               f"{source.attempts}: log group {source.group}, stream {source.stream}")
        events = joblogs.read_events(logs, source)[0]
        if as_json:
            print_json({"job_id": source.job_id, "status": source.status,
                        "attempt": source.attempt, "attempts": source.attempts,
                        "log_group": source.group, "log_stream": source.stream,
                        "events": [event_data(e) for e in events
                                   if not isinstance(e, joblogs.Note)]})
            return EXIT_OK
        for event in events:
            show(event)
    except joblogs.NoLogsYet as e:
        stderr(f"rv-batch-cfn logs: {e}")
        return EXIT_FINDINGS
    return EXIT_OK



def register(sub: argparse._SubParsersAction) -> None:
    """Add `jobs` and `logs`."""
    p = sub.add_parser(
        "jobs", help="the jobs of a stack's queues, grouped by pipeline run",
        description="List the jobs of the stack's GPU and CPU queues created since --since, in "
                    "every state, grouped by Raster Vision pipeline run (from the tags of the "
                    "batch_retry runner, or the job name <run>-<command>-<uuid>): the most "
                    "recent run first, each run's jobs in the order they were submitted. Times "
                    "are UTC. Each job's cost is estimated from its attempts' running time, its "
                    "share of the instance (the largest of its vCPUs, GPUs and memory as a "
                    "fraction of the instance's) and the instance's spot or on-demand price at "
                    "the time; instance start-up, idle time, EBS, data transfer and logs are not "
                    "counted (docs/costs.md). Exit 0; with --watch, 1 when a job shown failed; 2 "
                    "when the stack cannot be read.")
    add_stack_argument(p, "the stack's name")
    p.add_argument("--since", default="1d", metavar="WHEN",
                   help="created since: a duration (30m, 12h, 1d, 2w) or a UTC date or time "
                        "(2025-01-31, 2025-01-31T08:00); default 1d")
    p.add_argument("--run", metavar="RUN", help="only the jobs of this pipeline run")
    p.add_argument("--status", action="append", metavar="STATE",
                   help="only jobs in these states (SUBMITTED, PENDING, RUNNABLE, STARTING, "
                        "RUNNING, SUCCEEDED, FAILED; comma-separated or repeated)")
    p.add_argument("--watch", action="store_true",
                   help="refresh until every job shown has ended")
    p.add_argument("--interval", type=seconds_above_zero, default=15.0, metavar="SECONDS",
                   help="seconds between refreshes of --watch (default 15)")
    p.add_argument("--cost-only", action="store_true",
                   help="only each run's estimated cost: one line per run, its name, a tab and "
                        "USD (for scripts; --json: one document)")
    p.add_argument("--no-cost", action="store_true",
                   help="leave out the cost estimates (and the ECS, EC2 and Pricing API calls "
                        "they need)")
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser(
        "logs", help="the output of a job (CloudWatch Logs)",
        description="Print a job's output: the log stream describe_jobs names for it, in the "
                    "log group of its job definition (the stack's). The latest attempt unless "
                    "--attempt; an array job's child with --index. Exit 0; 1 when the job has "
                    "no output yet (not started: the message says why); 2 for an unknown job. "
                    "--output json prints one document (the log's source and its events); with "
                    "--follow, one JSON object per event and line.")
    p.add_argument("job_id", metavar="JOB_ID", help="the job's id (`rv-batch-cfn jobs` lists them)")
    p.add_argument("--index", type=int, metavar="I", help="the child of an array job (0, 1, ...)")
    p.add_argument("--attempt", type=int, metavar="N",
                   help="the attempt to show, from 1 (default: the latest)")
    p.add_argument("--follow", "-f", action="store_true",
                   help="wait for the job to start and print its lines as they come, until it "
                        "ends (a retried attempt is followed too)")
    p.add_argument("--interval", type=seconds_above_zero, default=5.0, metavar="SECONDS",
                   help="seconds between polls of --follow (default 5)")
    p.add_argument("--timestamps", action="store_true", help="prefix each line with its UTC time")
    p.set_defaults(func=cmd_logs)
