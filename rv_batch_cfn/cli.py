"""`rv-batch-cfn`: a thin face over the library. Library errors become one message and exit 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

from . import config as config_module
from .account import ami, base_ami, deploy, doctor, publish, rvconfig, subnets
from .config import StackConfig
from .template import JOB_DEFINITIONS_PATH, TEMPLATE_PATH
from .errors import ConfigError, Problem, RvBatchError


EXIT_OK = 0
EXIT_FINDINGS = 1  # the command worked and found problems (lint findings, doctor failures)
EXIT_ERROR = 2  # bad input or an error the user can fix


def load_config(path: Optional[str]) -> StackConfig:
    """StackConfig from a YAML or JSON file whose keys mirror StackConfig; defaults when None."""
    if path is None:
        return StackConfig()
    import yaml  # YAML is a superset of JSON, so one parser reads both

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError([Problem("--config", path,
                                                 f"cannot read the file: {e.strerror or e}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError([Problem(
            "--config", path, f"allowed: valid YAML or JSON; parse error{where}: "
                              f"{getattr(e, 'problem', None) or e}")]) from None
    try:
        return config_module.from_dict({} if data is None else data)
    except ConfigError as e:  # say which file, as the problems name only its keys
        raise ConfigError(e.problems, source=f"the configuration file {path}") from None


def emit_template(text: str, output: str, lint: bool = True) -> None:
    """Lint `text` (LintError on any error or warning) and write it atomically to `output`, or
    to standard output when `output` is '-'."""
    from .lint import check_template
    from .render import write_atomic

    if lint:
        check_template(text)
    if output == "-":
        sys.stdout.write(text)
        return
    write_atomic(output, text)
    print(f"wrote {output}" + (" (cfn-lint: clean)" if lint else ""), file=sys.stderr)


def cmd_template(args: argparse.Namespace) -> int:
    """`template`: the main template for the configuration."""
    from .render import render_yaml
    from .template import build_template

    config = load_config(args.config)
    emit_template(render_yaml(build_template(config)), args.output, lint=not args.no_lint)
    # The template's GpuAMI default is gpu.ami; the AMI create-ami built is only pointed to.
    hint = ami.last_ami_hint(config.gpu.ami, "to use it, paste it as GpuAMI in the console, "
                             "pass --param GpuAMI={ami} to `rv-batch-cfn deploy`, or set gpu.ami "
                             "in the --config file")
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    return EXIT_OK


def cmd_job_def_template(args: argparse.Namespace) -> int:
    """`job-def-template`: the per-project job-definitions template for the configuration."""
    from .render import render_yaml
    from .template import build_job_definitions_template

    emit_template(render_yaml(build_job_definitions_template(load_config(args.config))),
                  args.output, lint=not args.no_lint)
    return EXIT_OK


def cmd_lint(args: argparse.Namespace) -> int:
    """`lint`: cfn-lint findings of a template file; exit 1 when any is an error or warning."""
    from .lint import lint_template

    try:
        text = Path(args.path).read_text(encoding="utf-8")
    except OSError as e:
        raise RvBatchError(f"cannot read {args.path}: {e.strerror or e}") from None
    findings = lint_template(text, regions=args.region or ["us-east-1"])
    if args.json:
        print(json.dumps([f.__dict__ for f in findings], indent=2))
    for f in findings if not args.json else []:
        print(f"{args.path}:{f.line}:{f.column}: {f.rule_id} ({f.severity}) {f.message}")
    failing = [f for f in findings if f.severity in ("error", "warning")]
    if not args.json:
        print(f"{len(findings)} finding(s), {len(failing)} error(s) or warning(s)", file=sys.stderr)
    return EXIT_FINDINGS if failing else EXIT_OK


def _add_generator(sub: argparse._SubParsersAction, name: str, func: Callable, default: Path,
                   help: str, description: str, config_help: str) -> None:
    p = sub.add_parser(name, help=help, description=description + " It is checked with "
                       "cfn-lint and written atomically (the old file stays whole if anything "
                       "fails).")
    p.add_argument("-o", "--output", default=str(default),
                   help=f"where to write it ('-' for standard output; default {default})")
    p.add_argument("--config", metavar="FILE", help=config_help)
    p.add_argument("--no-lint", action="store_true", help="skip cfn-lint (faster; for scripts)")
    p.set_defaults(func=func)


def _add_template(sub: argparse._SubParsersAction) -> None:
    _add_generator(
        sub, "template", cmd_template, TEMPLATE_PATH,
        help="generate (and lint) the CloudFormation template",
        description="Generate the CloudFormation template for Raster Vision on AWS Batch.",
        config_help="YAML or JSON file whose keys mirror StackConfig (prefix, gpu, cpu, "
                    "max_vcpus, ...); missing keys keep the console defaults")


def _add_job_def_template(sub: argparse._SubParsersAction) -> None:
    _add_generator(
        sub, "job-def-template", cmd_job_def_template, JOB_DEFINITIONS_PATH,
        help="generate (and lint) the per-project job-definitions template",
        description="Generate the CloudFormation template of per-project job definitions: a "
                    "GPU and a CPU job definition named after a Namespace, pulling an image "
                    "from an ECR repository, for the queues of a shared main stack whose job "
                    "role and log group they import (MainStackName).",
        config_help="YAML or JSON file whose keys mirror StackConfig; its job sizes, shared "
                    "memory, attempts, timeout and repository become the defaults")


def _add_lint(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lint", help="run cfn-lint on a template file",
                       description="Run cfn-lint (informational checks included) on a template. "
                                   "Exit 0 when clean of errors and warnings, 1 otherwise.")
    p.add_argument("path", help="template file (YAML or JSON)")
    p.add_argument("--region", action="append", help="region to check against (repeatable)")
    p.add_argument("--json", action="store_true", help="print findings as JSON")
    p.set_defaults(func=cmd_lint)


# Each part of the tool registers its subcommands; `rv-batch-cfn --help` lists them in this order.
REGISTRARS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_template, _add_job_def_template, _add_lint, rvconfig.register, deploy.register,
    publish.add_subcommand, ami.register, base_ami.register, doctor.register,
    subnets.register]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="rv-batch-cfn",
        description="Set up AWS Batch for Raster Vision: generate the CloudFormation template "
                    "and work with the deployed stack.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in REGISTRARS:
        register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RvBatchError as e:
        print(f"rv-batch-cfn {args.command}: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"rv-batch-cfn {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        # A safety net: an AWS failure a command did not anticipate (a dropped connection, a
        # throttled call) is still one message, not a traceback. Anything else is a bug.
        if not type(e).__module__.startswith("botocore"):
            raise
        from .account.session import aws_error

        print(f"rv-batch-cfn {args.command}: error: {aws_error('call AWS', e)}", file=sys.stderr)
        return EXIT_ERROR
