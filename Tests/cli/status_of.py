#!/usr/bin/env python3
"""status_of.py COMMAND...: runs COMMAND and prints its status as Popen sees
it (N for exit(N), -N for death by signal N), with its output passed through."""
import subprocess
import sys

print(subprocess.run(sys.argv[1:]).returncode)
