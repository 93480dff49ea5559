"""Outputs: each names the Raster Vision configuration key it feeds."""

from __future__ import annotations

from troposphere import Export, ImportValue, Output, Ref, Sub, Template

from . import compute, iam, job_queues
from . import parameters as p

# Output names -> the [BATCH] key of current Raster Vision that takes its value.
GPU_JOB_QUEUE = "GpuJobQueueName"
GPU_JOB_DEFINITION = "GpuJobDefinitionName"
CPU_JOB_QUEUE = "CpuJobQueueName"
CPU_JOB_DEFINITION = "CpuJobDefinitionName"
# The optional on-demand GPU queue (GpuOnDemandMaximumVCPUs above 0): `rerun --on-demand` sends
# GPU jobs there; rv-config writes it as [BATCH] gpu_on_demand_job_queue, a key of this project
# that Raster Vision ignores (a whole run goes on demand with BATCH_GPU_JOB_QUEUE set to it).
GPU_ON_DEMAND_JOB_QUEUE = "GpuOnDemandJobQueueName"
GPU_ON_DEMAND_KEY = "gpu_on_demand_job_queue"
# The commands' name for that queue's kind, beside "gpu" and "cpu" (jobs, rerun, quotas).
GPU_ON_DEMAND_KIND = "gpu-on-demand"
RV_CONFIG = "RasterVisionConfig"
JOB_ROLE_ARN = "JobRoleArn"
JOB_LOG_GROUP = "JobLogGroupName"
# Outputs exported as `<stack name>-<output name>` for the per-project job-definitions stacks.
EXPORTED = (JOB_ROLE_ARN, JOB_LOG_GROUP)
BATCH_KEYS = {
    GPU_JOB_QUEUE: "gpu_job_queue",
    GPU_JOB_DEFINITION: "gpu_job_def",
    CPU_JOB_QUEUE: "cpu_job_queue",
    CPU_JOB_DEFINITION: "cpu_job_def",
}
BATCH_SECTION = "BATCH"
ATTEMPTS_KEY = "attempts"  # from the JobAttempts parameter, not an output
# The stack's region, which the batch_retry runner submits in whatever the environment says
# (Raster Vision's own runner reads no region: botocore's default applies). Not an output.
REGION_KEY = "region"
# The train size, from its parameters: the batch_retry runner submits `train` with it (any
# command may have these three keys, <command>_gpus and so on).
TRAIN_KEYS = {p.TRAIN_GPUS: "train_gpus", p.TRAIN_VCPUS: "train_vcpus",
              p.TRAIN_MEMORY: "train_memory"}
# Current Raster Vision also reads BATCH_<KEY> environment variables (BATCH_GPU_JOB_QUEUE, ...).
ENV_PREFIX = "BATCH_"
# Raster Vision 0.9 and 0.10 read section [AWS_BATCH], with other key names.
AWS_BATCH_SECTION = "AWS_BATCH"
AWS_BATCH_KEYS = {
    GPU_JOB_QUEUE: "job_queue",
    GPU_JOB_DEFINITION: "job_definition",
    CPU_JOB_QUEUE: "cpu_job_queue",
    CPU_JOB_DEFINITION: "cpu_job_definition",
}
JOB_DEFINITION_OUTPUTS = (GPU_JOB_DEFINITION, CPU_JOB_DEFINITION)
# The repository each kind's jobs pull from, when it has one (created or existing).
REPOSITORY_URIS = {"gpu": "GpuRepositoryUri", "cpu": "CpuRepositoryUri"}
# Each kind's (queue, job definition) outputs.
KIND_OUTPUTS = {"gpu": (GPU_JOB_QUEUE, GPU_JOB_DEFINITION),
                "cpu": (CPU_JOB_QUEUE, CPU_JOB_DEFINITION)}
QUEUE_OUTPUTS = (GPU_JOB_QUEUE, CPU_JOB_QUEUE)


def rv_config_section() -> Sub:
    """A ready-to-paste [BATCH] section for ~/.rastervision/default."""
    names = {}
    for kind, (queue, definition) in KIND_OUTPUTS.items():
        names[queue] = job_queues.queue_name(kind)
        names[definition] = job_queues.job_definition_name(kind)
    lines = [f"[{BATCH_SECTION}]", *(f"{BATCH_KEYS[o]} = ${{{o}}}" for o in BATCH_KEYS),
             f"{ATTEMPTS_KEY} = ${{{p.JOB_ATTEMPTS}}}", f"{REGION_KEY} = ${{AWS::Region}}",
             *(f"{key} = ${{{name}}}" for name, key in TRAIN_KEYS.items())]
    return Sub("\n".join(lines) + "\n", **names)


def add_outputs(t: Template) -> None:
    """Queue and job definition names, the whole [BATCH] section, and the exports that the
    per-project job-definitions stacks import."""
    for kind, (queue, definition) in KIND_OUTPUTS.items():
        t.add_output(Output(queue, Value=job_queues.queue_name(kind),
                            Description=f"Raster Vision [BATCH] {BATCH_KEYS[queue]}"))
        t.add_output(Output(definition, Value=job_queues.job_definition_name(kind),
                            Description=f"Raster Vision [BATCH] {BATCH_KEYS[definition]}"))
    t.add_output(Output(GPU_ON_DEMAND_JOB_QUEUE, Condition=p.HAS_GPU_ON_DEMAND_QUEUE,
                        Value=job_queues.queue_name(compute.GPU_ON_DEMAND),
                        Description=f"On-demand GPU queue ([BATCH] {GPU_ON_DEMAND_KEY}; "
                                    "rv-batch-cfn rerun --on-demand)"))
    t.add_output(Output(RV_CONFIG, Value=rv_config_section(),
                        Description="Paste into ~/.rastervision/default (or run rv-batch-cfn "
                                    "rv-config --write)"))
    for kind, name in REPOSITORY_URIS.items():
        k = p.KINDS[kind]
        # Built from the name, not from the resource, so it is there with an existing repository.
        t.add_output(Output(name, Condition=k.uses_ecr,
                            Value=job_queues.repository_uri(Ref(k.repository_name)),
                            Description=f"ECR repository of {kind.upper()} images (push "
                                        f"<uri>:{p.IMAGE_TAG} with make publish-container)"))
    exported = {JOB_ROLE_ARN: (iam.job_role_arn(), "Role of Raster Vision jobs"),
                JOB_LOG_GROUP: (Ref(job_queues.LOG_GROUP), "Log group of Raster Vision jobs")}
    for name in EXPORTED:
        value, what = exported[name]
        t.add_output(Output(name, Value=value, Export=Export(export_name(name)),
                            Description=f"{what}, for per-project job definitions"))


def export_name(output: str) -> Sub:
    """`<this stack's name>-<output>`: unique per stack, so several main stacks coexist."""
    return Sub(f"${{AWS::StackName}}-{output}")


def imported(main_stack_parameter: str, output: str) -> ImportValue:
    """The value a main stack (named by the parameter) exports for `output`."""
    return ImportValue(Sub(f"${{{main_stack_parameter}}}-{output}"))
