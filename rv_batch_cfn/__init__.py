"""Generate, check and deploy the CloudFormation template that sets up AWS Batch for Raster Vision.

    from rv_batch_cfn import StackConfig, ComputeConfig, build_template, render_yaml, lint_template
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
