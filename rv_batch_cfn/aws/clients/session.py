"""One boto3 session factory, so every command reaches AWS the way the AWS CLI does.

AWS_PROFILE, AWS_DEFAULT_REGION and AWS_ENDPOINT_URL (and the per-service
AWS_ENDPOINT_URL_<SERVICE>) are honoured by botocore itself; AWS_REGION, which AWS CLI v2 reads
before AWS_DEFAULT_REGION but botocore 1.35 ignores, is honoured here. A profile, region or
endpoint passed to `make_session` (--profile, --region, --endpoint-url) overrides them all. The
environment is read, never written: what a caller passes is set on the session it gets.

Waiting is bounded (see timeouts.py): every client gets connect and read timeouts and botocore's
"standard" retries, and a call that takes long is reported while it lasts.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from typing import Any, Iterator, Optional

from ...errors import AwsError, quote
from . import timeouts

NO_CREDENTIALS = ("no AWS credentials found: set AWS_PROFILE (or pass --profile) to a profile "
                  "made with `aws configure`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")


def make_session(profile: Optional[str] = None, region: Optional[str] = None,
                 endpoint_url: Optional[str] = None) -> Any:
    """A boto3 Session for `profile`, `region` and `endpoint_url`; None or empty for each: the
    standard environment and files (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...), as the AWS
    CLI reads them. `endpoint_url` is where every client of the session sends its requests.

    Raises AwsError for an unknown profile or when no region is configured anywhere.
    """
    import boto3
    import botocore.exceptions

    import botocore.session

    try:
        core = botocore.session.get_session()
        # Overrides in this session's own configuration store, which every client copies; set
        # first, as anything else (the data loader too) reads the profile.
        store = core.get_component("config_store")
        if not profile and os.environ.get("AWS_PROFILE") == "":
            # An empty AWS_PROFILE (`make ... AWS_PROFILE=` exports one) means "no profile", as
            # an empty --profile does; botocore would look for a profile named "".
            store.set_config_variable("profile", None)
        if endpoint_url:
            # Ahead of AWS_ENDPOINT_URL(_<SERVICE>) and the config file's, as the AWS CLI's
            # --endpoint-url is.
            store.set_config_variable("endpoint_url", endpoint_url)
        core.register_component("data_loader", _data_loader(core))
        session = boto3.Session(botocore_session=core, profile_name=profile or None,
                                region_name=region or os.environ.get("AWS_REGION") or None)
        # Reading the config looks the profile up too, so a missing one fails inside this try.
        region_name = session.region_name
        core.set_default_client_config(timeouts.client_config(core))
    except botocore.exceptions.ProfileNotFound as e:
        name = profile or os.environ.get("AWS_PROFILE") or "NAME"
        raise AwsError(f"{e}; known profiles: {', '.join(known_profiles()) or 'none'} (create it "
                       f"with `aws configure --profile {name}`, or leave AWS_PROFILE empty to "
                       "use the default credentials)") from None
    if not region_name:
        raise AwsError("no AWS region configured: pass --region, set AWS_REGION, or set a "
                       "region in the profile (aws configure)")
    problem = region_problem(region_name)
    if problem:
        source = ("--region" if region else "AWS_REGION" if os.environ.get("AWS_REGION")
                  else "AWS_DEFAULT_REGION" if os.environ.get("AWS_DEFAULT_REGION")
                  else "the profile's region")
        raise AwsError(f"{source}: {problem}")
    timeouts.watch(session.events)
    return session


_LOADER: Any = None


def _data_loader(core: Any) -> Any:
    """One botocore data loader for every session of this process. A loader reads each service's
    model (hundreds of KB of JSON) once and keeps it; a new session would read them all again,
    about 50 ms a client, in every command of a process that runs several (a Python caller, the
    tests)."""
    global _LOADER
    if _LOADER is None:
        _LOADER = core.get_component("data_loader")
    return _LOADER


# botocore's own check of a region name (it refuses others when making a client).
_REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")


def region_problem(name: str) -> Optional[str]:
    """Why `name` cannot be a region name, or None."""
    if _REGION.fullmatch(name):
        return None
    return f"got {quote(name)}; allowed: a region name such as us-east-1"


def unknown_region_hint(session: Any) -> str:
    """' (region X is not one botocore knows: ...)' when the session's region is not in any
    partition botocore knows and no endpoint is set; '' otherwise."""
    region = session.region_name
    if not region or not _is_aws(session.client("sts").meta.endpoint_url):
        return ""
    known = {r for partition in session.get_available_partitions()
             for r in session.get_available_regions("ec2", partition)}
    if not known or region in known:
        return ""
    return (f" (region {quote(region)} is not one this version of botocore knows, such as "
            "us-east-1: is it spelled right?)")


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


def _is_aws(endpoint: Optional[str]) -> bool:
    """Whether `endpoint` is one of AWS's own (botocore's choice), not one a user set."""
    host = (endpoint or "").split("://", 1)[-1].split("/", 1)[0]
    return host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn")


# Error codes of a request AWS did not judge (busy, throttled, failing): the caller may try again.
RETRYABLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded",
    "SlowDown", "ServiceUnavailable", "ServiceUnavailableException", "InternalFailure",
    "InternalError", "InternalServerError", "RequestTimeout", "RequestTimeoutException"})


def check_credentials(session: Any) -> dict:
    """The caller's identity (sts:GetCallerIdentity), or AwsError saying how to fix credentials
    (or that the endpoint is not AWS at all)."""
    import botocore.exceptions

    sts = session.client("sts")
    endpoint = getattr(sts.meta, "endpoint_url", None)
    try:
        return sts.get_caller_identity()
    except botocore.exceptions.NoCredentialsError:
        raise AwsError(NO_CREDENTIALS) from None
    except botocore.exceptions.ClientError as e:
        detail = e.response.get("Error")
        code = str(detail.get("Code", "")) if isinstance(detail, dict) else ""
        # AWS refuses credentials with an error code (InvalidClientTokenId, ExpiredToken...);
        # botocore makes the HTTP status the code when the body holds no AWS error at all.
        if not code or code.isdigit():
            raise _not_aws("check the credentials", e, endpoint) from None
        if code in RETRYABLE_CODES:  # AWS is busy: the credentials were not judged
            raise AwsError(f"cannot check the AWS credentials (sts:GetCallerIdentity): {code}: "
                           f"{detail.get('Message') or code}. Nothing was done: run the "
                           "command again") from None
        raise AwsError(f"the AWS credentials {_credentials_source(session)} were refused: "
                       f"{detail.get('Message') or code} (check AWS_PROFILE or "
                       "--profile; renew the keys with `aws configure --profile NAME`, or the "
                       "login with `aws sso login --profile NAME`)") from None
    except botocore.exceptions.BotoCoreError as e:
        raise AwsError(f"cannot reach AWS: {str(e).rstrip('.')}{unknown_region_hint(session)}. "
                       "Nothing was done") from None
    except Exception as e:  # noqa: BLE001 - botocore's parsers raise plain Python errors too
        if not_aws_answer(e):
            raise _not_aws("check the credentials", e, endpoint) from None
        raise


def not_aws_answer(error: BaseException) -> bool:
    """Whether `error` means the endpoint answered, but not as AWS answers: a body botocore
    cannot parse (an HTML page, an empty reply, XML of another shape), or an error reply with
    no AWS error in it."""
    import xml.etree.ElementTree

    import botocore.exceptions
    import botocore.parsers

    if isinstance(error, (botocore.parsers.ResponseParserError,
                          xml.etree.ElementTree.ParseError)):
        return True
    if isinstance(error, botocore.exceptions.ClientError):
        return not isinstance(error.response.get("Error"), dict)
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return False
    # Well-formed XML of another shape makes botocore's parsers fail with KeyError and the like.
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_globals.get("__name__") == "botocore.parsers"


def _not_aws(action: str, error: BaseException, endpoint: Optional[str] = None) -> AwsError:
    """The AwsError for an endpoint that answered, but not like AWS."""
    set_by_user = (endpoint and not _is_aws(endpoint)) or any(
        key.startswith("AWS_ENDPOINT_URL") and value for key, value in os.environ.items())
    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL")
    where = f"the endpoint {endpoint}" if endpoint else "the AWS endpoint"
    response = getattr(error, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    detail = response.get("Error", {}) if isinstance(response.get("Error"), dict) else {}
    got = (f"HTTP {status} {detail.get('Message', '')}".rstrip() if status
           else "a reply that is not an AWS response")
    fix = ("check AWS_ENDPOINT_URL (and any AWS_ENDPOINT_URL_<SERVICE>) or --endpoint-url, or "
           "leave them out to reach AWS itself" if set_by_user
           else "is a proxy or a captive portal in the way? (HTTPS_PROXY, the network)")
    return AwsError(f"cannot {action}: {where} did not answer like AWS ({got}): {fix}")


def connect(profile: Optional[str] = None, region: Optional[str] = None,
            endpoint_url: Optional[str] = None) -> Any:
    """A session whose credentials AWS has accepted: make_session, then check_credentials, so
    every command fails the same clear way before doing anything else."""
    session = make_session(profile, region, endpoint_url)
    check_credentials(session)
    return session


def known_profiles() -> list[str]:
    """The profiles in the AWS config and credentials files, sorted."""
    import botocore.session

    # botocore's session, not boto3's: boto3.Session() itself fails when AWS_PROFILE names a
    # profile that does not exist, which is when this list is wanted.
    return sorted(botocore.session.Session().available_profiles)


def _credentials_source(session: Any) -> str:
    """Where the session's credentials came from, for messages: environment or a profile."""
    credentials = session.get_credentials()
    if credentials is not None and getattr(credentials, "method", "") == "env":
        return "from the environment (AWS_ACCESS_KEY_ID)"
    return f"of profile {session.profile_name!r}"


def aws_error(action: str, error: Exception, endpoint: Optional[str] = None) -> Exception:
    """The AwsError to raise for a botocore `error` met while trying to `action`.

    `action` completes "cannot ...", e.g. "describe the subnets of vpc-0123"; `endpoint` is the
    client's, named when the reply was not AWS's (default: AWS_ENDPOINT_URL). Anything that is
    not a botocore error is returned unchanged, so programming errors keep their traceback.
    """
    import botocore.exceptions

    if not_aws_answer(error):
        return _not_aws(action, error, endpoint)
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return AwsError(NO_CREDENTIALS)
    if isinstance(error, botocore.exceptions.ClientError):
        detail = error.response.get("Error", {})
        return AwsError(f"cannot {action}: {detail.get('Code', '')}: "
                        f"{detail.get('Message', error)}")
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return AwsError(f"cannot {action}: {error}")
    return error


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turn a botocore failure inside the block into one AwsError saying what was being done.

    Expected, checkable failures (a missing image, an unknown subnet) are the caller's to catch
    first, with `error_code`.
    """
    import botocore.exceptions

    try:
        yield
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        raise aws_error(action, e) from None
    except Exception as e:  # noqa: BLE001 - botocore's parsers raise plain Python errors too
        if not_aws_answer(e):
            raise aws_error(action, e) from None
        raise


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(error, "response", None) or {}
    return response.get("Error", {}).get("Code", "")


# The codes services answer a caller its policy does not allow with (EC2 says
# UnauthorizedOperation; Service Quotas, Cost Explorer and most others AccessDeniedException).
DENIED_CODES = ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation")
