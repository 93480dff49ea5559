"""A pipeline config module for `rastervision run` (not a test module): Raster Vision's example
pipeline (rastervision.pipeline_example_plugin1) given the commands of Raster Vision's own
geospatial pipeline (rastervision_core's RVPipeline, not installed here): `chip` and `predict`
split into array jobs, `train` and `predict` on the GPU queue, `eval` on the CPU queue. The
Batch runner only submits the commands, so they need no body here.

    rastervision run batch_retry tests/plugin/train_pipeline.py -a root_uri DIR
"""

from rastervision.pipeline_example_plugin1.sample_pipeline import (
    SamplePipeline, SamplePipelineConfig)

# RVPipeline's command lists (rastervision_core 0.30 and 0.31), bundle and analyze left out.
COMMANDS = ["chip", "train", "predict", "eval"]
GPU_COMMANDS = ["train", "predict"]
SPLIT_COMMANDS = ["chip", "predict"]


def get_config(runner, root_uri):
    class Pipeline(SamplePipeline):
        commands = COMMANDS
        gpu_commands = GPU_COMMANDS
        split_commands = SPLIT_COMMANDS

        def chip(self, split_ind=0, num_splits=1):
            pass

        def train(self):
            pass

        def predict(self, split_ind=0, num_splits=1):
            pass

        def eval(self):
            pass

    class Config(SamplePipelineConfig):
        def build(self, tmp_dir):
            return Pipeline(self, tmp_dir)

    return Config(root_uri=root_uri, names=["alice"])
