"""The GPU AMI: `create-ami`, `validate-ami` and `find-base-ami`: settings, Packer, the base AMI,
the AMI a build recorded, and the checks of a custom AMI."""
