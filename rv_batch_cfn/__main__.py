"""`python -m rv_batch_cfn` runs the CLI."""

import sys

from .cli import main

sys.exit(main())
