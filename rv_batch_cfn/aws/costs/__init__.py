"""What the stack costs: each job attempt's estimate, the prices it uses, and Cost Explorer."""
