#!/usr/bin/env bash
# The session reaper of one Node process (a worker, a CLI run, a test): started once by
# activities/runtime/reaper.ts, in its own session, with a pipe from that process on stdin. Every tool the
# process starts leads a session of its own (spawned detached); the process writes "+SID" when it starts
# one and "-SID" when it is gone. When stdin closes (the process exited, crashed or was SIGKILLed) every
# process of every session still registered is killed, mpirun's ranks included (they take process groups
# of their own but stay in mpirun's session), so no tool outlives the process that started it.
trap '' INT TERM HUP QUIT # aimed at the parent's terminal or process group, not at us
declare -A live=()
while IFS= read -r line; do
  sid=${line:1}
  [[ $sid =~ ^[0-9]+$ ]] || continue
  case ${line:0:1} in
    +) live[$sid]=1 ;;
    -) unset "live[$sid]" ;;
  esac
done
((${#live[@]})) || exit 0
for stat in /proc/[0-9]*/stat; do
  read -r fields <"$stat" 2>/dev/null || continue
  pid=${fields%% *}
  rest=${fields##*) } # after the command name, which may hold spaces and parentheses
  read -r _state _ppid _pgrp session _ <<<"$rest"
  [[ -n ${live[$session]:-} ]] && kill -KILL "$pid" 2>/dev/null
done
exit 0
