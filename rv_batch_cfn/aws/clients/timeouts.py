"""How long a command waits for AWS, and what it says while it waits.

botocore's defaults (60 s to connect, 60 s for each read, five "legacy" attempts) can leave a
command silent for minutes when an endpoint hangs. Every client made through session.py gets
instead:

- a connect timeout of CONNECT_TIMEOUT and a read timeout of READ_TIMEOUT seconds, which the
  environment variables RV_BATCH_CFN_CONNECT_TIMEOUT and RV_BATCH_CFN_READ_TIMEOUT override;
- botocore's "standard" retries (3 attempts in all, with backoff), unless AWS_RETRY_MODE or the
  profile's retry_mode says otherwise; AWS_MAX_ATTEMPTS (or the profile's max_attempts) sets
  the number of attempts, as for the AWS CLI.

A call still unanswered after PROGRESS_INTERVAL seconds is reported, and again every
PROGRESS_INTERVAL seconds while it lasts (attempts and what the last one failed with), through
the callback given to `report_slow_calls` (the command layer prints it to standard error).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ...errors import AwsError, quote

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
CONNECT_TIMEOUT_ENV = "RV_BATCH_CFN_CONNECT_TIMEOUT"
READ_TIMEOUT_ENV = "RV_BATCH_CFN_READ_TIMEOUT"
PROGRESS_INTERVAL = 5.0

Report = Callable[[str], None]
_report: Optional[Report] = None


def report_slow_calls(report: Optional[Report]) -> None:
    """Report AWS calls that take long through `report` (None: say nothing), for every session
    made from now on."""
    global _report
    _report = report


def client_config(core: Any) -> Any:
    """The botocore Config every client gets: timeouts and retries (see the module's doc).
    `core` is the botocore session, whose profile may set retry_mode. AwsError for a
    malformed environment variable."""
    from botocore.config import Config

    mode = (os.environ.get("AWS_RETRY_MODE") or core.get_scoped_config().get("retry_mode")
            or "standard")
    if mode not in ("standard", "adaptive", "legacy"):
        raise AwsError(f"AWS_RETRY_MODE (or the profile's retry_mode): got {quote(mode)}; "
                       "allowed: standard, adaptive or legacy")
    attempts = os.environ.get("AWS_MAX_ATTEMPTS")
    if attempts is not None and not (attempts.strip().isdigit() and int(attempts) >= 1):
        raise AwsError(f"AWS_MAX_ATTEMPTS: got {quote(attempts)}; allowed: a whole number of "
                       "attempts, at least 1")
    return Config(connect_timeout=_seconds(CONNECT_TIMEOUT_ENV, CONNECT_TIMEOUT),
                  read_timeout=_seconds(READ_TIMEOUT_ENV, READ_TIMEOUT),
                  retries={"mode": mode})


def _seconds(variable: str, default: float) -> float:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise AwsError(f"{variable}: got {quote(text)}; allowed: a number of seconds, more than "
                       f"0 and at most 3600 (default {default:g})")
    return value


def watch(events: Any) -> None:
    """Report the slow calls of a session (its event emitter `events`) when a reporter is set."""
    if _report is not None:
        SlowCalls(_report).attach(events)


@dataclass
class _Call:
    service: str
    operation: str
    started: float
    next_report: float
    attempts: int = 1
    last_failure: str = ""


class SlowCalls:
    """Reports each AWS call unanswered after `interval` seconds, then every `interval` seconds
    until it ends: "still waiting for AWS: CloudFormation DescribeStacks, 10 s so far (attempt 1
    of these failed: Read timeout ...)". One background thread ticks while a call is in flight."""

    def __init__(self, report: Report, interval: Optional[float] = None,
                 clock: Callable[[], float] = time.monotonic):
        self.report = report
        self.interval = interval if interval is not None else PROGRESS_INTERVAL
        self.clock = clock
        self._calls: dict[int, _Call] = {}
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None

    def attach(self, events: Any) -> None:
        """Follow the calls made through the botocore event emitter `events`."""
        events.register("before-call", self._started)
        events.register("needs-retry", self._attempted)  # returns None: only looks
        events.register("after-call", self._ended)
        events.register("after-call-error", self._ended)

    def _started(self, model: Any = None, **_: Any) -> None:
        now = self.clock()
        service = getattr(getattr(model, "service_model", None), "service_id", "AWS")
        with self._lock:
            self._calls[threading.get_ident()] = _Call(str(service), getattr(model, "name", ""),
                                                       now, now + self.interval)
            if self._thread is None:
                self._thread = threading.Thread(target=self._tick, name="rv-batch-cfn-waits",
                                                daemon=True)
                self._thread.start()

    def _attempted(self, attempts: int = 1, response: Any = None,
                   caught_exception: Optional[BaseException] = None, **_: Any) -> None:
        failure = ""
        if caught_exception is not None:
            failure = str(caught_exception) or type(caught_exception).__name__
        elif response is not None and getattr(response[0], "status_code", 200) >= 400:
            error = (response[1] or {}).get("Error", {}) if isinstance(response[1], dict) else {}
            failure = f"HTTP {response[0].status_code} {error.get('Code', '')}".rstrip()
        with self._lock:
            call = self._calls.get(threading.get_ident())
            if call is not None and failure:
                call.attempts = attempts + 1
                call.last_failure = f"attempt {attempts} failed: {failure}"
        return None

    def _ended(self, **_: Any) -> None:
        with self._lock:
            self._calls.pop(threading.get_ident(), None)

    def _tick(self) -> None:
        step = min(1.0, self.interval / 4)
        while True:
            time.sleep(step)
            now = self.clock()
            with self._lock:
                if not self._calls:
                    self._thread = None
                    return
                due = [c for c in self._calls.values() if now >= c.next_report]
                for call in due:
                    call.next_report = now + self.interval
                lines = [self._line(c, now) for c in due]
            for line in lines:
                try:
                    self.report(line)
                except Exception:  # noqa: BLE001 - a closed stream must not kill the ticker
                    pass

    @staticmethod
    def _line(call: _Call, now: float) -> str:
        line = (f"still waiting for AWS: {call.service} {call.operation}, "
                f"{now - call.started:.0f} s so far")
        if call.last_failure:
            line += f" ({call.last_failure[:200]}; now attempt {call.attempts})"
        return line
