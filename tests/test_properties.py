"""Properties of every input path, checked on inputs Hypothesis generates rather than on the cases
someone thought of (tests/test_hostile_inputs.py has those):

- a command exits 0, 1 or 2 as documented; on error (2) it prints one message and never a
  traceback, and leaves every file as it was, writing none;
- a file it writes parses and keeps what it must: the other sections, settings and comments.

The commands run in this process (tests/cli_runner.py), offline: AWS_ENDPOINT_URL points where
nothing listens, so a command that gets past its checks to a call of AWS fails there, with one
message too (a refusal before the call, or the failed call, both exit 2). What a written file
keeps is checked on the library functions the commands write with. The suite's budget of examples
and its fixed seed are in tests/conftest.py; `make fuzz` runs ten times more.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import cfn_flip
import pytest
import yaml
from hypothesis import assume, event, given, note
from hypothesis import strategies as st

from rv_batch_cfn.aws.ami import base as base_ami
from rv_batch_cfn.aws.rv_config.profile import BatchSettings, check_config_file, write_config
from rv_batch_cfn.config import StackConfig, from_dict
from rv_batch_cfn.errors import RvBatchError
from rv_batch_cfn.template import outputs as out
from tests import cli_runner
from tests.emulator import TEMPLATE
from tests.hostile import snapshot

NOWHERE = "http://127.0.0.1:9"  # nothing listens: a command that reached AWS fails there
ERROR_LINE = re.compile(r"^rv-batch-cfn[\w -]*: error: ", re.MULTILINE)


def offline_env(home: Path) -> dict[str, str]:
    """The environment of one command: no AWS settings of the developer's, an endpoint where
    nothing listens, one attempt per call, and the session's lint cache."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "AWS_ENDPOINT_URL": NOWHERE,
           "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_MAX_ATTEMPTS": "1",
           "AWS_EC2_METADATA_DISABLED": "true"}
    if "RV_BATCH_CFN_CACHE_DIR" in os.environ:
        env["RV_BATCH_CFN_CACHE_DIR"] = os.environ["RV_BATCH_CFN_CACHE_DIR"]
    return env


def run(folder: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess:
    """`rv-batch-cfn ARGS` in this process, from `folder`, offline."""
    return cli_runner.run(args, env={**offline_env(folder), **(env or {})}, cwd=folder)


def assert_documented(result: subprocess.CompletedProcess, allowed=(0, 1, 2)) -> None:
    """An exit code the command documents; on error one bounded message, never a traceback."""
    note(f"exit {result.returncode}; stderr: {result.stderr[:2000]!r}")
    # Shown by --hypothesis-show-statistics: how many examples took each way out.
    reached = any(s in result.stderr for s in ("cannot reach AWS", "Could not connect"))
    event(f"exit {result.returncode}" + (": stopped at the first call" if reached else
                                         ": refused before any call"
                                         if result.returncode == 2 else ""))
    assert result.returncode in allowed
    assert "Traceback" not in result.stderr
    if result.returncode == 2:
        assert len(ERROR_LINE.findall(result.stderr)) == 1
        assert len(result.stderr) < 10_000


# ---- generated inputs

# Text a user could put in an argument or a file: any character but NUL (which argv and most
# files cannot hold), and now and then the lone surrogates Python makes of bytes that are not
# UTF-8 (os.fsdecode).
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
               | st.sampled_from(["\udcff", "\udc80"]), max_size=40)
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | TEXT
           | st.integers(min_value=10 ** 20, max_value=10 ** 30))
JSON_LIKE = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12)
COMPUTE_FIELDS = ["instance_types", "job_vcpus", "job_memory_mib", "root_volume_gib", "capacity",
                  "ami", "hosted_image", "repository_name", "repository_mode",
                  "root_volume_throughput_mibs", "root_volume_iops"]
FIELDS = [name for name in StackConfig.__dataclass_fields__ if name not in ("gpu", "cpu")]
# Values near what each field takes: a plausible value more often than an arbitrary one.
NEAR_VALUES = (st.integers(min_value=-2, max_value=100_000) | st.booleans()
               | st.lists(st.sampled_from(["rv-data", "*", "g5.2xlarge", "m6i", "My_Bucket", ""]),
                          max_size=3)
               | st.sampled_from(["", "rv", "latest", "SPOT", "create", "existing",
                                  "10.0.0.0/16", "0.0.0.0/0", "ami-0123456789abcdef0",
                                  "arn:aws:kms:us-east-1:123456789012:key/abc", "a@b.example"])
               | JSON_LIKE)
COMPUTE = st.dictionaries(st.sampled_from(COMPUTE_FIELDS) | TEXT, NEAR_VALUES, max_size=4)
# Mappings shaped like StackConfig data: its own keys (and some others) with values near theirs.
CONFIG_DATA = st.dictionaries(
    st.sampled_from(FIELDS) | TEXT, NEAR_VALUES, max_size=6).flatmap(
    lambda top: st.fixed_dictionaries({}, optional={"gpu": COMPUTE, "cpu": COMPUTE | JSON_LIKE})
    .map(lambda kinds: {**top, **kinds}))
ANY_DATA = CONFIG_DATA | JSON_LIKE


def serialised(data) -> st.SearchStrategy[bytes]:
    """`data` as a file: YAML or JSON."""
    def dump(as_json: bool) -> bytes:
        if as_json:
            return json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogateescape")
        return yaml.safe_dump(data, allow_unicode=True).encode("utf-8", "surrogateescape")
    return st.booleans().map(dump)


DOCUMENT_BYTES = st.binary(max_size=200) | ANY_DATA.flatmap(serialised)


# ---- config files, StackConfig data, templates


@given(data=ANY_DATA)
def test_from_dict_builds_a_valid_config_or_names_every_problem(data):
    try:
        config = from_dict(data) if isinstance(data, dict) else from_dict({"x": data})
    except RvBatchError as e:
        event("refused")
        message = str(e)
        assert message and "Traceback" not in message
        return
    event("built")
    assert isinstance(config, StackConfig)
    assert config.validate() is config


@given(document=DOCUMENT_BYTES, command=st.sampled_from(["template", "job-def-template"]))
def test_a_config_file_is_used_or_refused_whole(document, command):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "config.yml").write_bytes(document)
        (folder / "out.yml").write_text("the previous output\n")
        before = snapshot(folder)
        result = run(folder, command, "--config", "config.yml", "-o", "out.yml")
        assert_documented(result, allowed=(0, 2))
        if result.returncode == 2:
            assert snapshot(folder) == before
        else:
            written = cfn_flip.load((folder / "out.yml").read_text())[0]
            assert written["Resources"]
            assert sorted(snapshot(folder)) == sorted(before)  # no temporary file left


@given(document=DOCUMENT_BYTES)
def test_lint_reads_or_refuses_any_template(document):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "t.yml").write_bytes(document)
        before = snapshot(folder)
        result = run(folder, "lint", "t.yml")
        assert_documented(result)  # 0 clean, 1 findings, 2 unreadable
        assert snapshot(folder) == before


@given(document=DOCUMENT_BYTES)
def test_deploy_refuses_any_template_or_fails_at_the_first_call(document):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "t.yml").write_bytes(document)
        before = snapshot(folder)
        result = run(folder, "deploy", "--stack", "rv", "--yes", "--template", "t.yml")
        assert_documented(result, allowed=(2,))
        assert snapshot(folder) == before


# ---- values on the command line


def deploy_args(template: Path, params: list[str]) -> list[str]:
    return ["deploy", "--stack", "rv", "--yes", "--template", str(template),
            *(a for p in params for a in ("--param", p))]


@given(params=st.lists(st.tuples(st.sampled_from(["Prefix", "S3Buckets", "S3ReadOnlyBuckets",
                                                  "GpuInstanceTypes", "JobAttempts", "Nope"])
                                 | TEXT, TEXT | st.lists(TEXT, max_size=3).map(",".join))
                       .map("=".join) | TEXT, min_size=1, max_size=3))
def test_any_param_value_is_refused_or_reaches_aws(params):
    # --param NAME=VALUE, bucket lists included: refused with one message before any call, or
    # accepted and then stopped by the first call (nothing listens).
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result = run(folder, *deploy_args(TEMPLATE, params))
        assert_documented(result, allowed=(2,))
        assert snapshot(folder) == {}


@given(stack=TEXT, region=TEXT | st.just("us-east-1"),
       command=st.sampled_from(["rv-config", "doctor", "teardown", "smoke-test"]))
def test_any_stack_name_and_region_is_refused_or_reaches_aws(stack, region, command):
    # `--stack=VALUE`: a value that starts with '-' is still the value, not an option.
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        args = [command, f"--stack={stack}", f"--region={region}"]
        if command == "teardown":
            args.append("--yes")
        result = run(folder, *args)
        assert_documented(result, allowed=(2,))
        assert snapshot(folder) == {}


# ---- the Raster Vision profile (rv-config --write)

SECTIONS = st.sampled_from(["BATCH", "batch", "AWS_BATCH", "AWS_S3", "PLUGINS", " BATCH",
                            "DEFAULT"]) | TEXT
KEYS = st.sampled_from(["gpu_job_queue", "GPU_JOB_QUEUE", "cpu_job_def", "attempts", "debug",
                        "region"]) | TEXT
INDENT = st.sampled_from(["", " ", "    ", "\t"])
INI_LINE = st.one_of(
    st.builds(lambda s: f"[{s}]", SECTIONS),
    st.builds(lambda i, k, sep, v: f"{i}{k}{sep}{v}", INDENT, KEYS,
              st.sampled_from([" = ", "=", ": ", " : "]), TEXT),
    st.builds(lambda i, v: f"{i}{v}", st.sampled_from(["  ", "\t", "      "]), TEXT),  # more
    st.builds(lambda i, c, v: f"{i}{c}{v}", INDENT, st.sampled_from(["#", ";"]), TEXT),
    st.just(""), TEXT)
INI_TEXT = (st.lists(INI_LINE, max_size=12).map(lambda lines: "\n".join(lines) + "\n")
            | st.lists(INI_LINE, max_size=12).map("\r\n".join) | TEXT)
SETTINGS = BatchSettings(
    {out.GPU_JOB_QUEUE: "rv-gpu-queue", out.GPU_JOB_DEFINITION: "rv-gpu-def:3",
     out.CPU_JOB_QUEUE: "rv-cpu-queue", out.CPU_JOB_DEFINITION: "rv-cpu-def:3"}, "5")


WRITTEN = {"gpu_job_queue": "rv-gpu-queue", "gpu_job_def": "rv-gpu-def:3",
           "cpu_job_queue": "rv-cpu-queue", "cpu_job_def": "rv-cpu-def:3", "attempts": "5"}


def ini(text: str) -> configparser.ConfigParser:
    """`text` read as Raster Vision's configuration is read (configparser)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def comments(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip().startswith(("#", ";"))]


@given(text=INI_TEXT)
def test_rv_config_write_refuses_an_unreadable_profile_before_any_call(text):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        profile = folder / "default"
        profile.write_bytes(text.encode("utf-8", "surrogateescape"))
        before = snapshot(folder)
        result = run(folder, "rv-config", "--stack", "rv", "--write",
                     env={"RV_CONFIG": str(profile)})
        # Refused (not INI, not UTF-8), or accepted and then stopped by the first call: either
        # way one message, and the profile as it was.
        assert_documented(result, allowed=(2,))
        assert snapshot(folder) == before
        if "Raster Vision config" in result.stderr:
            assert "The file was left unchanged" in result.stderr


@given(text=INI_TEXT)
def test_the_written_profile_parses_and_keeps_everything_else(text):
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "default"
        profile.write_bytes(text.encode("utf-8", "surrogateescape"))
        try:
            check_config_file(path=profile)
        except RvBatchError:
            event("refused")
            assert snapshot(Path(tmp)) == {"default": text.encode("utf-8", "surrogateescape")}
            return
        event("written")
        old = ini(text)
        write_config(SETTINGS, path=profile)
        new_text = profile.read_bytes().decode("utf-8", "surrogateescape")
        new = ini(new_text)  # parses: no continuation left over, no duplicate made
        section = next(s for s in new.sections() if s.lower() == out.BATCH_SECTION.lower())
        was = dict(old[section]) if old.has_section(section) else dict(old.defaults())
        assert dict(new[section]) == {**was, **WRITTEN}
        for other in old.sections():
            if other != section:
                assert dict(new[other]) == dict(old[other])
        assert dict(new.defaults()) == dict(old.defaults())
        # Every comment is kept, in its order.
        kept = iter(comments(new_text))
        assert all(line in kept for line in comments(text))


# ---- settings.mk (find-base-ami --write)

MAKE_VARIABLES = st.sampled_from(["AWS_BATCH_BASE_AMI", "AWS_REGION", "AWS_PROFILE",
                                  "PREPULL_IMAGES", "AWS_BATCH_BASE_AMI_OLD"])
VALUE_TEXT = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd"),
                                   whitelist_characters="-_ ./:,"), max_size=20)
# Lines make reads: assignments (some continued over the next lines, some after an unfinished
# backslash line), comments (some continued too), blank lines, a define block.
MAKE_LINE = st.one_of(
    st.builds(lambda prefix, name, op, value, rest: f"{prefix}{name} {op} {value}{rest}",
              st.sampled_from(["", "export ", "override ", " "]), MAKE_VARIABLES,
              st.sampled_from(["=", ":=", "::=", "?=", "+="]), VALUE_TEXT,
              st.sampled_from(["", "  # a comment", " \\\n  more", " \\\n  more \\\n  end",
                               " \\\nAWS_BATCH_BASE_AMI = inside"])),
    st.builds(lambda text: f"# {text}", VALUE_TEXT),
    st.just("# a continued comment \\\nAWS_BATCH_BASE_AMI = commented"),
    st.just("define AWS_PROFILE\nAWS_BATCH_BASE_AMI = in a define\nendef"),
    st.just(""))
MAKEFILE_TEXT = st.lists(MAKE_LINE, max_size=8).flatmap(
    lambda lines: st.sampled_from(["\n", "", " \\\n", " \\"]).map(
        lambda end: "\n".join(lines) + end if lines else end))
SETTINGS_TEXT = MAKEFILE_TEXT | TEXT
# Read after the settings file: each variable it set, unexpanded (--eval would run before it).
PRINT_VARIABLES = ("$(foreach v,$(sort $(.VARIABLES)),$(if $(filter file override,"
                   "$(origin $(v))),$(info $(v)=$(value $(v)))))\nnothing: ; @:\n")
MAKE = shutil.which("make")


def make_variables(path: Path) -> dict[str, str] | None:
    """The variables `path` sets, as make reads them; None when make refuses the file."""
    printer = path.with_name("print-variables.mk")
    printer.write_text(PRINT_VARIABLES)
    result = subprocess.run([MAKE, "-s", "-f", str(path), "-f", str(printer), "nothing"],
                            capture_output=True, text=True, env={"PATH": os.environ["PATH"]},
                            cwd=path.parent, stdin=subprocess.DEVNULL)
    if result.returncode:
        return None
    found = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return {k: v for k, v in found.items()
            if k not in ("MAKEFLAGS", "CURDIR", ".DEFAULT_GOAL", "MAKEFILE_LIST")}


@given(text=SETTINGS_TEXT)
def test_find_base_ami_write_refuses_or_reaches_aws_and_writes_nothing(text):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "settings.mk").write_bytes(text.encode("utf-8", "surrogateescape"))
        before = snapshot(folder)
        result = run(folder, "find-base-ami", "--write", "--settings", "settings.mk")
        assert_documented(result, allowed=(2,))
        assert snapshot(folder) == before


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
@given(text=MAKEFILE_TEXT)
def test_the_written_settings_set_the_ami_and_keep_every_other_setting(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "settings.mk"
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        before = make_variables(path)
        assume(before is not None)  # what make itself refuses, make would refuse either way
        try:
            base_ami.check_settings_file(path)
        except RvBatchError as e:
            event("refused")
            assert "appends to AWS_BATCH_BASE_AMI" in str(e) or "runs a shell" in str(e)
            return
        event("written")
        base_ami.write_setting(path, "AWS_BATCH_BASE_AMI", "ami-0123456789abcdef0",
                               template=None)
        after = make_variables(path)
        note(f"written: {path.read_bytes()!r}")
        assert after is not None
        # make keeps the blanks before a comment in the value; the commands strip them.
        assert after.get("AWS_BATCH_BASE_AMI", "").strip() == "ami-0123456789abcdef0"
        for name, value in before.items():
            if name != "AWS_BATCH_BASE_AMI":
                assert after.get(name) == value, name
        # Every comment line is kept, in its order.
        kept = iter(make_comments(path.read_text()))
        assert all(line in kept for line in make_comments(text))


def make_comments(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.lstrip().startswith("#")]
