"""The instance catalogue against ec2:DescribeInstanceTypes as AWS answers it: moto ships a
recording of that answer (moto/ec2/resources/instance_types.json.gz), which is read here as data,
not through the emulator."""

from __future__ import annotations

import functools
import gzip
import re
import json
from pathlib import Path

import moto
import pytest

from rv_batch_cfn.instance_types import CATALOGUE, lookup

RECORDED = Path(moto.__file__).parent / "ec2" / "resources" / "instance_types.json.gz"


@functools.cache
def recorded() -> dict:
    """The recording, read once, when a test first needs it (not while each worker collects)."""
    with gzip.open(RECORDED, "rt") as f:
        return json.load(f)
# Sizes the regular CPU table names that c5 does not have (it has 9xlarge and 18xlarge).
NOT_SOLD = {"c5.8xlarge", "c5.16xlarge"}


@pytest.mark.parametrize("name", sorted(set(CATALOGUE) - NOT_SOLD))
def test_catalogue_matches_aws(name):
    aws = recorded()[name]
    disks = aws.get("InstanceStorageInfo", {}).get("Disks", [])
    assert len(disks) <= 1  # one kind of disk per type: (count, GB each) says it all
    expected = (aws["VCpuInfo"]["DefaultVCpus"], aws["MemoryInfo"]["SizeInMiB"],
                sum(g["Count"] for g in aws.get("GpuInfo", {}).get("Gpus", [])),
                (disks[0]["Count"], disks[0]["SizeInGB"]) if disks else (0, 0))
    it = CATALOGUE[name]
    assert (it.vcpus, it.memory_mib, it.gpus, it.instance_store) == expected
    if disks:
        assert aws["InstanceStorageInfo"]["NvmeSupport"] == "required"  # what the boothook finds


def test_catalogue_families():
    families = {name.split(".")[0] for name in CATALOGUE}
    # p3 is gone (no AL2023 NVIDIA driver for V100); the current GPU and "d" families are in.
    assert "p3" not in families
    assert {"g4dn", "g5", "g6", "g6e", "p4d", "p5", "m6id", "c6id", "r6id", "m5d"} <= families
    assert NOT_SOLD - set(recorded()) == NOT_SOLD


@pytest.mark.parametrize("name, store", [
    ("g5.2xlarge", 450), ("g6.2xlarge", 450), ("g4dn.2xlarge", 225), ("m6i.xlarge", 0),
    ("g6.12xlarge", 4 * 940), ("p5.48xlarge", 8 * 3800), ("m6id.xlarge", 237),
])
def test_instance_store_totals(name, store):
    assert lookup(name).instance_store_gb == store


INSTANCES_PAGE = Path(__file__).resolve().parents[1] / "docs" / "instances.md"


def scratch_rows() -> list[tuple[list[str], str]]:
    text = INSTANCES_PAGE.read_text().split("## Scratch space", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 2:
            rows.append((re.findall(r"`([a-z0-9]+\.[a-z0-9]+)`", cells[0]), cells[1]))
    return rows


def test_docs_scratch_table_matches_the_catalogue():
    from rv_batch_cfn import StackConfig

    rows = scratch_rows()
    defaults = [t for _, c in StackConfig().kinds() for t in c.instance_types]
    assert set(defaults) <= {t for names, _ in rows for t in names}  # every default type
    for names, said in rows:
        types = [lookup(name) for name in names]
        if "root volume" in said:
            assert all(t.instance_store == (0, 0) for t in types)
            assert f"{StackConfig().cpu.root_volume_gib} GiB gp3" in said
            continue
        raid = re.search(r"RAID 0 of (\d+) × (\d+) GB", said)
        if raid:
            (t,) = types
            assert t.instance_store == (int(raid[1]), int(raid[2]))
            assert said.startswith(f"{t.instance_store_gb} GB")
        else:
            assert [int(n) for n in re.findall(r"(\d+) GB", said)] == \
                [t.instance_store_gb for t in types]
            assert all(t.instance_store[0] == 1 for t in types)
