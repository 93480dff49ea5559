"""Raster Vision's configuration from a deployed stack (`rv-config`), and the formats it prints:
current Raster Vision's [BATCH] section, the [AWS_BATCH] section of Raster Vision 0.9/0.10, or
export lines. The formats are here, apart from profile.py (which imports the template's output
names), so that the command line offers them without loading the template."""

BATCH = "batch"
AWS_BATCH = "aws_batch"
ENV = "env"
FORMATS = (BATCH, AWS_BATCH, ENV)
