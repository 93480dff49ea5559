"""A stand-in for the docker command line, for tests: no Docker daemon can run where they run.

`install(directory)` writes an executable `docker` there that runs this file. Each call appends
one JSON line to $FAKE_DOCKER_LOG: its arguments, its standard input and its environment, so a
test can assert the exact sequence of commands and where the registry password travelled.
It answers like docker, as far as publish-container can tell:

  version --format ...      the daemon's version; with FAKE_DOCKER_DAEMON=down, docker's own
                            "Cannot connect to the Docker daemon" error
  image inspect ... NAMES   found when each NAME is in $FAKE_DOCKER_IMAGES (comma-separated),
                            else docker's "No such image" error
  login ... --password-stdin HOST
                            remembers HOST; push refuses a registry it has not logged in to
  tag SOURCE TARGET         remembers TARGET -> SOURCE (SOURCE must exist)
  push TARGET               "uploads" to the AWS emulator: ecr:PutImage of a manifest made from
                            SOURCE's name, at $AWS_ENDPOINT_URL, so the emulator
                            records the image and computes its digest, as ECR does on a real
                            push; prints docker's progress lines with that digest
  FAKE_DOCKER_FAIL=COMMAND  makes COMMAND fail with a registry's refusal
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import stat
import sys
from pathlib import Path
from typing import Optional

DAEMON_DOWN = ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
               "Is the docker daemon running?")
REGISTRY = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.[a-z.]+$")


def install(directory: Path) -> Path:
    """Write an executable `docker` into `directory` that runs this file with this Python."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "docker"
    # A shell wrapper rather than a #! line naming the interpreter: #! lines have a length limit.
    path.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} "
                    f"{shlex.quote(str(Path(__file__).resolve()))} \"$@\"\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def read_calls(log: Path) -> list[dict]:
    """The recorded calls, oldest first."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line]


def _normal(name: str) -> str:
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last or "@" in last else f"{name}:latest"


def manifest_for(source: str) -> dict:
    """The image manifest the fake pushes for local image `source`: one layer whose digest
    depends on the name, so different images get different digests and the same image the same."""
    layer = hashlib.sha256(f"layer of {_normal(source)}".encode()).hexdigest()
    config = hashlib.sha256(f"config of {_normal(source)}".encode()).hexdigest()
    return {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": 1024, "digest": f"sha256:{config}"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 4096, "digest": f"sha256:{layer}"}],
    }


def _fail(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code


def _push(target: str, state: dict) -> int:
    host, _, rest = target.partition("/")
    repository, _, tag = rest.rpartition(":")
    if host not in state["logins"]:
        return _fail("no basic auth credentials")
    source = state["tags"].get(target)
    if source is None:
        return _fail(f"An image does not exist locally with the tag: {target}")
    match = REGISTRY.match(host)
    if not match:
        return _fail(f"the fake docker cannot push to {host}: not an ECR registry")
    manifest = manifest_for(source)
    print(f"The push refers to repository [{host}/{repository}]", flush=True)
    print(f"{manifest['layers'][0]['digest'][7:19]}: Pushed", flush=True)
    image, error = _put_image(match["region"], {
        "registryId": match["account"], "repositoryName": repository, "imageTag": tag,
        "imageManifest": json.dumps(manifest)})
    # ECR answers RepositoryNotFoundException; moto fails with an HTTP 500 (publish-container
    # checks the repositories before it pushes, so no test pushes to a missing one).
    if error == "ImageAlreadyExistsException":
        # A registry takes the same manifest under the same tag again (a push run twice);
        # ECR's PutImage, which stands in for it here, refuses it.
        digest = hashlib.sha256(json.dumps(manifest).encode()).hexdigest()
        print(f"{tag}: digest: sha256:{digest} size: 528", flush=True)
        return 0
    if error == "RepositoryNotFoundException":
        return _fail(f"name unknown: The repository with name '{repository}' does not exist "
                     f"in the registry with id '{match['account']}'")
    if image is None:
        return _fail(f"the emulator refused the push: {error}")
    print(f"{tag}: digest: {image['imageId']['imageDigest']} size: 528", flush=True)
    return 0


def _put_image(region: str, request: dict) -> tuple[Optional[dict], str]:
    """ecr:PutImage at $AWS_ENDPOINT_URL (the emulator): the image it recorded, or the error
    type (or the HTTP status and text) it answered. One request in ECR's JSON protocol, without boto3, whose import would
    be most of this process's time; the emulator reads the region from the credential scope
    and checks no signature."""
    import urllib.error
    import urllib.request

    scope = f"{os.environ.get('AWS_ACCESS_KEY_ID', 'testing')}/20250101/{region}/ecr/aws4_request"
    call = urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL"], data=json.dumps(request).encode(), method="POST",
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.PutImage",
                 "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, "
                                  "SignedHeaders=content-type;host, Signature=0"})
    try:
        with urllib.request.urlopen(call, timeout=60) as answer:
            return json.load(answer)["image"], ""
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        try:
            return None, str(json.loads(text)["__type"]).split("#")[-1]
        except (ValueError, KeyError, TypeError):
            return None, f"HTTP {e.code} {text[:200]}".strip()


def main(argv: list[str]) -> int:
    log = Path(os.environ["FAKE_DOCKER_LOG"])
    stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    with log.open("a") as f:
        f.write(json.dumps({"argv": argv, "stdin": stdin, "env": dict(os.environ)}) + "\n")

    state_file = log.with_suffix(".state.json")
    state = (json.loads(state_file.read_text()) if state_file.exists()
             else {"logins": [], "tags": {}})
    images = {_normal(n) for n in os.environ.get("FAKE_DOCKER_IMAGES", "").split(",") if n}
    command = argv[0] if argv else ""
    if os.environ.get("FAKE_DOCKER_FAIL") == command:
        return _fail(f"denied: the fake registry refuses `docker {command}`")
    if command != "version" and os.environ.get("FAKE_DOCKER_DAEMON") == "down":
        return _fail(DAEMON_DOWN)

    if command == "version":
        if os.environ.get("FAKE_DOCKER_DAEMON") == "down":
            print("28.2.2")  # the client part answers; the server part cannot
            return _fail(DAEMON_DOWN)
        print("28.2.2")
    elif argv[:2] == ["image", "inspect"]:
        names = [a for a in argv[2:] if not a.startswith("--") and "{{" not in a]
        absent = [n for n in names if _normal(n) not in images]
        for name in names:
            if name not in absent:
                print(f"sha256:{hashlib.sha256(_normal(name).encode()).hexdigest()}")
        if absent:
            return _fail("\n".join(f"Error response from daemon: No such image: {_normal(n)}"
                                   for n in absent))
    elif command == "login":
        if "--password-stdin" not in argv or not stdin:
            return _fail("Error: Cannot perform an interactive login from a non TTY device")
        state["logins"].append(argv[-1])
        print("Login Succeeded")
    elif command == "tag":
        source, target = argv[1], argv[2]
        if _normal(source) not in images:
            return _fail(f"Error response from daemon: No such image: {_normal(source)}")
        state["tags"][target] = source
    elif command == "push":
        code = _push(argv[1], state)
        if code:
            return code
    else:
        return _fail(f"the fake docker does not know `docker {' '.join(argv)}`")
    state_file.write_text(json.dumps(state))
    return 0


# --- for the tests: where the stand-in lives and what it recorded ---------------------------

ACCOUNT = "123456789012"  # moto's default account
HOST = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
CPU_LOCAL, GPU_LOCAL = "rv-local-cpu:dev", "rv-local-gpu:dev"


class FakeDocker:
    """The stand-in docker of one test: where it lives and what it recorded."""

    def __init__(self, tmp_path: Path):
        self.bin = tmp_path / "bin"
        self.log = tmp_path / "docker-calls.jsonl"
        install(self.bin)

    def env(self, images: str = f"{CPU_LOCAL},{GPU_LOCAL}", **extra: str) -> dict[str, str]:
        # The stand-in comes first on PATH, so a docker installed on this machine is never used.
        return {"PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
                "FAKE_DOCKER_LOG": str(self.log), "FAKE_DOCKER_IMAGES": images, **extra}

    def calls(self) -> list[dict]:
        return read_calls(self.log)

    def argvs(self) -> list[list[str]]:
        return [c["argv"] for c in self.calls()]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
