# shellcheck shell=bash
# What the component scripts share (sourced by tests/ipfs-node.sh and tests/pinning-service.sh):
# the private-namespace check, a free port, and stopping a background process by its PID
# without ever signalling a process that merely reuses that PID. The sourcing script defines
# die().

# Refuses unless the only network interface is lo: components run only in a private namespace.
require_private_netns() {
  local others
  others=$(ip -o link | awk -F': ' '{ print $2 }' | grep -vx lo || true)
  [ -z "$others" ] ||
    die "refusing to run outside a private network namespace (interfaces: $(echo "$others" | tr '\n' ' ')); use tests/netns.sh"
}

# A TCP port of 127.0.0.1 that nothing listens on now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# is_ours PID MARK: whether PID is alive (a killed process its parent has not reaped yet is a
# zombie, which `kill -0` still finds) and was started with the environment entry MARK
# (VAR=VALUE), so a PID reused by another process is never taken for ours.
is_ours() {
  local pid=$1 mark=$2 state
  state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] || return 1
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "$mark"
}

# stop_pid DIR MARK: stops the process whose PID is in DIR/pid, if it is ours (see is_ours):
# TERM, then KILL after 10 s; waits until it is gone and removes DIR/pid.
stop_pid() {
  local dir=$1 mark=$2 pid i
  [ -f "$dir/pid" ] || return 0
  pid=$(cat "$dir/pid")
  if is_ours "$pid" "$mark"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      is_ours "$pid" "$mark" || break
      sleep 0.1
    done
    if is_ours "$pid" "$mark"; then
      kill -KILL "$pid" 2>/dev/null || true
      while is_ours "$pid" "$mark"; do sleep 0.1; done
    fi
  fi
  rm -f "$dir/pid"
}

# wait_ready DIR PID LOG TIMEOUT MARK COMMAND...: waits until COMMAND succeeds (the component
# answers). Fails, showing the end of LOG, if the process PID exits first, or (after stopping
# it, see stop_pid) if TIMEOUT seconds pass.
wait_ready() {
  local dir=$1 pid=$2 log=$3 timeout=$4 mark=$5 i
  shift 5
  for ((i = 0; i < timeout * 10; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$dir/pid"
      tail -n 20 "$log" >&2
      die "process $pid exited before it answered (log: $log)"
    fi
    sleep 0.1
  done
  stop_pid "$dir" "$mark"
  tail -n 20 "$log" >&2
  die "process $pid did not answer within ${timeout}s (log: $log)"
}
