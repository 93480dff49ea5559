"""Sample inputs and expectations that several test modules share."""

from __future__ import annotations

# Every short form of an intrinsic function the templates use, for the template loaders
# (tests/test_template_loader.py, tests/test_moto_speed.py).
SHORT_FORMS = """\
A: !Ref Name
B: !GetAtt Role.Arn
C: !GetAtt [Role, Arn]
D: !Sub "${AWS::StackName}-x"
E: !If [Cond, !Ref A, !Ref "AWS::NoValue"]
F: !And [!Condition One, !Equals [!Ref P, "1"]]
G: !ImportValue
  Fn::Sub: "${Stack}-Vpc"
H: !Join ["", [!Select [0, !Split [",", !Ref L]]]]
"""

# The GPU families the GPU kind refuses and what every message says to use instead
# (tests/test_gpu_families.py, tests/aws/test_gpu_and_volume_checks.py).
INSTEAD = "use g4dn, g5, g6, g6e, p4d or p5 instead"


# (name given, family named in the message, what the message says the family has)
REFUSED = [
    ("p2.xlarge", "p2", "NVIDIA K80 GPUs"),
    ("p3.2xlarge", "p3", "NVIDIA V100 GPUs"),
    ("p3", "p3", "NVIDIA V100 GPUs"),
    ("p3dn.24xlarge", "p3dn", "NVIDIA V100 GPUs"),
    ("g2.2xlarge", "g2", "NVIDIA GRID K520 GPUs"),
    ("g3.4xlarge", "g3", "NVIDIA M60 GPUs"),
    ("g3s.xlarge", "g3s", "NVIDIA M60 GPUs"),
    ("g4ad.xlarge", "g4ad", "AMD Radeon Pro GPUs"),
    ("inf1.xlarge", "inf1", "AWS Inferentia chips"),
    ("inf2", "inf2", "AWS Inferentia chips"),
    ("trn1.2xlarge", "trn1", "AWS Trainium chips"),
    ("trn1n.32xlarge", "trn1n", "AWS Trainium chips"),
    ("trn2.48xlarge", "trn2", "AWS Trainium chips"),
    ("dl1.24xlarge", "dl1", "Habana Gaudi or Qualcomm accelerators"),
    ("dl2q.24xlarge", "dl2q", "Habana Gaudi or Qualcomm accelerators"),
]
