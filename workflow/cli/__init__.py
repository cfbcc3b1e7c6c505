"""`eventflow`: the command line."""
