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
library that talks to AWS is rv_batch_cfn.aws.
"""

from typing import Any

__version__ = "0.1.0"

# Where each name of the API lives. They are imported on first use (PEP 562), so that a command
# loads only what it runs: `rv-batch-cfn --version` does not import troposphere, nor `deploy`
# the template generator.
_API = {
    "StackConfig": "config", "ComputeConfig": "config", "from_dict": "config",
    "build_template": "template", "build_job_definitions_template": "template",
    "render_yaml": "render", "render_json": "render", "write_atomic": "files",
    "lint_template": "lint", "check_template": "lint", "LintFinding": "lint",
    "RvBatchError": "errors", "ConfigError": "errors", "LintError": "errors",
    "OutputError": "errors", "PackerError": "errors", "AwsError": "errors",
}

__all__ = list(_API)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_API[name]}", __name__), name)
    globals()[name] = value  # once imported, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
