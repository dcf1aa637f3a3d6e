"""Tests of the command line (in process; one subprocess test for exit codes)."""
