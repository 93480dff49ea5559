"""`choose-subnets`: the subnets whose zones offer the instance types, as a table or JSON."""

from __future__ import annotations

import argparse
from ..errors import EXIT_FINDINGS, EXIT_OK
from .common import print_json
from .global_options import wants_json


def format_subnet_table(choice) -> str:
    """The table a person reads: a row per subnet, a column per instance type, then the verdict."""
    from ..account.subnets import no_zone_message

    def price(value):
        return "no price" if value is None else f"${value:.5f}"

    names = list(choice.gpu_types + choice.cpu_types)
    header = ["SUBNET", "ZONE", *names, "ZONE $/H", "USE"]
    body = []
    for r in choice.rows:
        cells = [price(r.prices[n]) if r.offered[n] else "not offered" for n in names]
        body.append([r.subnet_id, r.zone, *cells, price(r.zone_price) if r.eligible else "-",
                     "yes" if r.eligible else "no"])
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
             for row in [header, *body]]
    lines.append("")
    lines.append("Spot prices are USD per hour now, Linux; ZONE $/H is the cheapest GPU type "
                 "plus the cheapest CPU type.")
    if choice.recommended:
        lines.append(f"Recommended SubnetIds (zones offering every type, cheapest first): "
                     f"{choice.subnet_ids}")
    else:
        lines.append(no_zone_message(choice))
    return "\n".join(lines)


def cmd_choose_subnets(args: argparse.Namespace) -> int:
    """`rv-batch-cfn choose-subnets`: exit 0 with a recommendation, 1 when no zone qualifies."""
    from ..account.session import make_session
    from ..account.subnets import choose_subnets

    choice = choose_subnets(make_session(args.profile, args.region, args.endpoint_url), args.vpc,
                            args.instance_types.split(","))
    if wants_json(args):
        print_json(choice.as_dict())
    else:
        print(format_subnet_table(choice))
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
                    "zones offering every type, cheapest first. Exit 1 when no zone offers them "
                    "all.")
    p.add_argument("--vpc", required=True, metavar="VPC_ID", help="the VPC, e.g. vpc-0123abcd")
    p.add_argument("--instance-types", default=_default_types(), metavar="T1,T2",
                   help="comma-separated instance types, GPU and CPU together (default: the "
                        "template's defaults, %(default)s)")
    p.set_defaults(func=cmd_choose_subnets)
