"""`rerun`: submit again the commands of a pipeline run that did not succeed."""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timezone

from ..errors import EXIT_OK
from .common import add_stack_argument, print_json, progress
from .global_options import wants_json

# A pipeline run's name is part of its jobs' names, which Batch allows only these characters.
RUN_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
CHECKPOINTS = "docs/raster-vision.md, 'Training resumes after a spot reclaim'"


def run_name(text: str) -> str:
    """argparse type of RUN: a pipeline run's name."""
    if RUN_NAME.fullmatch(text):
        return text
    from ..errors import quote

    raise argparse.ArgumentTypeError(
        f"got {quote(text)}; allowed: a pipeline run's name, as `rv-batch-cfn jobs` shows it "
        "(letters, digits, - and _, at most 128 characters, as in Batch job names)")


def format_plan(plan, dry_run: bool) -> list[str]:
    """The plan as lines: the attempt, each command kept or submitted, where and after what."""
    head = (f"rerun {plan.run} on stack {plan.stack} ({plan.region}): attempt {plan.attempt}"
            + (", GPU jobs on the on-demand queue" if plan.on_demand else ""))
    if plan.resumed:
        head += (" (resumed: an earlier rerun submitted "
                 + ", ".join(f"{c} {i}" for c, i in plan.already.items()) + ")")
    lines = [head]
    for job in plan.succeeded:
        lines.append(f"  keep    {job.command}: SUCCEEDED ({job.job_id})")
    verb = "would submit" if dry_run else "submit"
    for step in plan.steps:
        after = ", ".join(c for c, _ in step.after) or "nothing"
        size = (step.request.get("arrayProperties") or {}).get("size")
        lines.append(f"  {verb:<7} {step.command}" + (f" (array of {size})" if size else "")
                     + f" to {step.queue} after {after}; replaces {step.replaces.job_id} "
                     f"({step.replaces.status}" + (f": {step.replaces.reason}"
                                                   if step.replaces.reason else "") + ")")
        if step.resume_note:
            lines.append(f"          {step.command} {step.resume_note} ({CHECKPOINTS})")
    if not plan.steps:
        lines.append("  nothing to submit: every command of the run succeeded")
    return lines


def cmd_rerun(args: argparse.Namespace) -> int:
    """`rv-batch-cfn rerun`: 0 when submitted (or nothing to submit, or a dry run); 2 when the
    run cannot be rerun (still running, unknown) or a call failed."""
    from ..aws.jobs import rerun
    from ..aws.jobs.listing import parse_since
    from ..aws.clients.session import connect

    since = parse_since(args.since, datetime.now(timezone.utc))
    session = connect(args.profile, args.region, args.endpoint_url)
    say = progress(args)
    plan = rerun.plan(session, args.stack, args.run, since, on_demand=args.on_demand)
    for line in format_plan(plan, args.dry_run):
        say(line)
    if args.dry_run:
        say("Dry run: nothing submitted.")
    elif plan.steps:
        rerun.submit(session, plan, say)
        say(f"Submitted {len(plan.steps)} job{'s' if len(plan.steps) != 1 else ''} of run "
            f"{plan.run}, attempt {plan.attempt}: `rv-batch-cfn jobs --stack {plan.stack} "
            f"--run {plan.run} --watch` follows them.")
    if wants_json(args):
        print_json({**plan.as_dict(), "dry_run": args.dry_run})
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `rerun`."""
    p = sub.add_parser(
        "rerun", help="submit again the commands of a pipeline run that did not succeed",
        description="Submit again the jobs of a Raster Vision pipeline run that failed, were "
                    "cancelled, or never ran because a job they depend on failed, in the run's "
                    "order, each new job depending on the new jobs of the commands the old one "
                    "depended on. Each keeps its job definition revision, command, environment "
                    "and resource overrides, array size, retry strategy, timeout and tags, and "
                    "gets the tags of the run, its command and the attempt "
                    f"(rv-batch-cfn:run-attempt), so `jobs` and `costs` show one run. Commands "
                    "whose latest job succeeded are not submitted again. A run with a job not "
                    "ended is refused. When a call fails part-way, running the same command "
                    "again submits only what is missing. A train job resumes from its last "
                    "synced epoch when root_uri is in a bucket of S3Buckets. Exit 0 when "
                    "submitted (or nothing to submit, or --dry-run), 2 when refused or a call "
                    "failed.")
    p.add_argument("run", metavar="RUN", type=run_name,
                   help="the pipeline run's name (`rv-batch-cfn jobs` lists them)")
    add_stack_argument(p, "the stack's name")
    p.add_argument("--on-demand", action="store_true",
                   help="send the GPU jobs to the stack's on-demand GPU queue (its parameter "
                        "GpuOnDemandMaximumVCPUs above 0), for jobs spot capacity cannot place")
    p.add_argument("--dry-run", action="store_true", help="show the plan; submit nothing")
    p.add_argument("--since", default="7d", metavar="WHEN",
                   help="the run's jobs created since: a duration (12h, 7d, 2w) or a UTC date "
                        "or time; default 7d (Batch keeps ended jobs for about a week)")
    p.set_defaults(func=cmd_rerun)
