#!/usr/bin/env python3
"""Wait until the machine is quiet (other load < LIMIT % of one core for
SECS consecutive seconds), at most TIMEOUT seconds. Prints what it saw."""
import os, sys, time
LIMIT = float(sys.argv[1]) if len(sys.argv) > 1 else 20
SECS = int(sys.argv[2]) if len(sys.argv) > 2 else 4
TIMEOUT = float(sys.argv[3]) if len(sys.argv) > 3 else 180
def stat():
    with open('/proc/stat') as f:
        c = [int(x) for x in f.readline().split()[1:]]
    return sum(c) - c[3] - c[4], sum(c)
t0 = time.time(); ok = 0; prev = stat()
while time.time() - t0 < TIMEOUT:
    time.sleep(1)
    cur = stat()
    busy = 100.0 * (cur[0] - prev[0]) / max(1, cur[1] - prev[1]) * os.cpu_count()
    prev = cur
    ok = ok + 1 if busy < LIMIT else 0
    if ok >= SECS:
        print(f'quiet after {time.time()-t0:.0f}s (last {busy:.0f}% of one core)'); sys.exit(0)
print(f'NOT QUIET after {TIMEOUT:.0f}s (last {busy:.0f}% of one core)'); sys.exit(1)
