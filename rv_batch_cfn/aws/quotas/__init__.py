"""EC2 vCPU quotas and spot capacity: will a job of each kind start, and if not, what to do.
Quotas are per region and per account.
"""
