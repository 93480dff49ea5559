"""Raster Vision's stock Batch runner, when installed here: does it override the job definitions'
retries? Read from its source, not imported: importing it starts Raster Vision (every plugin
loaded, a temporary directory made under /opt/data)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from importlib import metadata
from typing import Optional

from .findings import NOTE, RUNNER, Finding

DISTRIBUTION = "rastervision_aws_batch"
RUNNER_SOURCE = "rastervision/aws_batch/aws_batch_runner.py"
RUNNER_CLASS, SUBMIT_METHOD = "AWSBatchRunner", "run_command"
PLUGIN_RUNNER = "batch_retry"  # rastervision/batch_retry, shipped with this package


@dataclass(frozen=True)
class StockRunner:
    """What the installed `batch` runner submits: its own retry strategy (or not), with which
    default attempts, and whether it reads [BATCH] attempts at all."""

    version: str
    submits_retry_strategy: bool
    default_attempts: Optional[int]
    reads_attempts: bool


def inspect_stock_runner() -> Optional[StockRunner]:
    """The installed rastervision_aws_batch's runner, or None when it is not installed or its
    source does not read as expected (nothing is then claimed about it)."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    path = next((f for f in dist.files or () if f.as_posix().endswith(RUNNER_SOURCE)), None)
    if path is None:
        return None
    try:
        text = dist.locate_file(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return read_runner_source(dist.version, text)


def read_runner_source(version: str, text: str) -> Optional[StockRunner]:
    """What the runner's source (aws_batch_runner.py) submits; None when it does not have the
    expected AWSBatchRunner.run_command."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    method = next((node for cls in tree.body
                   if isinstance(cls, ast.ClassDef) and cls.name == RUNNER_CLASS
                   for node in cls.body
                   if isinstance(node, ast.FunctionDef) and node.name == SUBMIT_METHOD), None)
    if method is None:
        return None
    return StockRunner(version, _builds_key(method, "retryStrategy"),
                       _default(method, "attempts"), _reads_key(tree, "attempts"))


def _builds_key(node: ast.AST, key: str) -> bool:
    """True when `node` builds a dict with `key`."""
    return any(isinstance(d, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == key
                                                for k in d.keys)
               for d in ast.walk(node))


def _default(method: ast.FunctionDef, name: str) -> Optional[int]:
    """The literal integer default of argument `name`, if it has one."""
    args = method.args
    positional = args.posonlyargs + args.args
    pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    for arg, default in pairs:
        if arg.arg == name and isinstance(default, ast.Constant) and isinstance(default.value, int):
            return default.value
    return None


def _reads_key(tree: ast.AST, key: str) -> bool:
    """True when the module calls something with `key` as its first argument, the way the
    runner reads its config (`batch_config('gpu_job_queue')`)."""
    return any(isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant)
               and call.args[0].value == key for call in ast.walk(tree))


def runner_findings(stock: Optional[StockRunner]) -> list[Finding]:
    """A note when the installed stock runner replaces the job definitions' retry strategy;
    nothing when Raster Vision's Batch runner is not installed here."""
    if stock is None or not stock.submits_retry_strategy:
        return []
    if stock.reads_attempts:
        what = "[BATCH] attempts and no exit rule, so every failure is retried"
    elif stock.default_attempts == 1:
        what = ("attempts 1 (it never reads [BATCH] attempts), so a spot reclaim fails the job "
                "and every job after it")
    else:
        what = "a retry strategy of its own that ignores [BATCH] attempts"
    return [Finding(
        RUNNER, NOTE,
        f"Raster Vision's `batch` runner ({DISTRIBUTION} {stock.version}, installed here) "
        f"submits every job with {what}; a retry strategy given at submit time replaces the "
        "job definitions' (retry spot reclaims only)",
        f"run pipelines with `rastervision run {PLUGIN_RUNNER} ...`, the runner installed with "
        "rv-batch-cfn: it retries host failures up to [BATCH] attempts times and ends any "
        "other failure at once")]
