"""`smoke-test`: one tiny job per kind on a deployed stack, its statuses as they come, its log."""

from __future__ import annotations

import argparse
import re
import textwrap

from ..errors import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, RvBatchError
from .common import KIND_CHOICES, add_stack_argument, seconds_above_zero, stderr, whole_number

WHY_RUNNABLE = (
    "A job waits in RUNNABLE while Batch launches an instance for it, a few minutes when the "
    "compute environment has scaled to zero. Longer than that usually means one of: no instance "
    "type of the queue offers the job's vCPUs, memory or GPU; the types are not offered in the "
    "subnets' zones; no spot capacity right now (or the spot bid is too low); the account's EC2 "
    "vCPU quota for the family is too low (new accounts often have 0 for 'Running On-Demand G "
    "and VT instances' and 'All G and VT Spot Instance Requests': Service Quotas console); the "
    "instances cannot reach ECS (no route to the internet or VPC endpoints); the compute "
    "environment is INVALID.")


def cmd_smoke_test(args: argparse.Namespace) -> int:
    """`rv-batch-cfn smoke-test`: exit 0 when every job succeeded, 1 when one did not, 2 when
    they could not be submitted, 130 when interrupted (the jobs are then terminated)."""
    from ..aws import smoke
    from ..aws.clients.session import connect

    # What following the jobs imports is loaded before any job starts: a Ctrl-C that lands in
    # an import may not arrive as KeyboardInterrupt (Python 3.11 wraps it in the RuntimeError of
    # a dataclass field's __set_name__), and the jobs would be left running.
    from ..aws import doctor  # noqa: F401
    from ..aws.jobs import capacity, listing  # noqa: F401
    from ..aws.quotas import check  # noqa: F401

    session = connect(args.profile, args.region, args.endpoint_url)
    plan = smoke.plan(session, args.stack, KIND_CHOICES[args.kind])
    print(f"smoke-test: stack {plan.stack} ({plan.region}): one job per kind, up to "
          f"{args.timeout} minutes", flush=True)
    submitted = smoke.submit(session, plan, args.timeout)
    for s in submitted:
        print(f"  {s.job.label} job {s.name} ({s.job_id}) on {s.job.queue} with "
              f"{s.job.definition}: {' '.join(s.job.command)}", flush=True)
    results: dict[str, str] = {}
    capacity_said: set[str] = set()
    try:
        for event in smoke.follow(session, submitted, args.timeout * 60, args.interval,
                                  args.explain_after):
            if event.kind in ("done", "timeout"):  # before its log is read, which may fail
                results[event.submitted.job_id] = event.status if event.kind == "done" \
                    else "TIMEOUT"
            _print_event(session, plan, event)
            _print_capacity(session, plan, event, capacity_said)
    except KeyboardInterrupt:
        left = [s for s in submitted if s.job_id not in results]
        stderr("smoke-test: interrupted; terminating "
               + (", ".join(f"{s.job.label} job {s.job_id}" for s in left) or "nothing"))
        smoke.stop(session, left)
        return EXIT_INTERRUPTED
    except RvBatchError as e:  # a failed call while following: nothing is left running
        left = [s for s in submitted if s.job_id not in results]
        try:
            smoke.stop(session, left)
            state = (f"The jobs not done ({', '.join(s.job_id for s in left)}) were terminated"
                     if left else "Every job had ended")
        except RvBatchError:
            state = ("Terminating the jobs not done failed too: stop them with `aws batch "
                     "terminate-job --job-id ID --reason ...` (" +
                     ", ".join(s.job_id for s in left) + ")")
        raise RvBatchError(f"{str(e).rstrip('.')}. {state}: run smoke-test again") from None
    return _summary(submitted, results)


def _print_event(session, plan, event) -> None:
    label, at = event.submitted.job.label, f"[{event.elapsed:>5.0f}s]"
    reason = f": {event.reason}" if event.reason else ""
    if event.kind == "status":
        print(f"{at} {label} {event.status}{reason}", flush=True)
    elif event.kind == "stuck":
        print(f"{at} {label} RUNNABLE for {event.waited:.0f}s{reason}", flush=True)
        _print_quota(session, plan.stack, event.submitted.job.kind)
        print(_indent(WHY_RUNNABLE), flush=True)
        _print_doctor(session, plan.stack, event.submitted.job.kind)
    elif event.kind == "timeout":
        print(f"{at} {label} not done ({event.status}) when the time ran out: terminated",
              flush=True)
    else:
        code = f" (exit code {event.exit_code})" if event.exit_code not in (None, 0) else ""
        print(f"{at} {label} {event.status}{reason}{code}", flush=True)
        _print_log(session, plan.log_group, label, event.log_stream)


def _print_capacity(session, plan, event, said: set) -> None:
    """Once per job: that it waits for instance capacity, or was cancelled for want of it, the
    queue's time limit for it, and where such jobs can go (the on-demand GPU queue)."""
    from ..aws.jobs import capacity
    from ..aws.jobs.listing import stack_queues

    job = event.submitted
    state = capacity.state(event.status, event.reason)
    if not state or (job.job_id, state) in said:
        return
    said.add((job.job_id, state))
    try:
        queues = stack_queues(session, plan.stack)
        limit = capacity.wait_limits(session.client("batch"), {job.job.kind: job.job.queue})
    except RvBatchError as e:
        print(f"         capacity: the queue's time limit not read: {e}", flush=True)
        return
    advice = capacity.advice(plan.stack, "", job.job.kind, state, limit.get(job.job.queue),
                             "gpu-on-demand" in queues, what="a pipeline run's jobs")
    print(f"         capacity: the {job.job.label} job {advice}", flush=True)


def _print_quota(session, stack: str, kind: str) -> None:
    """The kind's EC2 vCPU quota first, the commonest cause on a new account: whether it holds
    one instance that fits the job, i.e. whether it is the cause."""
    from ..aws.quotas import check

    try:
        found = check.kind_findings(session, stack, kind)
    except RvBatchError as e:
        print(f"         vCPU quota not checked: {e}", flush=True)
        return
    blocking = [f for f in found if f.status == check.PROBLEM]
    for f in blocking:
        # One write: the fix comes with the verdict, whatever stops the command next.
        print(f"         vCPU quota: {f.message}. This is why the job waits.\n"
              f"           fix: {f.fix}", flush=True)
    if blocking:
        return
    for f in found:
        if f.need.value is None or f.need.value.denied:
            print(f"         vCPU quota: {f.message}", flush=True)
        else:
            print(f"         vCPU quota: {f.need.describe()} is {f.need.applied:g} vCPUs, "
                  f"enough for one {f.need.smallest} ({f.need.one_instance} vCPUs): not the "
                  "cause.", flush=True)


def _print_doctor(session, stack: str, kind: str) -> None:
    """doctor's findings about this kind (and those about both)."""
    from ..aws.doctor import OK, QUOTAS, diagnose

    label = kind.upper()
    try:
        diagnosis = diagnose(session, stack)
    except RvBatchError as e:
        print(f"         doctor could not run: {e}", flush=True)
        return
    # Findings name their kind first ("GPU compute environment ...", "GPU and CPU jobs ...").
    # The quota was shown first (_print_quota).
    relevant = [f for f in diagnosis.findings
                if f.status != OK and f.check != QUOTAS
                and label in re.split(r"[:(]", f.message, 1)[0].split()]
    if not relevant:
        print(f"         doctor finds nothing wrong with the {label} setup: spot or instance "
              "capacity is the likeliest cause (`choose-subnets` shows the spot placement "
              "scores); keep waiting, or stop with Ctrl-C.", flush=True)
        return
    print(f"         doctor, on the {label} setup:", flush=True)
    for f in relevant:
        print(f"           {f.status.upper()} {f.check}: {f.message}", flush=True)
        if f.fix:
            print(f"             fix: {f.fix}", flush=True)


def _print_log(session, log_group: str, label: str, stream: str) -> None:
    from ..aws.smoke import read_log

    lines = read_log(session, log_group, stream)
    if not lines:
        print(f"         {label} log: nothing (the container wrote nothing, or never started)",
              flush=True)
        return
    print(f"         {label} log ({log_group}, {stream}):", flush=True)
    for line in lines:
        print(f"           | {line}", flush=True)


def _summary(submitted, results: dict[str, str]) -> int:
    failed = [s for s in submitted if results.get(s.job_id) != "SUCCEEDED"]
    parts = ", ".join(f"{s.job.label} {results.get(s.job_id, '?')}"
                      + (f" ({s.job.checks})" if results.get(s.job_id) == "SUCCEEDED" else "")
                      for s in submitted)
    if failed:
        print(f"smoke-test: {len(failed)} of {len(submitted)} jobs did not succeed: {parts}")
        return EXIT_FINDINGS
    print(f"smoke-test: the stack works: {parts}")
    return EXIT_OK


def _indent(text: str, width: int = 88, prefix: str = "         ") -> str:
    return textwrap.fill(text, width=width, initial_indent=prefix, subsequent_indent=prefix)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `smoke-test`."""
    p = sub.add_parser(
        "smoke-test", help="check that a deployed stack runs jobs: one tiny job per kind",
        description="Submit one tiny job per kind to the stack's queue with its own job "
                    "definition (GPU: nvidia-smi, which shows the GPU in the container; CPU: "
                    "a listing of the first bucket of S3Buckets, else of S3ReadOnlyBuckets, "
                    "which shows the job role reaches S3), print each status as it comes and "
                    "the job's log when it ends. A job RUNNABLE for long gets the usual causes "
                    "and doctor's findings. Ctrl-C terminates the jobs. Exit 0 when every job "
                    "succeeded, 1 when one did not, 2 when they could not be submitted.")
    add_stack_argument(p, "the stack's name")
    p.add_argument("--kind", choices=sorted(KIND_CHOICES), default="all",
                   help="which queue(s) to test (default: all)")
    p.add_argument("--timeout", type=whole_number("minutes"), default=30, metavar="MIN",
                   help="minutes to wait for the jobs before terminating them (default: 30; "
                        "a GPU instance starting from zero and pulling the Raster Vision image "
                        "takes several)")
    p.add_argument("--interval", type=seconds_above_zero, default=5.0, metavar="SECONDS",
                   help="seconds between status checks (default: 5)")
    p.add_argument("--explain-after", type=float, default=90.0, metavar="SECONDS",
                   help="seconds in RUNNABLE before the usual causes and doctor's findings are "
                        "printed (default: 90)")
    p.set_defaults(func=cmd_smoke_test)

