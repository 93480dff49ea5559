"""One boto3 session factory, so every command reaches AWS the way the AWS CLI does.

AWS_PROFILE, AWS_DEFAULT_REGION and AWS_ENDPOINT_URL (and the per-service
AWS_ENDPOINT_URL_<SERVICE>) are honoured by botocore itself; AWS_REGION, which the AWS CLI v2 and
the other SDKs read before AWS_DEFAULT_REGION, is read here because botocore does not.
--profile and --region override them all.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from ..errors import AwsError

NO_CREDENTIALS = ("no AWS credentials found: set AWS_PROFILE (or pass --profile) to a profile "
                  "made with `aws configure`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")


def make_session(profile: Optional[str] = None, region: Optional[str] = None) -> Any:
    """A boto3 Session for `profile` and `region` (None: the standard environment and files).

    Raises AwsError for an unknown profile or when no region is configured anywhere.
    """
    import boto3
    import botocore.exceptions

    region = region or os.environ.get("AWS_REGION") or None
    try:
        session = boto3.Session(profile_name=profile or None, region_name=region)
    except botocore.exceptions.ProfileNotFound as e:
        raise AwsError(f"{e}; known profiles: {', '.join(_profiles()) or 'none'} "
                       "(create one with: aws configure --profile NAME)") from None
    if not session.region_name:
        raise AwsError("no AWS region configured: pass --region, set AWS_REGION, or set a "
                       "region in the profile (aws configure)")
    return session


def client(session: Any, service: str) -> Any:
    """A client of `service`; credentials problems surface as AwsError on the first call."""
    return session.client(service)


def check_credentials(session: Any) -> dict:
    """The caller's identity (sts:GetCallerIdentity), or AwsError saying how to fix credentials."""
    import botocore.exceptions

    try:
        return session.client("sts").get_caller_identity()
    except botocore.exceptions.NoCredentialsError:
        raise AwsError(NO_CREDENTIALS) from None
    except botocore.exceptions.ClientError as e:
        raise AwsError(f"the AWS credentials were refused: {e.response['Error'].get('Message', e)}"
                       ) from None
    except botocore.exceptions.BotoCoreError as e:
        raise AwsError(f"cannot reach AWS: {e}") from None


def connect(profile: Optional[str] = None, region: Optional[str] = None) -> Any:
    """A session whose credentials AWS has accepted: make_session, then check_credentials, so
    every command fails the same clear way before doing anything else."""
    session = make_session(profile, region)
    check_credentials(session)
    return session


def aws_errors(action: str) -> Any:
    """A context manager turning any botocore error inside it into an AwsError naming
    `action` and AWS's own message, so a command never ends in a traceback."""
    import contextlib

    import botocore.exceptions

    @contextlib.contextmanager
    def guard() -> Any:
        try:
            yield
        except botocore.exceptions.NoCredentialsError:
            raise AwsError(NO_CREDENTIALS) from None
        except botocore.exceptions.ClientError as e:
            error = e.response.get("Error", {})
            raise AwsError(f"{action}: AWS refused {e.operation_name} "
                           f"({error.get('Code', 'error')}): {error.get('Message', e)}") from None
        except botocore.exceptions.BotoCoreError as e:
            raise AwsError(f"{action}: cannot reach AWS: {e}") from None

    return guard()


def add_aws_arguments(parser: Any) -> None:
    """--profile and --region for a command that calls AWS; they override AWS_PROFILE and
    AWS_REGION / AWS_DEFAULT_REGION, as in the AWS CLI."""
    parser.add_argument("--profile",
                        help="AWS profile (default: AWS_PROFILE, else the default profile)")
    parser.add_argument("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION, "
                                         "else the profile's)")


def _profiles() -> list[str]:
    import boto3

    return sorted(boto3.Session().available_profiles)
