"""The library layer: everything that talks to AWS, Packer and Docker. It returns data and raises
the errors of rv_batch_cfn.errors; it never prints, parses arguments or exits (progress goes to a
callback the command layer passes in). Never builds template resources."""
