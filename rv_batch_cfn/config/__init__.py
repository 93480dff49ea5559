"""The stack described as typed, frozen data, and what makes it valid.

    limits.py   what the services allow: bounds, patterns, allowed values
    model.py    StackConfig, ComputeConfig and TrainSize, whose defaults are the console template's
    checks.py   the rules of a valid stack; validate() and from_dict report every problem at once
    data.py     from_dict and as_dict: a config from plain data (a config file) and back
    file.py     a config from a YAML or JSON file (--config), read with the CLI's input limits
"""

from __future__ import annotations

from .data import as_dict, from_dict
from .limits import HOSTED_IMAGE, ON_DEMAND, SPOT
from .model import ComputeConfig, StackConfig, TrainSize

__all__ = ["StackConfig", "ComputeConfig", "TrainSize", "from_dict", "as_dict", "SPOT", "ON_DEMAND",
           "HOSTED_IMAGE"]
