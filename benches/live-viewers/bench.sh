#!/bin/sh
# How many viewers one "Go live" broadcaster serves: see README.md here.
# usage (as root): ./netns.sh up; ./bench.sh split 1 2 4 6 8 10 12 14 16; ./netns.sh down
# Each N runs in fresh headless Chromiums inside the lanrtc-viewers namespace;
# results go to $OUT (default /tmp/lanrtc-live-viewers); summarize.py prints tables.
cd "$(dirname "$0")" || exit 1
MODE=${1:-split}; shift
NS=${NS:-"1 2 4 6 8 10 12"}
[ $# -gt 0 ] && NS="$*"
for n in $NS; do
  python3 wait_quiet.py 20 4 "${QUIET_TIMEOUT:-240}"
  echo "=== $MODE n=$n $(date +%T) loadavg $(cat /proc/loadavg)"
  timeout 130 ip netns exec lanrtc-viewers nice -n 10 python3 run.py "$n" "$MODE" "${EXTRA:-}" "${PREFIX:-}$MODE-n$n" | grep -E 'RUN|RESULT|ERROR|camera|viewers decode'
  sleep 3
done
