"""`BatchRetryRunner`: Raster Vision's `AWSBatchRunner`, submitting jobs that survive spot reclaims,
each command with its own size.

Everything but the retry strategy, the tags and the per-command sizes (sizes.py) is the stock
runner's code, inherited: the
`dependsOn` chain, array jobs for split commands, the per-pipeline and per-command job queue
and definition overrides, debug mode, and the container command, which still ends in
`--runner batch` so that the stock Raster Vision image runs the jobs unchanged.

The stock `run_command` builds the SubmitJob request itself with
`retryStrategy={'attempts': attempts}` (attempts defaults to 1 and nothing passes it), and
passes its extra keyword arguments on to `submit_job`. So the tags travel as extra arguments
from `build_cmd`, and the retry strategy (and a command's size, in `containerOverrides`, which
the stock code builds itself) is put into the request by a botocore `provide-client-params`
handler, registered on boto3's default session only for the duration of one `run_command` (the
client the stock code creates copies the session's handlers).

Two more things differ, each in a module of its own: every job is submitted in the stack's
region, whatever the environment says (regions.py), and a run left with Raster Vision's default
name gets a unique one (run_names.py).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from typing import Any, Iterator, Optional

from rastervision.aws_batch.aws_batch_runner import AWS_BATCH, AWSBatchRunner
from rastervision.batch_retry import regions, run_names, sizes
from rastervision.pipeline import rv_config_ as rv_config

log = logging.getLogger(__name__)

# Used when neither [BATCH] attempts nor BATCH_ATTEMPTS is set: the template's JobAttempts
# default (`rv-batch-cfn rv-config --write` writes the stack's value).
DEFAULT_ATTEMPTS = 3
# AWS Batch allows 1 to 10 attempts.
MIN_ATTEMPTS, MAX_ATTEMPTS = 1, 10
ATTEMPTS_KEY = "attempts"
# Batch's status reason for a spot reclaim or a lost host starts with "Host EC2"; the same
# rules as the stack's job definitions.
HOST_FAILURE = "Host EC2*"
EVALUATE_ON_EXIT = (
    {"onStatusReason": HOST_FAILURE, "action": "RETRY"},
    {"onReason": "*", "action": "EXIT"},
)
# Tag keys of every job: which pipeline run and which command it belongs to.
RUN_TAG = "rastervision:pipeline-run"
COMMAND_TAG = "rastervision:command"
SUBMIT_EVENT = "provide-client-params.batch.SubmitJob"
# build_cmd's argument to run_command holding a command's size (taken out before submit_job).
SIZE_ARGUMENT = "batch_retry_size"


def retry_strategy(attempts: int) -> dict:
    """Retry host failures up to `attempts` times in all; exit at once on any other failure."""
    return {"attempts": attempts, "evaluateOnExit": [dict(rule) for rule in EVALUATE_ON_EXIT]}


def job_tags(pipeline_run_name: str, command: str) -> dict[str, str]:
    """The tags of one job of a pipeline run."""
    return {RUN_TAG: pipeline_run_name, COMMAND_TAG: command}


def configured_attempts() -> int:
    """`[BATCH] attempts` (or BATCH_ATTEMPTS) from Raster Vision's configuration, read as the
    stock runner reads its other keys; DEFAULT_ATTEMPTS when it is not set."""
    value = rv_config.get_namespace_option(AWS_BATCH, ATTEMPTS_KEY)
    if value is None or not str(value).strip():
        log.warning("[BATCH] attempts is not set: retrying host failures up to %d times "
                    "(`rv-batch-cfn rv-config --stack NAME --write` sets it from the stack)",
                    DEFAULT_ATTEMPTS)
        return DEFAULT_ATTEMPTS
    return parse_attempts(value)


def parse_attempts(value: Any) -> int:
    """`value` as a number of attempts; ValueError naming the key and what is allowed."""
    text = str(value).strip()
    if not text.isdigit() or not MIN_ATTEMPTS <= int(text) <= MAX_ATTEMPTS:
        raise ValueError(f"[BATCH] attempts (or BATCH_ATTEMPTS): got {text!r}; allowed: a whole "
                         f"number from {MIN_ATTEMPTS} to {MAX_ATTEMPTS} (AWS Batch's limits)")
    return int(text)


def configured_size(command: str) -> dict[str, int]:
    """`[BATCH] <command>_gpus`, `_vcpus`, `_memory` (or BATCH_<COMMAND>_GPUS, ...) as
    {'GPU': n, 'VCPU': n, 'MEMORY': n}, the keys set only; sizes.SizeError for a bad value."""
    return sizes.configured_size(
        command, lambda name: rv_config.get_namespace_option(AWS_BATCH, name))


@contextlib.contextmanager
def submitted_with_retry_strategy(strategy: dict, size: Optional[dict] = None
                                  ) -> Iterator[None]:
    """While inside, every SubmitJob of a client made from boto3's default session carries
    `strategy` instead of the retry strategy it was called with, and `size` (if any) as its
    container's resourceRequirements (with the environment a job of that size needs)."""
    import boto3

    def replace(params: dict, **_: Any) -> None:
        params["retryStrategy"] = strategy
        if size:
            overrides = params.setdefault("containerOverrides", {})
            overrides["resourceRequirements"] = sizes.resource_requirements(size)
            extra = sizes.environment(size)
            if extra:
                overrides["environment"] = [*overrides.get("environment", []), *extra]

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    events = boto3.DEFAULT_SESSION.events
    unique_id = f"{__name__}.retry_strategy"
    events.register(SUBMIT_EVENT, replace, unique_id=unique_id)
    try:
        yield
    finally:
        events.unregister(SUBMIT_EVENT, unique_id=unique_id)


def batch_option(key: str) -> Any:
    """A [BATCH] key (or its BATCH_<KEY> variable), as the stock runner reads its others."""
    return rv_config.get_namespace_option(AWS_BATCH, key)


def stock_arguments(args: tuple, kwargs: dict) -> dict[str, Any]:
    """The stock `run_command`'s arguments after `attempts` (use_gpu, job_queue, job_def, ...)
    by name, however they were passed."""
    signature = inspect.signature(AWSBatchRunner.run_command)
    return signature.bind_partial(None, [], None, False, 1, *args, **kwargs).arguments


class BatchRetryRunner(AWSBatchRunner):
    """The stock AWS Batch runner whose jobs retry host failures (spot reclaims) up to
    `[BATCH] attempts` times, end at once on any other failure, carry tags naming their
    pipeline run and command (propagated to the ECS tasks), and get the size their command has
    in [BATCH] (`train_gpus`, ...), checked against the queue's instance types first."""

    def run(self, cfg_json_uri: str, pipeline: Any, commands: list[str], num_splits: int = 1,
            pipeline_run_name: str = "raster-vision") -> None:
        """The stock `run`, after every command's size is checked (sizes.check_all): a size
        no instance type of its queue holds is refused before any job is submitted."""
        planned = []
        for command in commands:
            _, args = self.build_cmd(command, cfg_json_uri, pipeline, num_splits,
                                     pipeline_run_name=pipeline_run_name)
            size = args[SIZE_ARGUMENT]
            if size:
                device = "gpu" if args["use_gpu"] else "cpu"
                queue = args["job_queue"] or rv_config.get_namespace_option(
                    AWS_BATCH, f"{device}_job_queue")
                definition = args["job_def"] or rv_config.get_namespace_option(
                    AWS_BATCH, f"{device}_job_def")
                if queue:  # (without one, the stock code fails with its own message)
                    planned.append((command, size, queue, definition))
        by_region: dict[str, list] = {}
        for command, size, queue, definition in planned:
            region = self.submission_region((), {"job_queue": queue, "job_def": definition})
            by_region.setdefault(region, []).append((command, size, queue, definition))
        for region, checked in by_region.items():
            import boto3

            with regions.submitted_in(region):
                types = sizes.QueueTypes(boto3.client("batch"), boto3.client("ec2"))
            sizes.check_all(checked, types)
        super().run(cfg_json_uri, pipeline, commands, num_splits,
                    pipeline_run_name=pipeline_run_name)

    _attempts: Optional[int] = None
    _run_name: Optional[str] = None
    _regions_said: frozenset = frozenset()

    def default_attempts(self) -> int:
        """`configured_attempts()`, read once per runner (one warning when it is not set)."""
        if self._attempts is None:
            self._attempts = configured_attempts()
        return self._attempts

    def build_cmd(self, command: str, cfg_json_uri: str, pipeline: Any, num_splits: int = 1,
                  pipeline_run_name: str = "raster-vision") -> tuple[list[str], dict[str, Any]]:
        pipeline_run_name = self.run_name(pipeline_run_name, pipeline, cfg_json_uri)
        cmd, args = super().build_cmd(command, cfg_json_uri, pipeline, num_splits,
                                      pipeline_run_name=pipeline_run_name)
        # run() passes these to run_command, whose extra keyword arguments go to submit_job.
        args["tags"] = job_tags(pipeline_run_name, command)
        args["propagateTags"] = True
        # run_command takes it out: a resourceRequirements override of the command's size.
        args[SIZE_ARGUMENT] = configured_size(command)
        return cmd, args

    def run_command(self, cmd: list[str], job_name: Optional[str] = None, debug: bool = False,
                    attempts: Optional[int] = None, *args: Any, **kwargs: Any) -> str:
        """The stock `run_command` (same arguments), submitting with `retry_strategy(attempts)`
        and the command's size from build_cmd; `attempts` defaults to `[BATCH] attempts`."""
        attempts = self.default_attempts() if attempts is None else parse_attempts(attempts)
        size = kwargs.pop(SIZE_ARGUMENT, None)
        region = self.submission_region(args, kwargs)
        with regions.submitted_in(region), \
                submitted_with_retry_strategy(retry_strategy(attempts), size):
            return super().run_command(cmd, job_name, debug, attempts, *args, **kwargs)

    def run_name(self, given: str, pipeline: Any, cfg_json_uri: str) -> str:
        """`given`, or for Raster Vision's default one unique name per runner (one
        `rastervision run`, every pipeline of it), said once."""
        if given != run_names.DEFAULT_RUN_NAME:
            return given
        if self._run_name is None:
            self._run_name = run_names.unique_run_name(run_names.root_uri(pipeline, cfg_json_uri))
            log.info("pipeline run name: %s (in place of Raster Vision's default %r; "
                     "`rv-batch-cfn jobs --stack NAME --run %s` lists its jobs; "
                     "--pipeline-run-name NAME names a run)",
                     self._run_name, given, self._run_name)
        return self._run_name

    def submission_region(self, args: tuple, kwargs: dict) -> str:
        """The region of the stack the job goes to (regions.py); said once per region."""
        given = stock_arguments(args, kwargs)
        device = "gpu" if given.get("use_gpu") else "cpu"
        queue = given.get("job_queue") or batch_option(f"{device}_job_queue")
        definition = given.get("job_def") or batch_option(f"{device}_job_def")
        region, source = regions.stack_region(queue, definition, batch_option)
        if region is None:
            region, source = regions.environment_region(regions.default_session().region_name)
            if region is None:
                raise ValueError(regions.NO_REGION)
            if region not in self._regions_said:
                log.warning("[BATCH] region is not set: submitting in %s (from %s); "
                            "`rv-batch-cfn rv-config --stack NAME --write` sets the stack's "
                            "region", region, source)
        elif region not in self._regions_said:
            log.info("submitting in %s (from %s)", region, source)
        self._regions_said |= {region}
        return region
