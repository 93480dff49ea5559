"""The budget's hard stop, run by AWS Lambda when the stack's budget reaches 100% of its actual
spend (the budget notifies an SNS topic, which invokes this function).

It disables the stack's job queues (new jobs are refused) and compute environments (Batch
places no RUNNABLE job and starts no instance; jobs already STARTING or RUNNING run to their
end), then tells the owner how to resume. Standard library and boto3 only (Lambda's runtime).
"""
import json
import os

import boto3

RESUME = ("To resume: rv-batch-cfn resume --stack {stack} --region {region}, or "
          "aws batch update-compute-environment --state ENABLED --compute-environment NAME "
          "and aws batch update-job-queue --state ENABLED --job-queue NAME for: {names}")


def arns(name):
    return [a for a in os.environ.get(name, "").split(",") if a]


def handler(event, context):
    batch = boto3.client("batch")
    queues, environments = arns("JOB_QUEUES"), arns("COMPUTE_ENVIRONMENTS")
    for queue in queues:
        batch.update_job_queue(jobQueue=queue, state="DISABLED")
    for environment in environments:
        batch.update_compute_environment(computeEnvironment=environment, state="DISABLED")
    stack, region = os.environ["STACK_NAME"], batch.meta.region_name
    names = ", ".join(a.rsplit("/", 1)[-1] for a in environments + queues)
    message = (f"The monthly budget of stack {stack} reached 100% of its actual spend: its job "
               f"queues and compute environments are now DISABLED. No new job starts; jobs "
               "already running run to their end. " + RESUME.format(
                   stack=stack, region=region, names=names))
    topic = os.environ.get("TOPIC_ARN")
    if topic:
        boto3.client("sns").publish(TopicArn=topic, Message=message,
                                    Subject=f"Raster Vision stack {stack} stopped at its budget")
    print(json.dumps({"disabled": environments + queues, "message": message}))
    return {"disabled": environments + queues}
