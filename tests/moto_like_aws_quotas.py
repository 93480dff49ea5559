"""Where moto falls short of AWS for EC2's vCPU quotas and spot placement scores; compensated
in the test fixture, never in the product (a companion of tests/moto_like_aws.py, which calls
`patch()`; canaries in tests/test_moto_like_aws_quotas.py).

- Service Quotas: moto 5.2 answers GetServiceQuota for service `vpc` only (NoSuchResource for
  every EC2 quota) and has no GetAWSDefaultServiceQuota, RequestServiceQuotaIncrease or
  ListRequestedServiceQuotaChangeHistoryByQuota. AWS answers GetServiceQuota with the value
  applied to the account, NoSuchResourceException when none is applied (then
  GetAWSDefaultServiceQuota gives AWS's default), records an increase request as PENDING, and
  lists an account's requests per quota, by status (Service Quotas API Reference).
- EC2: moto has no GetSpotPlacementScores. AWS scores 1 to 10, per region or, with
  SingleAvailabilityZone, per zone (named by zone id), for instance types and a target capacity
  (EC2 API Reference, GetSpotPlacementScores).

A patch on the server rather than botocore's Stubber, so that the commands run end to end
against the emulator as against AWS, through the same clients, sessions and error handling.

The state lives on moto's backends, so the emulator's reset forgets it. Unless a test says
otherwise, the account is an established one: AWS's default of every EC2 vCPU quota is
ESTABLISHED vCPUs, enough for any test stack. A test sets, through `quotas(emu)` and
`placement(emu)`: applied values, AWS's defaults (`new_account()`: those AWS publishes for a
new account), operations refused for want of a permission, requests already filed; and reads
the RequestServiceQuotaIncrease calls recorded.
"""

from __future__ import annotations

import datetime
import itertools
import json
from typing import Any, Optional

ACCOUNT = "123456789012"  # moto's default account
ESTABLISHED = 1024.0
DEFAULT_SCORE = 9
# AWS's published EC2 vCPU quotas and their defaults for a new account (Amazon EC2 Instance
# Types guide, "Amazon EC2 instance type quotas", On-Demand and Spot Instance quotas; read
# 2026-12). The product's table (rv_batch_cfn/aws/quotas/codes.py) is checked against it.
AWS_EC2_VCPU_QUOTAS = {
    "L-6E869C2A": ("Running On-Demand DL instances", 0),
    "L-74FC7D96": ("Running On-Demand F instances", 0),
    "L-DB2E81BA": ("Running On-Demand G and VT instances", 0),
    "L-F7808C92": ("Running On-Demand HPC instances", 0),
    "L-43DA4232": ("Running On-Demand High Memory instances", 0),
    "L-1945791B": ("Running On-Demand Inf instances", 0),
    "L-417A185B": ("Running On-Demand P instances", 0),
    "L-1216C47A": ("Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", 5),
    "L-2C3B7624": ("Running On-Demand Trn instances", 0),
    "L-7295265B": ("Running On-Demand X instances", 0),
    "L-85EED4F7": ("All DL Spot Instance Requests", 0),
    "L-88CF9481": ("All F Spot Instance Requests", 0),
    "L-3819A6DF": ("All G and VT Spot Instance Requests", 0),
    "L-B5D1601B": ("All Inf Spot Instance Requests", 0),
    "L-7212CCBC": ("All P4, P3 and P2 Spot Instance Requests", 0),
    "L-C4BD4855": ("All P5 Spot Instance Requests", 0),
    "L-34B43A08": ("All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests", 5),
    "L-6B0D517C": ("All Trn Spot Instance Requests", 0),
    "L-E3A00192": ("All X Spot Instance Requests", 0),
}
_IDS = itertools.count(1)


def patch() -> None:
    """Apply every patch of this module; each has a canary in tests/test_moto_like_aws_quotas.py."""
    _patch_service_quotas()
    _patch_spot_placement_scores()


def quotas(emu: Any) -> Any:
    """The emulator's Service Quotas backend of the test account and region (same process)."""
    from moto.servicequotas.models import servicequotas_backends

    return _state(servicequotas_backends[ACCOUNT][emu.region])


def placement(emu: Any) -> dict:
    """The spot placement scores the emulator gives in its region: `zones` (zone name ->
    score), `regions` (region -> score), `error` (an error code to refuse with), `calls`."""
    from moto.ec2.models import ec2_backends

    return _scores(ec2_backends[ACCOUNT][emu.region])


def new_account(backend: Any) -> None:
    """AWS's defaults for a new account: 0 vCPUs of G and VT, P and the others, 5 Standard."""
    backend.quota_defaults.update({code: float(v) for code, (_, v) in AWS_EC2_VCPU_QUOTAS.items()})


def _state(backend: Any) -> Any:
    if not hasattr(backend, "quota_applied"):
        backend.quota_applied = {}  # quota code -> value applied to the account
        backend.quota_defaults = {}  # quota code -> AWS's default (else ESTABLISHED)
        backend.quota_denied = set()  # operation names refused with AccessDeniedException
        backend.quota_requests = []  # every request, filed by the test or the product
        backend.quota_request_calls = []  # the RequestServiceQuotaIncrease calls received
    return backend


def _quota(backend: Any, code: str, value: float) -> dict:
    name = AWS_EC2_VCPU_QUOTAS[code][0]
    return {"ServiceCode": "ec2", "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
            "QuotaArn": f"arn:aws:servicequotas:{backend.region_name}:{ACCOUNT}:ec2/{code}",
            "QuotaCode": code, "QuotaName": name, "Value": value, "Unit": "None",
            "Adjustable": True, "GlobalQuota": False}


def add_request(backend: Any, code: str, desired: float, status: str = "PENDING") -> dict:
    """A request for `code` as AWS lists it (RequestedServiceQuotaChange)."""
    number = next(_IDS)
    request = {"Id": f"{number:032x}", "CaseId": f"case-{number}" if status == "CASE_OPENED"
               else None, "ServiceCode": "ec2", "ServiceName": "Amazon Elastic Compute Cloud "
               "(Amazon EC2)", "QuotaCode": code, "QuotaName": AWS_EC2_VCPU_QUOTAS[code][0],
               "DesiredValue": desired, "Status": status,
               "Created": datetime.datetime.now(datetime.timezone.utc).timestamp(),
               "Requester": f"arn:aws:iam::{ACCOUNT}:user/tester", "GlobalQuota": False,
               "Unit": "None"}
    _state(backend).quota_requests.append({k: v for k, v in request.items() if v is not None})
    return request


def _patch_service_quotas() -> None:
    """GetServiceQuota, GetAWSDefaultServiceQuota, RequestServiceQuotaIncrease and
    ListRequestedServiceQuotaChangeHistoryByQuota for EC2's vCPU quotas, as Service Quotas
    answers them."""
    from moto.core.exceptions import JsonRESTError
    from moto.servicequotas.exceptions import NoSuchResource
    from moto.servicequotas.responses import ServiceQuotasResponse

    original_get = ServiceQuotasResponse.get_service_quota

    def check(self: Any, operation: str) -> tuple[Any, dict]:
        backend = _state(self.backend)
        if operation in backend.quota_denied:
            raise JsonRESTError("AccessDeniedException",
                                f"User: arn:aws:iam::{ACCOUNT}:user/tester is not authorized to "
                                f"perform: servicequotas:{operation}")
        return backend, json.loads(self.body)

    def get_service_quota(self: Any) -> str:
        backend, params = check(self, "GetServiceQuota")
        if params.get("ServiceCode") != "ec2":
            return original_get(self)
        code = params.get("QuotaCode")
        if code not in backend.quota_applied:
            raise NoSuchResource()
        return json.dumps({"Quota": _quota(backend, code, backend.quota_applied[code])})

    def get_aws_default_service_quota(self: Any) -> str:
        backend, params = check(self, "GetAWSDefaultServiceQuota")
        code = params.get("QuotaCode")
        if params.get("ServiceCode") != "ec2" or code not in AWS_EC2_VCPU_QUOTAS:
            raise NoSuchResource()
        return json.dumps({"Quota": _quota(backend, code,
                                           backend.quota_defaults.get(code, ESTABLISHED))})

    def request_service_quota_increase(self: Any) -> str:
        backend, params = check(self, "RequestServiceQuotaIncrease")
        backend.quota_request_calls.append(params)
        request = add_request(backend, params["QuotaCode"], float(params["DesiredValue"]))
        return json.dumps({"RequestedQuota": {k: v for k, v in request.items()
                                              if v is not None}})

    def list_history_by_quota(self: Any) -> str:
        backend, params = check(self, "ListRequestedServiceQuotaChangeHistoryByQuota")
        found = [r for r in backend.quota_requests
                 if r["ServiceCode"] == params.get("ServiceCode")
                 and r["QuotaCode"] == params.get("QuotaCode")
                 and params.get("Status") in (None, r["Status"])]
        return json.dumps({"RequestedQuotas": found})

    ServiceQuotasResponse.get_service_quota = get_service_quota
    ServiceQuotasResponse.get_aws_default_service_quota = get_aws_default_service_quota
    ServiceQuotasResponse.request_service_quota_increase = request_service_quota_increase
    ServiceQuotasResponse.list_requested_service_quota_change_history_by_quota = \
        list_history_by_quota


def _scores(backend: Any) -> dict:
    if not hasattr(backend, "spot_placement"):
        backend.spot_placement = {"zones": {}, "regions": {}, "error": None, "calls": []}
    return backend.spot_placement


def _patch_spot_placement_scores() -> None:
    """GetSpotPlacementScores: per zone of the regions asked (SingleAvailabilityZone), else per
    region, DEFAULT_SCORE unless a test set a score; an error code set by a test refuses."""
    from moto.core.responses import ActionResult
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models import ec2_backends
    from moto.ec2.responses import EC2Response

    def get_spot_placement_scores(self: Any) -> Any:
        state = _scores(self.ec2_backend)
        state["calls"].append({"InstanceTypes": self._get_param("InstanceTypes", []),
                               "TargetCapacity": self._get_int_param("TargetCapacity"),
                               "SingleAvailabilityZone":
                                   self._get_bool_param("SingleAvailabilityZone", False),
                               "RegionNames": self._get_param("RegionNames", [])})
        if state["error"]:
            raise EC2ClientError(state["error"], "refused by the test's stand-in")
        call = state["calls"][-1]
        regions = call["RegionNames"] or [r.name for r in self.ec2_backend.describe_regions()]
        found = []
        for region in regions:
            if call["SingleAvailabilityZone"]:
                backend = ec2_backends[self.current_account][region]
                theirs = _scores(backend)["zones"] if region != self.region else state["zones"]
                for zone in backend.describe_availability_zones():
                    found.append({"Region": region, "AvailabilityZoneId": zone.zone_id,
                                  "Score": theirs.get(zone.name, DEFAULT_SCORE)})
            else:
                found.append({"Region": region,
                              "Score": state["regions"].get(region, DEFAULT_SCORE)})
        return ActionResult({"SpotPlacementScores": found})

    EC2Response.get_spot_placement_scores = get_spot_placement_scores


def set_applied(backend: Any, code: str, value: Optional[float]) -> None:
    """Apply `value` to the account (None: no applied value, AWS's default answers)."""
    if value is None:
        _state(backend).quota_applied.pop(code, None)
    else:
        _state(backend).quota_applied[code] = float(value)
