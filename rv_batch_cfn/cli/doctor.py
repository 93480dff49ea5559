"""`doctor`: the checks of a deployed stack, printed as a report or JSON."""

from __future__ import annotations

import argparse
from ..errors import EXIT_FINDINGS, EXIT_OK
from .common import add_stack_argument, print_json, stack_argument
from .global_options import wants_json

_MARKS = {"ok": "ok", "problem": "PROBLEM", "note": "note", "warning": "WARNING"}


def format_report(diagnosis) -> str:
    """The report a person reads: one line per finding, each problem followed by its fix."""
    also = (f", job definitions of {diagnosis.job_def_stack}" if diagnosis.job_def_stack
            else "")
    lines = [f"doctor: stack {diagnosis.stack}{also} ({diagnosis.region})"]
    width = max(len(f.check) for f in diagnosis.findings) if diagnosis.findings else 0
    for f in diagnosis.findings:
        lines.append(f"  {_MARKS[f.status]:<8} {f.check:<{width}}  {f.message}")
        if f.fix:
            lines.append(f"  {'':<8} {'':<{width}}  fix: {f.fix}")
    count, warned = len(diagnosis.problems), len(diagnosis.warnings)
    summary = ("no problems found" if not count else
               f"{count} problem{'s' if count != 1 else ''} found")
    if warned:
        summary += f", {warned} warning{'s' if warned != 1 else ''}"
    lines.append(summary)
    return "\n".join(lines)


def cmd_doctor(args: argparse.Namespace) -> int:
    """`rv-batch-cfn doctor`: exit 0 when healthy, 1 when problems were found."""
    from ..aws.doctor import diagnose
    from ..aws.clients.session import make_session

    diagnosis = diagnose(make_session(args.profile, args.region, args.endpoint_url), args.stack,
                         args.job_def_stack)
    if wants_json(args):
        print_json(diagnosis.as_dict())
    else:
        print(format_report(diagnosis))
    return EXIT_OK if diagnosis.healthy else EXIT_FINDINGS


def register(sub: argparse._SubParsersAction) -> None:
    """Add `doctor`."""
    p = sub.add_parser(
        "doctor", help="check a deployed stack for what leaves jobs stuck",
        description="Check a deployed stack: compute environments ENABLED and VALID; each job "
                    "definition fits an instance type of its queue, with room for its shared "
                    "memory; the GPU types have GPUs the Amazon Linux 2023 NVIDIA AMIs drive; "
                    "the instance types are "
                    "offered in the subnets' zones; the AMI override exists and differs between "
                    "CPU and GPU; the ECR images exist; the Raster Vision config names this "
                    "stack; a note when Raster Vision's stock `batch` runner, installed here, "
                    "would replace the job definitions' retries; each kind's EC2 vCPU quota (spot "
                    "or on-demand, per region and per account) holds one instance that fits its "
                    "job (a note below MaximumVCPUs; request-quota requests it). Notes say "
                    "whether the queues cancel jobs that can never run, the compute environments "
                    "scale to zero, notifications are on, and the zones score low for spot GPU "
                    "capacity. Exit 0 when nothing is wrong, 1 when problems were "
                    "found, 2 when "
                    "the stack cannot be read.")
    add_stack_argument(p, "the stack's name")
    p.add_argument("--job-def-stack", metavar="NAME", type=stack_argument,
                   help="a per-project job-definitions stack deployed for --stack: its job "
                        "definitions are checked (and expected in Raster Vision's config, as "
                        "rv-config --job-def-stack writes it) instead of the main stack's")
    p.set_defaults(func=cmd_doctor)
