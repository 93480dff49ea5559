"""EC2 vCPU quotas and spot capacity: will a job of each kind start, and if not, what to do.

codes.py (which quota an instance type counts against, spot and on-demand apart), check.py
(what the stack needs of each quota, the values in the region, the findings), placement.py
(spot placement scores per zone and per region), requests.py (`request-quota`: the increases
to file, those pending, filing them). Quotas are per region and per account.
"""
