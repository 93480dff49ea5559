"""`choose-subnets`: the subnets whose zones offer the instance types, as a table or JSON."""

from __future__ import annotations

import argparse
from ..errors import EXIT_FINDINGS, EXIT_OK
from ..text import table
from .common import print_json
from .global_options import wants_json


def format_subnet_table(choice) -> str:
    """The table a person reads: a row per subnet, a column per instance type, then the verdict."""
    from ..aws.subnets import no_zone_message

    def price(value):
        return "no price" if value is None else f"${value:.5f}"

    names = list(choice.gpu_types + choice.cpu_types)
    header = ["SUBNET", "ZONE", *names, "ZONE $/H", "USE"]
    body = []
    for r in choice.rows:
        cells = [price(r.prices[n]) if r.offered[n] else "not offered" for n in names]
        body.append([r.subnet_id, r.zone, *cells, price(r.zone_price) if r.eligible else "-",
                     "yes" if r.eligible else "no"])
    lines = table([header, *body])
    lines.append("")
    lines.append("Spot prices are USD per hour now, Linux; ZONE $/H is the cheapest GPU type "
                 "plus the cheapest CPU type.")
    lines += [f"Note: {n}." for n in choice.notes]
    if choice.recommended:
        lines.append(f"Recommended SubnetIds (zones offering every type, cheapest first): "
                     f"{choice.subnet_ids}")
    else:
        lines.append(no_zone_message(choice))
    return "\n".join(lines)


def format_advice(advice, zones) -> str:
    """The spot placement scores of the zones (and the best other regions), then the quota
    warnings; '' when there is nothing to say."""
    lines = []
    for scores in advice.zone_scores:
        head = (f"GPU spot placement scores (1 to 10) for {scores.target_vcpus} vCPUs of "
                f"{', '.join(scores.instance_types)}")
        if scores.refused:
            lines.append(f"{head}: not available ({scores.refused})")
        else:
            lines.append(f"{head}: " + ", ".join(f"{z} {scores.zones.get(z, 'not scored')}"
                                                 for z in zones))
    if advice.region_scores is not None and advice.region_scores.refused:
        lines.append(f"Other regions not scored: {advice.region_scores.refused}")
    elif advice.other_regions:
        lines.append(f"Best-scoring other regions for {advice.region_scores.target_vcpus} "
                     "vCPUs: " + ", ".join(f"{r} {s}" for r, s in advice.other_regions))
    lines += [f"Warning: {w}." for w in advice.warnings]
    return "\n".join(lines)


def cmd_choose_subnets(args: argparse.Namespace) -> int:
    """`rv-batch-cfn choose-subnets`: exit 0 with a recommendation, 1 when no zone qualifies;
    quota warnings never change it (a quota can be raised after deploying)."""
    from ..aws.quotas.advice import subnet_advice
    from ..aws.clients.session import make_session
    from ..aws.subnets import choose_subnets

    session = make_session(args.profile, args.region, args.endpoint_url)
    choice = choose_subnets(session, args.vpc, args.instance_types.split(","))
    advice = subnet_advice(session, choice.gpu_types, choice.cpu_types, args.capacity,
                           args.max_vcpus)
    if wants_json(args):
        print_json({**choice.as_dict(), **advice.as_dict()})
    else:
        table = format_subnet_table(choice).split("\n")
        extra = format_advice(advice, sorted({r.zone for r in choice.rows}))
        # The verdict stays the last line, where a reader (or a script) looks for it.
        print("\n".join([*table[:-1], *([extra] if extra else []), table[-1]]))
    return EXIT_OK if choice.recommended else EXIT_FINDINGS


def _default_types() -> str:
    from ..config import StackConfig

    config = StackConfig()
    return ",".join(config.gpu.instance_types + config.cpu.instance_types)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `choose-subnets`."""
    p = sub.add_parser(
        "choose-subnets", help="pick the SubnetIds whose zones offer the instance types",
        description="For each subnet of a VPC: its zone, whether each instance type is offered "
                    "there and its current spot price. Recommends SubnetIds: the subnets of the "
                    "zones offering every type, cheapest first. Then the spot placement score of "
                    "each zone and of the best other regions for the GPU types, and warnings "
                    "when the account's EC2 vCPU quotas (per region and per account) hold less "
                    "than one instance or --max-vcpus. Exit 1 when no zone offers them all.")
    p.add_argument("--vpc", required=True, metavar="VPC_ID", help="the VPC, e.g. vpc-0123abcd")
    p.add_argument("--instance-types", default=_default_types(), metavar="T1,T2",
                   help="comma-separated instance types, GPU and CPU together (default: the "
                        "template's defaults, %(default)s)")
    p.add_argument("--capacity", choices=("SPOT", "ON_DEMAND"), default="SPOT",
                   help="the capacity the stack will use (GpuCapacity, CpuCapacity): its quotas "
                        "are checked (default: SPOT)")
    p.add_argument("--max-vcpus", type=int, default=_default_max_vcpus(), metavar="N",
                   help="MaximumVCPUs the stack will have: the quotas and spot scores are "
                        "checked for it (default: %(default)s)")
    p.set_defaults(func=cmd_choose_subnets)


def _default_max_vcpus() -> int:
    from ..config import StackConfig

    return StackConfig().max_vcpus
