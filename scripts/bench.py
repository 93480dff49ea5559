"""`make bench`: `rv-batch-cfn template` against the cfn-lint command line on the same file, with
the same checks (`--include-checks I`: `template` reports informational findings too).

Paired runs, taken in turn (A B A B ...) so that a machine whose speed drifts affects both alike;
each figure is the median over the runs, and the ratio is the median of the pairs' ratios.
`rv-batch-cfn template` is timed twice: cold (its lint cache turned off, so cfn-lint runs in it
every time) and warm (the template was found clean before, so it is not linted again). Then the
median time of each step inside one process: import, build, render, lint.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 7
BIN = Path(sys.executable).parent


def wall(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def paired(a: list[str], b: list[str], env_a: dict[str, str], env_b: dict[str, str]
           ) -> tuple[float, float, float]:
    wall(a, env_a), wall(b, env_b)  # warm-up: the disk cache, compiled bytecode
    pairs = [(wall(a, env_a), wall(b, env_b)) for _ in range(RUNS)]
    return (statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs),
            statistics.median(p[0] / p[1] for p in pairs))


def steps() -> list[tuple[str, float]]:
    code = ("import time; t = time.perf_counter(); import rv_batch_cfn; "
            "print(time.perf_counter() - t)")
    imports = [float(subprocess.run([sys.executable, "-c", code], check=True,
                                    capture_output=True, text=True).stdout) for _ in range(RUNS)]
    from rv_batch_cfn import build_template, lint_template, render_yaml

    def timed(fn):
        samples, result = [], None
        for _ in range(RUNS):
            start = time.perf_counter()
            result = fn()
            samples.append(time.perf_counter() - start)
        return statistics.median(samples), result

    lint_template(render_yaml(build_template()))  # cfn-lint loads its schemas on first use
    build, template = timed(build_template)
    render, text = timed(lambda: render_yaml(template))
    lint, _ = timed(lambda: lint_template(text))
    return [("import", statistics.median(imports)), ("build", build), ("render", render),
            ("lint", lint)]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        output = str(Path(tmp) / "template.yml")
        generate = [str(BIN / "rv-batch-cfn"), "template", "-o", output]
        cfn_lint = [str(BIN / "cfn-lint"), output, "--include-checks", "I"]
        cold = {**os.environ, "RV_BATCH_CFN_CACHE_DIR": ""}
        warm = {**os.environ, "RV_BATCH_CFN_CACHE_DIR": str(Path(tmp) / "cache")}
        subprocess.run(generate, check=True, env=warm, stderr=subprocess.DEVNULL)
        print(f"median of {RUNS} paired runs, wall seconds (cfn-lint {output.rsplit('/', 1)[-1]} "
              "--include-checks I: the same file, the same checks)")
        for name, env in (("cold", cold), ("warm", warm)):
            mine, theirs, ratio = paired(generate, cfn_lint, env, os.environ.copy())
            print(f"  rv-batch-cfn template ({name}) {mine:6.3f} s   cfn-lint {theirs:6.3f} s   "
                  f"ratio {ratio:.2f}")
    print(f"median of {RUNS} runs of each step, in one process")
    for name, seconds in steps():
        print(f"  {name:<7} {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
