"""AWS plumbing every feature shares: the boto3 session and its errors, client timeouts, a
deployed stack, and the EC2 and Batch reads several commands make."""
