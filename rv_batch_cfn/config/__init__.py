"""The stack described as typed, frozen data, and what makes it valid. Its modules are listed in
ARCHITECTURE.md.
"""

from __future__ import annotations

from .data import as_dict, from_dict
from .limits import HOSTED_IMAGE, ON_DEMAND, SPOT
from .model import ComputeConfig, StackConfig

__all__ = ["StackConfig", "ComputeConfig", "from_dict", "as_dict", "SPOT", "ON_DEMAND",
           "HOSTED_IMAGE"]
