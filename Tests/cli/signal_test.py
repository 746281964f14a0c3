#!/usr/bin/env python3
"""signal_test.py READY SIGNAME EXPECTED -- COMMAND...

Starts COMMAND, waits until the file READY exists (the program is ready for
signals), sends SIGNAME to COMMAND's process (mapwarden itself) and checks
that it ends with EXPECTED: an exit status, or -N for death by signal N
(Popen's convention)."""
import os
import signal
import subprocess
import sys
import time

ready, signame, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
command = sys.argv[5:]
proc = subprocess.Popen(command)
deadline = time.monotonic() + 120
while not os.path.exists(ready):
    if proc.poll() is not None:
        sys.exit(f"the program ended before it was ready (status {proc.returncode})")
    if time.monotonic() > deadline:
        proc.kill()
        sys.exit("the program never became ready")
    time.sleep(0.01)
proc.send_signal(getattr(signal, signame))
try:
    status = proc.wait(timeout=120)
except subprocess.TimeoutExpired:
    proc.kill()
    sys.exit(f"mapwarden did not end after {signame}")
print(f"after {signame}: status {status} (expected {expected})")
sys.exit(0 if status == expected else 1)
