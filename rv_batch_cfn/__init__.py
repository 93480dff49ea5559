"""Generate, check and deploy the CloudFormation template that sets up AWS Batch for Raster Vision.

The main entry points:

    StackConfig                    the whole stack as frozen data; StackConfig() is the committed
                                   template, every field the default of a console parameter
    ComputeConfig.gpu(...) / .cpu(...)
                                   one kind of compute: the console's defaults, fields changed
    config.with_(field=value)      a copy with some fields changed (dataclasses.replace)
    from_dict(data)                a StackConfig from plain data (a YAML or JSON config file)
    build_template(config)         the CloudFormation template (troposphere); ConfigError lists
                                   every problem of the config at once
    build_job_definitions_template(config)
                                   the per-project job-definitions template
    render_yaml(template)          the template as deterministic YAML text (render_json: JSON)
    check_template(text)           cfn-lint; LintError on errors or warnings (lint_template
                                   returns the findings as data)
    write_atomic(path, text)       write a file atomically (the old one stays whole on failure)

Example:

    from rv_batch_cfn import (ComputeConfig, StackConfig, build_template, check_template,
                              render_yaml, write_atomic)

    config = StackConfig(prefix="geo", gpu=ComputeConfig.gpu(instance_types=("g6e.2xlarge",),
                                                             job_memory_mib=56000))
    text = render_yaml(build_template(config))
    check_template(text)
    write_atomic("cloudformation/geo.yml", text)

Errors are RvBatchError and its kinds (ConfigError, LintError, OutputError, AwsError, ...). The
command line, `rv-batch-cfn --help`, is built on the same functions (rv_batch_cfn.cli); the
library that talks to AWS is rv_batch_cfn.account.
"""

from .config import ComputeConfig, StackConfig, from_dict
from .errors import AwsError, ConfigError, LintError, OutputError, PackerError, RvBatchError
from .lint import LintFinding, check_template, lint_template
from .render import render_json, render_yaml, write_atomic
from .template import build_job_definitions_template, build_template

__version__ = "0.1.0"

__all__ = [
    "StackConfig", "ComputeConfig", "from_dict", "build_template", "build_job_definitions_template",
    "render_yaml", "render_json",
    "write_atomic", "lint_template", "check_template", "LintFinding", "RvBatchError",
    "ConfigError", "LintError", "OutputError", "PackerError", "AwsError",
]
