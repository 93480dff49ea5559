"""A Raster Vision plugin from rv-batch-cfn: the `batch_retry` runner.

    rastervision run batch_retry my_project/config.py

`batch_retry` is Raster Vision's own AWS Batch runner (`batch`, from rastervision_aws_batch)
with two changes to what it submits: every job retries host failures (spot reclaims, whose
status reason starts with "Host EC2") up to `[BATCH] attempts` times and ends at once on any
other failure, and every job is tagged with its pipeline run and command. The stock runner
submits `attempts: 1`, which replaces the job definition's retry strategy, so a spot reclaim
fails the job and every job after it.

It also gives each command the size `[BATCH]` names for it (`train_gpus`, `train_vcpus`,
`train_memory`, which `rv-batch-cfn rv-config --write` writes from the stack's train size), as a
`resourceRequirements` override, after checking that an instance type of its queue holds it
(sizes.py): Raster Vision trains on every GPU its train job gets.

Raster Vision imports every module of the `rastervision` namespace package when it starts, so
this module imports nothing of Raster Vision's at import time: the runner is built when Raster
Vision calls `register_plugin`.

Supported: rastervision_pipeline and rastervision_aws_batch 0.30.0 to 0.31.1 (0.30.0 introduced
the stock runner this one extends, which submits `attempts: 1`; 0.31.1 is the newest release).
The tests run both ends: 0.31.1 (the test extra) and 0.30.0 (an environment of its own).
"""

RUNNER_NAME = "batch_retry"


def register_plugin(registry) -> None:
    """Add the `batch_retry` runner to Raster Vision's registry.

    No plugin version is set: the plugin defines no configs, so the pipeline config it saves is
    the one the stock runner saves, and the stock image reads it unchanged.
    """
    try:
        from rastervision.batch_retry.runner import BatchRetryRunner
    except ImportError as e:
        if not (e.name or "").startswith("rastervision.aws_batch"):
            raise
        # Without rastervision_aws_batch Raster Vision must still start (other runners work);
        # the error comes when this runner is chosen.
        registry.add_runner(RUNNER_NAME, _missing_runner(str(e)))
        return
    registry.add_runner(RUNNER_NAME, BatchRetryRunner)


def _missing_runner(reason: str) -> type:
    class MissingAwsBatch:
        def __init__(self) -> None:
            raise ImportError(
                f"the {RUNNER_NAME} runner (from rv-batch-cfn) extends Raster Vision's AWS Batch "
                f"runner, which is not installed ({reason}): pip install "
                "rastervision_aws_batch, at the version of rastervision_pipeline")

    return MissingAwsBatch
