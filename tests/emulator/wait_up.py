"""Waits until the emulator answers on 127.0.0.1:PORT (exit 0), or its process PID is gone or
30 s have passed (exit 1). Used by scripts/emulator.sh and tests/support/nextest-emulator.sh.

    wait_up.py PORT PID
"""
import os
import sys
import time
import urllib.request

port, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).read()
        sys.exit(0)
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            sys.exit(1)
        time.sleep(0.05)
sys.exit(1)
