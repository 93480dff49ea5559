"""The docker command line, as publish-container uses it: found, its daemon checked, images
looked up, and commands run with their output let through. Errors are DockerError with the fix."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from typing import Optional, Sequence

from ...errors import DockerError

# `docker version` can hang on an unreachable remote DOCKER_HOST; a local daemon answers at once.
DAEMON_TIMEOUT_SECONDS = 30


class Docker:
    """The docker command line. Checks return what they found or raise DockerError."""

    def __init__(self, executable: str, output: Optional[int] = None):
        self.executable = executable
        # Where docker's own output goes when let through (a file descriptor; None: ours).
        self.output = output

    @classmethod
    def find(cls) -> "Docker":
        """docker on PATH, or DockerError saying how to get it."""
        path = shutil.which("docker")
        if path is None:
            raise DockerError("docker is not installed (not found on PATH): install Docker Engine "
                              "or Docker Desktop (https://docs.docker.com/get-docker/), then "
                              "build the Raster Vision images with ./docker/build")
        return cls(path)

    def _capture(self, *args: str, timeout: Optional[float] = None) -> subprocess.CompletedProcess:
        try:
            return subprocess.run([self.executable, *args], capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DockerError(f"`docker {' '.join(args)}` did not answer within {timeout:.0f} "
                              "seconds: is DOCKER_HOST (or the docker context) reachable?"
                              ) from None
        except OSError as e:
            raise DockerError(f"cannot run {self.executable}: {e.strerror or e}") from None

    def check_daemon(self) -> str:
        """The daemon's version; DockerError when it is not running or not ours to use."""
        done = self._capture("version", "--format", "{{.Server.Version}}",
                             timeout=DAEMON_TIMEOUT_SECONDS)
        said = _last_line(done.stderr) or _last_line(done.stdout)
        if done.returncode == 0:
            return done.stdout.strip()
        if "permission denied" in said.lower():
            raise DockerError(f"you may not use the Docker daemon (docker said: {said}). Add "
                              "yourself to the docker group (sudo usermod -aG docker $USER) and "
                              "log in again, or run as a user who can")
        if "cannot connect" in said.lower() or "is the docker daemon running" in said.lower():
            raise DockerError(f"the Docker daemon is not running (docker said: {said}). Start "
                              "it (sudo systemctl start docker, or open Docker Desktop) and "
                              "try again")
        raise DockerError(f"docker cannot reach its daemon (exit {done.returncode}): {said}")

    def missing_images(self, names: Sequence[str]) -> list[str]:
        """Those of the local images `names` that do not exist."""
        missing = []
        for name in dict.fromkeys(names):
            done = self._capture("image", "inspect", "--format", "{{.Id}}", name)
            if done.returncode == 0:
                continue
            said = _last_line(done.stderr)
            if "no such image" not in said.lower():
                raise DockerError(f"`docker image inspect {name}` failed: {said}")
            missing.append(name)
        return missing

    def run(self, args: Sequence[str], password: Optional[str] = None) -> None:
        """Run docker with its output let through (push progress stays visible); `password`, if
        any, goes to its standard input. DockerError when it fails."""
        sys.stdout.flush()  # our lines before docker's, also when stdout is a pipe
        sys.stderr.flush()
        try:
            done = subprocess.run([self.executable, *args], text=True, stdout=self.output,
                                  input=password, stdin=None if password else subprocess.DEVNULL)
        except OSError as e:
            raise DockerError(f"cannot run {self.executable}: {e.strerror or e}") from None
        if done.returncode != 0:
            raise DockerError(f"`{command_line(args)}` failed (exit {done.returncode}); docker's "
                              "message is above")


def command_line(args: Sequence[str]) -> str:
    """A docker command as a shell would show it."""
    return shlex.join(["docker", *args])


def login_args(host: str) -> list[str]:
    return ["login", "--username", "AWS", "--password-stdin", host]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""
