"""Statements of the docs and of `make help` that can be checked against the code: the choices
a make variable offers are the command's, the commands said to check spot capacity are those
that ask for placement scores, the idle cost of a minimum of vCPUs follows the price table,
`MinimumVCPUs`/`MaximumVCPUs` apply to each compute environment, the generators whose
`--output` is a file are the ones named, README step 9 runs only a pre-deploy command before
deploying, the packaged Packer is not what the AMI page recommends, and the docs index promises
no first pipeline in minutes."""

from __future__ import annotations

import re

import pytest

from rv_batch_cfn import cli
from rv_batch_cfn.aws import permissions
from rv_batch_cfn.aws.ami.build_access import SSH_TO_AL2023_FROM
from tests.emulator import ROOT, TEMPLATE, load_template

MAKEFILE = ROOT / "Makefile"
README = ROOT / "README.md"
DOCS = ROOT / "docs"
HOURS_PER_MONTH = 730
# VAR=a|b|c in a target's help or usage line
CHOICES = re.compile(r"\b([A-Z_]+)=([a-z0-9_-]+(?:\|[a-z0-9_-]+)+)")


def subparsers() -> dict:
    parser = cli.build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    return sub.choices


def make_targets() -> list[tuple[str, str, str]]:
    """(target, its help and usage text, its recipe) of each target with a `## help`."""
    found = []
    lines = MAKEFILE.read_text().splitlines()
    for i, line in enumerate(lines):
        head = re.match(r"^([a-z-]+):.*## (.*)$", line)
        if not head:
            continue
        recipe = []
        for follow in lines[i + 1:]:
            if not follow.startswith("\t"):
                break
            recipe.append(follow)
        usage = " ".join(r for r in recipe if "usage:" in r)
        found.append((head[1], head[2] + " " + usage, "\n".join(recipe)))
    return found


def option_of(recipe: str, variable: str) -> tuple[str, str]:
    """The rv-batch-cfn command of a recipe and the option it passes `variable` to."""
    command = re.search(r"\$\(CLI\) ([a-z-]+)", recipe)
    option = re.search(r"(--[a-z-]+) '?\$\(" + variable + r"\)", recipe)
    assert command and option, (variable, recipe)
    return command[1], option[1]


def test_make_help_offers_the_choices_of_the_command():
    parsers = subparsers()
    checked = []
    for target, text, recipe in make_targets():
        for variable, offered in set(CHOICES.findall(text)):
            command, option = option_of(recipe, variable)
            [action] = [a for a in parsers[command]._actions if option in a.option_strings]
            assert set(offered.split("|")) == set(action.choices), (target, variable)
            checked.append((target, variable))
    assert ("smoke-test", "KIND") in checked and ("permissions", "FOR") in checked


def test_the_make_help_check_fails_on_a_choice_left_out():
    text = "make smoke-test STACK=name [KIND=gpu|cpu]"
    [(variable, offered)] = CHOICES.findall(text)
    parsers = subparsers()
    [action] = [a for a in parsers["smoke-test"]._actions if "--kind" in a.option_strings]
    assert set(offered.split("|")) != set(action.choices)


def generators_with_an_output_file() -> set[str]:
    """The commands whose own --output (after their name) is a file, not the global option."""
    return {name for name, p in subparsers().items()
            if any("--output" in a.option_strings and a.dest != "output_format"
                   for a in p._actions)}


def test_the_generators_whose_output_is_a_file_are_the_ones_named():
    generators = generators_with_an_output_file()
    assert generators  # else the sentences have nothing to say
    readme = README.read_text().split("\n## Commands\n", 1)[1]
    named = re.search(r"The generators \(([^)]*)\) keep\s+`-o/--output FILE`", readme)
    assert named, "README: the generators' --output"
    assert set(re.findall(r"`([a-z-]+)`", named[1])) == generators
    settings = (DOCS / "settings.md").read_text()
    named = re.search(r"The generators \(([^)]*)\) keep", settings)
    assert named and set(re.findall(r"`([a-z-]+)`", named[1])) == generators
    # and every other command takes the global --output after its name
    for name, p in subparsers().items():
        if name not in generators:
            assert any(a.dest == "output_format" for a in p._actions), name


def test_quotas_page_names_the_commands_that_read_spot_capacity():
    scoring = {c for c, calls in permissions.COMMAND_CALLS.items()
               if "ec2:GetSpotPlacementScores" in calls}
    text = " ".join((DOCS / "quotas.md").read_text().split())
    said = re.search(r"check the quotas; ((?:`[a-z-]+`(?:, | and )?)+) also the spot capacity",
                     text)
    assert said, "quotas.md: which commands check spot capacity"
    assert set(re.findall(r"`([a-z-]+)`", said[1])) == scoring


def test_min_and_max_vcpus_apply_to_each_compute_environment_as_the_docs_say():
    template = load_template(TEMPLATE.read_text())
    environments = [r for r in template["Resources"].values()
                    if r["Type"] == "AWS::Batch::ComputeEnvironment"]
    # The optional on-demand GPU environment (a Condition) has its own maximum and no minimum.
    optional = [e["Properties"]["ComputeResources"] for e in environments if "Condition" in e]
    assert [(r["MinvCpus"], r["MaxvCpus"]) for r in optional] == [
        (0, {"Ref": "GpuOnDemandMaximumVCPUs"})]
    resources = [e["Properties"]["ComputeResources"] for e in environments
                 if "Condition" not in e]
    assert len(resources) == 2
    assert all(r["MinvCpus"] == {"Ref": "MinimumVCPUs"} and
               r["MaxvCpus"] == {"Ref": "MaximumVCPUs"} for r in resources)
    costs = " ".join((DOCS / "costs.md").read_text().split())
    assert "It applies to **each** compute environment" in costs
    assert "**each** compute environment keeps that many vCPUs running" in costs
    console = " ".join((DOCS / "console.md").read_text().split())
    assert "each for **each** compute environment" in console


def test_the_idle_cost_of_a_minimum_adds_up_from_the_prices_it_quotes():
    """The prices are quoted from AWS's page (the project keeps no price table: the Pricing
    API is asked), so what is checked is that the types are the defaults with 8 vCPUs and the
    sums follow from the quoted prices."""
    from rv_batch_cfn.config import StackConfig
    from rv_batch_cfn.instance_types import CATALOGUE

    config, vcpus = StackConfig(), 8
    costs = " ".join((DOCS / "costs.md").read_text().split())
    quoted = re.search(r"\((\S+) at \$([\d.]+) to (\S+) at \$([\d.]+), plus (\d+) vCPUs of "
                       r"(\w+) at \$([\d.]+) to (\w+) at \$([\d.]+) each;", costs)
    assert quoted, "the quoted prices of the idle cost"
    gpu_low, gpu_low_usd, gpu_high, gpu_high_usd, cpu_vcpus, cpu_low, cpu_low_usd, cpu_high, \
        cpu_high_usd = quoted.groups()
    assert {gpu_low, gpu_high} <= set(config.gpu.instance_types)
    assert CATALOGUE[gpu_low].vcpus == CATALOGUE[gpu_high].vcpus == int(cpu_vcpus) == vcpus
    families = {t.split(".")[0] for t in config.cpu.instance_types}
    assert {cpu_low, cpu_high} <= families
    low = float(gpu_low_usd) + vcpus * float(cpu_low_usd)
    high = float(gpu_high_usd) + vcpus * float(cpu_high_usd)
    assert f"`MinimumVCPUs` {vcpus} with the default types" in costs
    assert f"**${low:.2f} to ${high:.2f} an hour**" in costs

    def month(hourly: float) -> str:
        return f"${round(hourly * HOURS_PER_MONTH, -1):,.0f}"
    assert f"about {month(low)} to {month(high)} a month" in costs


def test_readme_step_9_runs_only_pre_deploy_commands_before_deploying():
    text = README.read_text()
    step = text[text.index("\n9. "):text.index("From a terminal instead")]
    before, after = re.split(r"right after deploying", step, maxsplit=1, flags=re.I)
    parsers = subparsers()

    def needs_a_stack(command: str) -> bool:
        return any(a.dest == "stack" and a.required for a in parsers[command]._actions)
    early = re.findall(r"`make ([a-z-]+)", before)
    assert early and not [c for c in early if needs_a_stack(c)]
    late = re.findall(r"make ([a-z-]+) STACK=", after)
    assert late and all(needs_a_stack(c) for c in late)


def test_the_ami_page_recommends_a_packer_that_signs_in_to_the_default_base():
    text = " ".join((DOCS / "ami.md").read_text().split())
    version = ".".join(map(str, SSH_TO_AL2023_FROM))
    need = text[text.index("## Steps"):text.index("```shell", text.index("## Steps"))]
    assert f"**Packer {version} or later**" in need
    # The packaged Packer is named only as the one that cannot sign in.
    sentences = [x for x in re.split(r"(?<=\.) ", need) if "apt-get install packer" in x]
    assert all("cannot sign in" in x for x in sentences)


@pytest.mark.parametrize("page", [DOCS / "README.md", README], ids=lambda p: p.name)
def test_no_page_promises_a_first_pipeline_in_minutes(page):
    text = " ".join(page.read_text().split())
    assert not re.search(r"first pipeline in (ten|\d+) minutes", text)
    if page.name == "README.md" and page.parent == DOCS:
        assert "vCPU quota increase on a new account" in text
