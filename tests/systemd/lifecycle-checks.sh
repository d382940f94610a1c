# lifecycle-checks.sh: socket activation, LISTEN_PIDFDID, the watchdog and the fd store,
# under real systemd (252, 257, the newest). Sourced by check-systemd.sh once the container
# is up (it is not a program of its own); it uses that script's helpers: peer, noted, note,
# ok, not_ok, expect, and the binaries installed under /opt/test:
#
#   check_socket_activation  socket-activated, started by two .socket units with
#                            FileDescriptorName=greeting and =admin; each connection is
#                            answered "hello from <the name of the socket it came in on>"
#   check_listen_pidfdid     where the manager sets LISTEN_PIDFDID: readyd took the fds under
#                            its own id, and refuses them to a child that claims them with its
#                            own LISTEN_PID under its parent's id
#   check_watchdog           watchdog under WatchdogSec=: stays up while it pings, is killed
#                            with Result=watchdog once SIGUSR1 tells it to stop pinging
#   check_fdstore            fdstore: a memfd stored as "mystate" comes back after a restart
#
# Every wait is bounded; each check prints what it saw, and on failure the unit's journal.
# shellcheck shell=bash

LC_WAIT=${LC_WAIT:-20}   # seconds: start, stop, restart waits

# until SECS CMD...: run CMD every 0.1 s until it succeeds; fails after SECS seconds.
until_ok() {
  local secs=$1 i; shift
  for i in $(seq 1 $((secs * 10))); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

# write_unit_file NAME: stdin becomes /run/systemd/system/NAME inside the container (the
# tool's `unit` command writes .service units only).
write_unit_file() {
  peer exec sh -c "mkdir -p /run/systemd/system && cat > /run/systemd/system/$1"
}

# maps_readyd WHAT PID: the process has /opt/test/libreadyd.so.0 mapped, i.e. it runs on readyd.
maps_readyd() {
  local what=$1 pid=$2
  if peer exec grep -qF /opt/test/libreadyd.so.0 "/proc/$pid/maps" 2>/dev/null; then
    ok "$what: pid $pid runs on /opt/test/libreadyd.so.0"
  else
    not_ok "$what: pid $pid does not map /opt/test/libreadyd.so.0 (libraries: $(peer exec \
      sh -c "grep -o '/[^ ]*\.so[^ ]*' /proc/$pid/maps | sort -u | tr '\n' ' '" 2>/dev/null))"
  fi
}

# is_exe WHAT PID PATH: /proc/PID/exe inside the container is PATH.
is_exe() {
  local exe; exe=$(peer exec readlink "/proc/$2/exe" 2>/dev/null)
  expect "$1: exe of pid $2" "$exe" "$3"
}

# props UNIT PROP...: "value value ..." in the order asked (systemctl show prints several
# properties in its own order, so they are read one by one).
props() {
  local u=$1 p out=""; shift
  for p in "$@"; do out="$out$(peer show "$u" "$p" --value) "; done
  echo "${out% }"
}

# notify_text PID FIELDS [open]: how this systemd logs, at debug level, a notification it
# accepted from PID: 252 puts the fields in parentheses, 257 and later after a colon. With
# "open" the text stops after FIELDS (a prefix of the field list). SD_VERSION is set by
# check-systemd.sh.
notify_text() {
  if [ "${SD_VERSION:-252}" -le 252 ]; then
    printf 'Got notification message from PID %s (%s%s' "$1" "$2" "$([ "${3:-}" = open ] || echo ")")"
  else
    printf 'Got notification message from PID %s: %s' "$1" "$2"
  fi
}

# reload_substate: the SubState of a Type=notify unit whose daemon said RELOADING=1: 252
# knows only "reload"; 257 and later say "reload-notify".
reload_substate() {
  if [ "${SD_VERSION:-252}" -le 252 ]; then echo reload; else echo reload-notify; fi
}

# journal_line UNIT TEXT: the last line of UNIT's journal containing TEXT, waiting up to 5 s
# for the journal to catch up; fails when there is none.
journal_line() {
  local line i
  for i in $(seq 1 50); do
    line=$(peer journal "$1" -o cat 2>/dev/null | grep -F -- "$2" | tail -n 1)
    [ -n "$line" ] && { echo "$line"; return 0; }
    sleep 0.1
  done
  return 1
}

# wait_state UNIT STATE SECS: "ActiveState SubState" once either is STATE, or as they were
# after SECS seconds.
wait_state() {
  local st; st=$(peer wait-state "$@")
  echo "${st% }"
}

# journal_dump UNIT...: the last lines of each unit's journal, as comments.
journal_dump() {
  local u
  for u in "$@"; do
    echo "# last lines of the journal of $u:"
    peer journal "$u" -o cat 2>/dev/null | tail -n 25 | note
  done
}

# ---------------------------------------------------------------------------------------
# 1. Socket activation with named fds.

# reply PORT: what a client connecting to 127.0.0.1:PORT inside the container reads until
# EOF (bash's /dev/tcp; the image has no python or nc), at most 10 s, shell-quoted with
# printf %q so that the final newline shows: $'hello from greeting\n'.
reply() {
  local got
  got=$(peer exec timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && cat <&3' sh "$1" 2>&1
    printf .)
  printf '%q' "${got%.}"
}

check_socket_activation() {
  local svc=readyd-greeter.service sockets="readyd-greeting.socket readyd-admin.socket"
  local failed_before=$failed got main main2 status s state
  echo "# --- socket activation: $sockets -> $svc"

  write_unit_file readyd-greeting.socket <<'EOF'
[Unit]
Description=readyd check: socket named "greeting"
[Socket]
ListenStream=127.0.0.1:7777
FileDescriptorName=greeting
Service=readyd-greeter.service
EOF
  write_unit_file readyd-admin.socket <<'EOF'
[Unit]
Description=readyd check: socket named "admin"
[Socket]
ListenStream=127.0.0.1:7778
FileDescriptorName=admin
Service=readyd-greeter.service
EOF
  noted unit "$svc" \
    Type=notify \
    NotifyAccess=main \
    Environment=LD_LIBRARY_PATH=/opt/test \
    "Sockets=$sockets" \
    ExecStart=/opt/test/socket-activated ||
    { not_ok "writing the units of $svc failed"; return; }

  # shellcheck disable=SC2086 # two unit names
  peer ctl start --no-block $sockets 2>&1 | note
  for s in $sockets; do
    expect "$s is listening" "$(wait_state "$s" listening "$LC_WAIT")" "active listening"
  done
  # Nothing has connected yet: the service must not be running.
  expect "$svc before the first connection" "$(peer show "$svc" ActiveState --value)" inactive

  got=$(reply 7777)
  expect "reply on 127.0.0.1:7777 (FileDescriptorName=greeting)" "$got" "$(printf %q $'hello from greeting\n')"
  state=$(wait_state "$svc" active "$LC_WAIT")
  expect "$svc after the first connection" "$state" "active running"

  main=$(peer show "$svc" MainPID --value)
  expect "$svc: MainPID equals ExecMainPID" "$main" "$(peer show "$svc" ExecMainPID --value)"
  is_exe "$svc" "$main" /opt/test/socket-activated
  maps_readyd "$svc" "$main"
  # What systemd passed (the process's initial environment, whatever it unset since).
  peer exec sh -c "tr '\\0' '\\n' < /proc/$main/environ | grep '^LISTEN_'" 2>/dev/null |
    sed 's/^/# environment of the service: /'

  # The other socket is the same process's fd 3 or 4, the other name of LISTEN_FDNAMES.
  got=$(reply 7778)
  expect "reply on 127.0.0.1:7778 (FileDescriptorName=admin)" "$got" "$(printf %q $'hello from admin\n')"
  got=$(reply 7777)
  expect "second reply on 127.0.0.1:7777" "$got" "$(printf %q $'hello from greeting\n')"
  main2=$(peer show "$svc" MainPID --value)
  expect "$svc: the same process answered all three (MainPID)" "$main2" "$main"

  # Which socket became fd 3 is systemd's choice; the status lists them in fd order.
  status=$(peer show "$svc" StatusText --value)
  case "$status" in
    "serving greeting (tcp port 7777), admin (tcp port 7778)" | \
    "serving admin (tcp port 7778), greeting (tcp port 7777)")
      ok "$svc StatusText: $status" ;;
    *) not_ok "$svc StatusText: wanted both names with their ports, saw '$status'" ;;
  esac

  # shellcheck disable=SC2086
  peer ctl stop --no-block "$svc" $sockets 2>&1 | note
  expect "$svc after stop" "$(wait_state "$svc" inactive "$LC_WAIT")" "inactive dead"
  # shellcheck disable=SC2086
  [ "$failed" = "$failed_before" ] || journal_dump "$svc" $sockets
}

# ---------------------------------------------------------------------------------------
# 1b. LISTEN_PIDFDID (not set by 252 or 257, set by 262; readyd follows libsystemd 259).

# listen_env PID: the LISTEN_* variables PID was started with, one per line.
listen_env() {
  peer exec sh -c "tr '\\0' '\\n' < /proc/$1/environ | grep '^LISTEN_'" 2>/dev/null
}

# Where the manager sets LISTEN_PIDFDID, the service started by the greeting socket must
# have been given it (and readyd took the fds under it, or there would have been no reply),
# and a process that claims the sockets with its own pid in LISTEN_PID, under the id of
# another, must be refused them. Where the manager does not set it, the check says so.
check_listen_pidfdid() {
  local svc=readyd-greeter.service foreign=readyd-foreign.service failed_before=$failed
  local main id state line
  echo "# --- LISTEN_PIDFDID: $svc, and $foreign (a child claims the sockets)"
  peer ctl start --no-block readyd-greeting.socket readyd-admin.socket 2>&1 | note
  reply 7777 >/dev/null
  wait_state "$svc" active "$LC_WAIT" >/dev/null
  main=$(peer show "$svc" MainPID --value)
  id=$(listen_env "$main" | sed -n 's/^LISTEN_PIDFDID=//p')
  peer ctl stop --no-block "$svc" readyd-greeting.socket readyd-admin.socket 2>&1 | note
  wait_state "$svc" inactive "$LC_WAIT" >/dev/null
  if [ -z "$id" ]; then
    echo "# systemd $SD_VERSION sets no LISTEN_PIDFDID (252 and 257 do not, 262 does): nothing to check"
    return
  fi
  ok "$svc: the manager passed LISTEN_PIDFDID=$id and readyd took the fds under it (it answered)"

  noted unit "$foreign" \
    Type=simple \
    Environment=LD_LIBRARY_PATH=/opt/test \
    "Sockets=readyd-greeting.socket readyd-admin.socket" \
    ExecStart=/opt/test/foreign-listen.sh ||
    { not_ok "writing unit $foreign failed"; return; }
  peer ctl start --no-block "$foreign" 2>&1 | note
  state=$(wait_state "$foreign" failed "$LC_WAIT")
  expect "$foreign: the child under another process's LISTEN_PIDFDID got no fds" "$state" "failed failed"
  if line=$(journal_line "$foreign" "no sockets were passed"); then
    ok "$foreign journal: $line"
  else
    not_ok "$foreign journal has no 'no sockets were passed'"
  fi
  peer ctl stop --no-block readyd-greeting.socket readyd-admin.socket 2>&1 | note
  peer ctl reset-failed "$foreign" 2>&1 | note
  [ "$failed" = "$failed_before" ] || journal_dump "$foreign"
}

# ---------------------------------------------------------------------------------------
# 2. The watchdog.

WD_SEC=${WD_SEC:-1}   # WatchdogSec=, whole seconds; the daemon pings every WD_SEC/2

check_watchdog() {
  local svc=readyd-watchdog.service failed_before=$failed
  local main ts prev i stuck=0 state t0 t1 line text
  echo "# --- watchdog: $svc with WatchdogSec=$WD_SEC"

  # LimitCORE=0: systemd's SIGABRT would otherwise leave a core file behind.
  noted unit "$svc" \
    Type=notify \
    NotifyAccess=main \
    "WatchdogSec=$WD_SEC" \
    LimitCORE=0 \
    Environment=LD_LIBRARY_PATH=/opt/test \
    ExecStart=/opt/test/watchdog ||
    { not_ok "writing unit $svc failed"; return; }

  peer ctl start --no-block "$svc" 2>&1 | note
  expect "$svc after start" "$(wait_state "$svc" active "$LC_WAIT")" "active running"
  main=$(peer show "$svc" MainPID --value)
  is_exe "$svc" "$main" /opt/test/watchdog
  maps_readyd "$svc" "$main"
  expect "$svc StatusText (the daemon read WATCHDOG_USEC and pings at half)" \
    "$(peer show "$svc" StatusText --value)" \
    "watchdog timeout $((WD_SEC * 1000000)) us, pinging every $((WD_SEC * 500000)) us"

  # Four timeouts' worth of pings: systemd's record of the last ping must move every time.
  prev=$(peer show "$svc" WatchdogTimestampMonotonic --value)
  for i in 1 2 3 4; do
    sleep "$WD_SEC"
    ts=$(peer show "$svc" WatchdogTimestampMonotonic --value)
    echo "# after $((i * WD_SEC)) s: WatchdogTimestampMonotonic=$ts"
    [ "${ts:-0}" -gt "${prev:-0}" ] 2>/dev/null || stuck=$((stuck + 1))
    prev=$ts
  done
  if [ "$stuck" = 0 ]; then
    ok "$svc: WatchdogTimestampMonotonic advanced in each of 4 intervals of ${WD_SEC}s"
  else
    not_ok "$svc: WatchdogTimestampMonotonic did not advance in $stuck of 4 intervals of ${WD_SEC}s"
  fi
  expect "$svc after $((4 * WD_SEC)) s of pinging" \
    "$(props "$svc" ActiveState SubState Result NRestarts MainPID)" \
    "active running success 0 $main"

  # Now the daemon stops pinging; systemd must kill it one timeout later.
  peer ctl kill --kill-who=main -s SIGUSR1 "$svc" 2>&1 | note
  t0=$(date +%s%N)
  state=$(wait_state "$svc" failed $((WD_SEC * 3 + 5)))
  t1=$(date +%s%N)
  echo "# $((  (t1 - t0) / 1000000 )) ms from SIGUSR1 to '$state' (WatchdogSec=$WD_SEC)"
  expect "$svc after it stopped pinging" "$state" "failed failed"
  expect "$svc Result" "$(peer show "$svc" Result --value)" watchdog
  expect "$svc NRestarts" "$(peer show "$svc" NRestarts --value)" 0

  # systemd 252 logs "<unit>: Watchdog timeout (limit <n>s)!" and then kills the main pid.
  for text in "Watchdog timeout (limit ${WD_SEC}s)!" \
              "Killing process $main (watchdog) with signal SIGABRT"; do
    if line=$(journal_line "$svc" "$text"); then
      ok "journal: $line"
    else
      not_ok "journal has no '$text'"
    fi
  done

  [ "$failed" = "$failed_before" ] || journal_dump "$svc"
  peer ctl reset-failed "$svc" 2>&1 | note
}

# ---------------------------------------------------------------------------------------
# 3. The fd store.

# new_main UNIT OLD: the unit is active with a main pid other than OLD (and not 0).
new_main() {
  local v; v=$(props "$1" ActiveState MainPID)
  case "$v" in "active $2" | "active 0") return 1 ;; "active "*) return 0 ;; esac
  return 1
}

check_fdstore() {
  local svc=readyd-fdstore.service failed_before=$failed main1 main2 text line
  echo "# --- fd store: $svc with FileDescriptorStoreMax=1"

  noted unit "$svc" \
    Type=notify \
    NotifyAccess=main \
    FileDescriptorStoreMax=1 \
    Environment=LD_LIBRARY_PATH=/opt/test \
    ExecStart=/opt/test/fdstore ||
    { not_ok "writing unit $svc failed"; return; }

  peer ctl start --no-block "$svc" 2>&1 | note
  expect "$svc after start" "$(wait_state "$svc" active "$LC_WAIT")" "active running"
  main1=$(peer show "$svc" MainPID --value)
  is_exe "$svc" "$main1" /opt/test/fdstore
  maps_readyd "$svc" "$main1"
  # FDSTORE=1 was sent before READY=1, and systemd reads them in order.
  expect "$svc NFileDescriptorStore after the first start" \
    "$(peer show "$svc" NFileDescriptorStore --value)" 1
  expect "$svc StatusText after the first start" "$(peer show "$svc" StatusText --value)" \
    "stored state of pid $main1"
  text="$(notify_text "$main1" "FDSTORE=1, FDNAME=mystate")"
  if line=$(journal_line "$svc" "$text"); then ok "journal: $line"; else not_ok "journal has no '$text'"; fi

  peer ctl restart --no-block "$svc" 2>&1 | note
  if until_ok "$LC_WAIT" new_main "$svc" "$main1"; then
    main2=$(peer show "$svc" MainPID --value)
    ok "$svc restarted: MainPID $main1 -> $main2"
  else
    main2=$(peer show "$svc" MainPID --value)
    not_ok "$svc restarted: wanted active with a MainPID other than $main1, saw $(props "$svc" \
      ActiveState SubState MainPID)"
  fi
  maps_readyd "$svc" "$main2"
  peer exec sh -c "tr '\\0' '\\n' < /proc/$main2/environ | grep '^LISTEN_'" 2>/dev/null |
    sed 's/^/# environment of the restarted service: /'
  expect "$svc StatusText after the restart (read back from the stored memfd)" \
    "$(peer show "$svc" StatusText --value)" "restored state of pid $main1"
  # The store keeps the fd it passed on; the new instance did not store a second one.
  expect "$svc NFileDescriptorStore after the restart" \
    "$(peer show "$svc" NFileDescriptorStore --value)" 1
  expect "$svc NRestarts (a manual restart is not counted)" "$(peer show "$svc" NRestarts --value)" 0

  # A stop with nothing queued after it empties the store.
  peer ctl stop --no-block "$svc" 2>&1 | note
  expect "$svc after stop" "$(wait_state "$svc" inactive "$LC_WAIT")" "inactive dead"
  expect "$svc NFileDescriptorStore after stop" "$(peer show "$svc" NFileDescriptorStore --value)" 0

  [ "$failed" = "$failed_before" ] || journal_dump "$svc"
}
