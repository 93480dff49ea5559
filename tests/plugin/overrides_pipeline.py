"""A pipeline config module for `rastervision run` (not a test module): Raster Vision's example
pipeline (rastervision.pipeline_example_plugin1) with `print_messages` as a GPU command, and a job
queue and definition chosen for `save_messages` alone, the two ways a pipeline steers its jobs.

    rastervision run batch_retry tests/plugin/overrides_pipeline.py \\
        -a root_uri DIR -a queue QUEUE -a job_def DEFINITION
"""

from rastervision.pipeline_example_plugin1.sample_pipeline import (
    SamplePipeline, SamplePipelineConfig)


def get_config(runner, root_uri, queue, job_def):
    class Pipeline(SamplePipeline):
        gpu_commands = ["print_messages"]

        def save_messages(self, split_ind=0, num_splits=1):
            return super().save_messages(split_ind, num_splits)

    # The runner reads a command's own queue and definition from the command's attributes.
    Pipeline.save_messages.job_queue = queue
    Pipeline.save_messages.job_def = job_def

    class Config(SamplePipelineConfig):
        def build(self, tmp_dir):
            return Pipeline(self, tmp_dir)

    return Config(root_uri=root_uri, names=["alice", "bob"])
