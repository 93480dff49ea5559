"""The statuses of a finding, one vocabulary for every check that reports some: doctor's checks
and the vCPU quota check (which doctor, deploy, smoke-test and choose-subnets show)."""

from __future__ import annotations

OK = "ok"
PROBLEM = "problem"
NOTE = "note"  # worth knowing, not wrong: an unchecked hosted image, no Raster Vision config
WARNING = "warning"  # works, but likely not as meant (a cost trap); not counted as a problem
STATUSES = (OK, PROBLEM, NOTE, WARNING)
