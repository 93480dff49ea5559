"""One boto3 session factory, so every command reaches AWS the way the AWS CLI does.

AWS_PROFILE, AWS_REGION / AWS_DEFAULT_REGION and AWS_ENDPOINT_URL (and the per-service
AWS_ENDPOINT_URL_<SERVICE>) are honoured by botocore itself; --profile and --region override them.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from ..errors import AwsError


def make_session(profile: Optional[str] = None, region: Optional[str] = None) -> Any:
    """A boto3 Session for `profile` and `region` (None: the standard environment and files).

    Raises AwsError for an unknown profile or when no region is configured anywhere.
    """
    import boto3
    import botocore.exceptions

    try:
        session = boto3.Session(profile_name=profile or None, region_name=region or None)
    except botocore.exceptions.ProfileNotFound as e:
        raise AwsError(f"{e}; known profiles: {', '.join(_profiles()) or 'none'} "
                       "(create one with: aws configure --profile NAME)") from None
    if not session.region_name:
        raise AwsError("no AWS region configured: pass --region, set AWS_REGION, or set a "
                       "region in the profile (aws configure)")
    return session


def client(session: Any, service: str, endpoint_url: Optional[str] = None) -> Any:
    """A client of `service`; credentials problems surface as AwsError on the first call.

    `endpoint_url` overrides the endpoint (None: botocore's own choice, which honours
    AWS_ENDPOINT_URL_<SERVICE> and AWS_ENDPOINT_URL)."""
    return session.client(service, endpoint_url=endpoint_url or None)


def endpoint_from_env(service: str) -> Optional[str]:
    """The endpoint the environment sets for `service` (AWS_ENDPOINT_URL_EC2 for "ec2", then
    AWS_ENDPOINT_URL), as the AWS CLI reads them; None when neither is set.

    For tools that do not read these variables themselves, such as Packer 1.6.6."""
    specific = "AWS_ENDPOINT_URL_" + service.upper().replace("-", "_").replace(" ", "_")
    return os.environ.get(specific) or os.environ.get("AWS_ENDPOINT_URL") or None


def known_profiles() -> list[str]:
    """The profiles in the AWS config and credentials files, sorted."""
    return _profiles()


def check_credentials(session: Any) -> dict:
    """The caller's identity (sts:GetCallerIdentity), or AwsError saying how to fix credentials."""
    import botocore.exceptions

    try:
        return session.client("sts").get_caller_identity()
    except botocore.exceptions.NoCredentialsError:
        raise AwsError("no AWS credentials found: set AWS_PROFILE (or pass --profile) to a "
                       "profile made with `aws configure`, or set AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY") from None
    except botocore.exceptions.ClientError as e:
        raise AwsError(f"the AWS credentials were refused: {e.response['Error'].get('Message', e)}"
                       ) from None
    except botocore.exceptions.BotoCoreError as e:
        raise AwsError(f"cannot reach AWS: {e}") from None


def _profiles() -> list[str]:
    # botocore's session, not boto3's: boto3.Session() itself raises ProfileNotFound when
    # AWS_PROFILE names a missing profile, which is when this list is wanted.
    import botocore.session

    return sorted(botocore.session.Session().available_profiles)
