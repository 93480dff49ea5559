"""`make bench`: median time of import, build, render and lint over a few runs.

Import is timed in fresh interpreters (a second import in one process costs nothing); build,
render and lint in this process, the way `rv-batch-cfn template` runs them.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 5
IMPORT = ("import time; t = time.perf_counter(); import rv_batch_cfn; "
          "print(time.perf_counter() - t)")


def timed(fn, runs=RUNS):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def main() -> None:
    imports = [float(subprocess.run([sys.executable, "-c", IMPORT], check=True,
                                    capture_output=True, text=True).stdout) for _ in range(RUNS)]
    from rv_batch_cfn import build_template, lint_template, render_yaml

    lint_template(render_yaml(build_template()))  # cfn-lint loads its schemas on first use
    build, template = timed(build_template)
    render, text = timed(lambda: render_yaml(template))
    lint, _ = timed(lambda: lint_template(text))
    print(f"median of {RUNS} runs (template: {len(text.encode())} bytes)")
    for name, seconds in [("import", statistics.median(imports)), ("build", build),
                          ("render", render), ("lint", lint)]:
        print(f"  {name:<7} {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
