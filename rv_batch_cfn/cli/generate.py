"""The generators: `template`, `job-def-template`, `packer-template`, `parameters-page`, and
`lint`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from ..errors import EXIT_FINDINGS, EXIT_OK, RvBatchError
from ..template import JOB_DEFINITIONS_PATH, TEMPLATE_PATH
from .common import load_config, print_json, stderr
from .global_options import region_argument
from .global_options import wants_json


def emit_generated(text: str, output: str, lint: bool = True) -> None:
    """Write a generated file: lint `text` first when it is a CloudFormation template
    (LintError on any error or warning), then write it atomically to `output`, or to standard
    output when `output` is '-'. The output path is checked before any of that work."""
    from ..lint import check_template
    from ..files import writable_target, write_atomic

    _check_output_path(output)
    if output != "-":
        writable_target(output)  # refuse a directory, a pipe, a read-only file before linting
    if lint:
        check_template(text, cache=True)
    if output == "-":
        sys.stdout.write(text)
        return
    write_atomic(output, text)
    stderr(f"wrote {output}" + (" (cfn-lint: clean)" if lint else ""))


def cmd_template(args: argparse.Namespace) -> int:
    """`template`: the main template for the configuration."""
    from ..aws.ami.last import last_ami_hint
    from ..render import render_yaml
    from ..template import build_template

    config = load_config(args.config)
    emit_generated(render_yaml(build_template(config)), args.output, lint=not args.no_lint)
    # The template's GpuAMI default is gpu.ami; the AMI create-ami built is only pointed to.
    hint = last_ami_hint(config.gpu.ami, "to use it, paste it as GpuAMI in the console, "
                         "pass --param GpuAMI={ami} to `rv-batch-cfn deploy`, or set gpu.ami "
                         "in the --config file")
    if hint:
        stderr(f"hint: {hint}")
    return EXIT_OK


def cmd_job_def_template(args: argparse.Namespace) -> int:
    """`job-def-template`: the per-project job-definitions template for the configuration."""
    from ..render import render_yaml
    from ..template import build_job_definitions_template

    emit_generated(render_yaml(build_job_definitions_template(load_config(args.config))),
                  args.output, lint=not args.no_lint)
    return EXIT_OK


def cmd_packer_template(args: argparse.Namespace) -> int:
    """`packer-template`: write the Packer template (make template runs it); '-' prints it."""
    from ..render import render_json
    from ..template import packer as pt

    emit_generated(render_json(pt.packer_template()), args.output, lint=False)
    return EXIT_OK


def cmd_parameters_page(args: argparse.Namespace) -> int:
    """`parameters-page`: the Markdown page of the console's parameters, from the template the
    configuration builds (make template writes docs/console-parameters.md)."""
    from ..template import build_template
    from ..template.console_page import parameters_page

    emit_generated(parameters_page(build_template(load_config(args.config))), args.output,
                  lint=False)
    return EXIT_OK


def cmd_lint(args: argparse.Namespace) -> int:
    """`lint`: cfn-lint findings of a template file; exit 1 when any is an error or warning."""
    from ..inputs import read_template, shown
    from ..lint import lint_template

    # The checks every input gets (size, aliases, duplicate keys, ...) before cfn-lint reads it.
    text, _ = read_template(args.path)
    # lint's own --region (repeatable) after the command; the global one before it.
    regions = args.lint_regions or ([args.region] if args.region else ["us-east-1"])
    findings = lint_template(text, regions=regions)
    failing = [f for f in findings if f.severity in ("error", "warning")]
    if wants_json(args):
        print_json([f.__dict__ for f in findings])
        return EXIT_FINDINGS if failing else EXIT_OK
    for f in findings:
        print(f"{shown(args.path)}:{f.line}:{f.column}: {f.rule_id} ({f.severity}) {f.message}")
    stderr(f"{len(findings)} finding(s), {len(failing)} error(s) or warning(s)")
    return EXIT_FINDINGS if failing else EXIT_OK


def _check_output_path(output: str) -> None:
    """`template --output json` writes a file: say so, rather than write one named `json`."""
    from .global_options import OUTPUT_FORMATS

    if output in OUTPUT_FORMATS:
        raise RvBatchError(f"-o/--output names the file to write here (got {output!r}); this "
                           f"command writes a file, not a result in a format. Put --output "
                           f"{output} before the command name for the global option, or write "
                           f"-o ./{output} for a file of that name")


def _add_generator(sub: argparse._SubParsersAction, name: str, func: Callable, default: Path,
                   help: str, description: str, config_help: str) -> None:
    p = sub.add_parser(name, help=help, description=description + " It is checked with "
                       "cfn-lint and written atomically (the old file stays whole if anything "
                       "fails).")
    p.add_argument("-o", "--output", default=str(default),
                   help=f"where to write it ('-' for standard output; default {default})")
    p.add_argument("--config", metavar="FILE", help=config_help)
    p.add_argument("--no-lint", action="store_true", help="skip cfn-lint (faster; for scripts). "
                   "A text cfn-lint found clean before is not linted again (cache: "
                   "RV_BATCH_CFN_CACHE_DIR, else ~/.cache/rv-batch-cfn; set it empty to turn "
                   "the cache off)")
    p.set_defaults(func=func)


def register(sub: argparse._SubParsersAction) -> None:
    """Add template, job-def-template, packer-template, parameters-page and lint."""
    _add_generator(
        sub, "template", cmd_template, TEMPLATE_PATH,
        help="generate (and lint) the CloudFormation template",
        description="Generate the CloudFormation template for Raster Vision on AWS Batch.",
        config_help="YAML or JSON file whose keys mirror StackConfig (prefix, gpu, cpu, "
                    "max_vcpus, ...); missing keys keep the console defaults")
    _add_generator(
        sub, "job-def-template", cmd_job_def_template, JOB_DEFINITIONS_PATH,
        help="generate (and lint) the per-project job-definitions template",
        description="Generate the CloudFormation template of per-project job definitions: a "
                    "GPU and a CPU job definition named after a Namespace, pulling an image "
                    "from an ECR repository, for the queues of a shared main stack whose job "
                    "role and log group they import (MainStackName).",
        config_help="YAML or JSON file whose keys mirror StackConfig; its job sizes, shared "
                    "memory, attempts, timeout and repository become the defaults")

    from ..template.packer import PACKER_TEMPLATE_PATH

    p = sub.add_parser(
        "packer-template", help="write the Packer template of the GPU AMI",
        description="Write the Packer template create-ami builds (legacy JSON, checked by "
                    "packer validate), atomically.")
    p.add_argument("-o", "--output", default=str(PACKER_TEMPLATE_PATH),
                   help=f"where to write it ('-' for standard output; default "
                        f"{PACKER_TEMPLATE_PATH})")
    p.set_defaults(func=cmd_packer_template)

    from ..template.console_page import PARAMETERS_PAGE_PATH

    p = sub.add_parser(
        "parameters-page", help="write the Markdown page of the console's parameters",
        description="Write the Markdown page that lists every parameter of the template the "
                    "configuration builds, as the CloudFormation console shows them (group, "
                    "label, description, default, allowed values), in the console's order; "
                    "atomically. make template writes docs/console-parameters.md with it.")
    p.add_argument("-o", "--output", default=str(PARAMETERS_PAGE_PATH),
                   help=f"where to write it ('-' for standard output; default "
                        f"{PARAMETERS_PAGE_PATH})")
    p.add_argument("--config", metavar="FILE", help="YAML or JSON file whose keys mirror "
                   "StackConfig, as for `template`; its values become the defaults listed")
    p.set_defaults(func=cmd_parameters_page)

    p = sub.add_parser("lint", help="run cfn-lint on a template file",
                       description="Run cfn-lint (informational checks included) on a template. "
                                   "Exit 0 when clean of errors and warnings, 1 otherwise.")
    p.add_argument("path", help="template file (YAML or JSON)")
    p.add_argument("--region", dest="lint_regions", action="append", type=region_argument,
                   metavar="REGION", help="region to check against (repeatable; default: the "
                   "global --region, else us-east-1)")
    p.set_defaults(func=cmd_lint)
