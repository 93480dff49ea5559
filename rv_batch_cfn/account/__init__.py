"""Wing 2: operations on the user's AWS account and local tools. Never builds resources."""
