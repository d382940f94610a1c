# readiness-checks.sh: readyd_ready(), readyd_reloading(), readyd_stopping() and
# readyd_failed() under real systemd (252, 257, the newest), through
# c-examples/ready-anywhere (installed as /opt/test/ready-anywhere). Sourced by check-systemd.sh once the container is up, after
# lifecycle-checks.sh, whose helpers it uses (until_ok, props, journal_line, wait_state,
# journal_dump, is_exe, maps_readyd), as well as check-systemd.sh's (peer, noted, note, ok,
# not_ok, expect). Not a program of its own.
#
#   check_ready_reload   Type=notify: READY=1 with STATUS= and MAINPID=; then a reload by
#                        ExecReload= sending SIGHUP (systemd 252 has no Type=notify-reload,
#                        that came in 253): the unit must show reloading for as long as the
#                        daemon reloads, even once ExecReload='s process has gone, because
#                        the daemon said RELOADING=1; active again, StatusText=reloaded, once
#                        it said READY=1; STOPPING=1 on stop.
#   check_failed_start   readyd_failed(ENOENT, "cannot read <config>"): the unit ends failed
#                        with StatusErrno=2 and that StatusText.
#   check_barrier        sd_notify_barrier() in a child under NotifyAccess=all (barrier.c):
#                        it returns 1 once systemd has read the child's status.
#   check_mainpid        readyd_mainpid() names a forked worker (mainpid.c): systemd takes
#                        it as MainPID (257 and later with its pidfd and id).
#
# The reload takes as long as the test wants, with no clock involved: before asking for it,
# the configuration file is replaced by a FIFO, so the daemon's reload blocks reading it
# (after it sent RELOADING=1) until the test writes the new configuration into it.
# shellcheck shell=bash
# shellcheck disable=SC2154  # failed: check-systemd.sh's counter

RD_CONF=/run/readyd-anywhere.conf

# rd_stderr PID: what ready-anywhere, as PID, wrote on stderr (the journal also files the
# manager's own messages from that pid before the exec under it); waits up to 5 s for it.
rd_stderr() {
  local _ out
  for _ in $(seq 1 50); do
    out=$(peer exec journalctl --no-pager -o cat "_PID=$1" SYSLOG_IDENTIFIER=ready-anywhere 2>/dev/null)
    [ -n "$out" ] && break
    sleep 0.1
  done
  printf '%s' "$out"
}

# rd_ctl_pid UNIT: ControlPID of UNIT (0 when no ExecReload=/ExecStop= process runs).
rd_ctl_pid() { peer show "$1" ControlPID --value; }
rd_no_control() { [ "$(rd_ctl_pid "$1")" = 0 ]; }

check_ready_reload() {
  local svc=readyd-anywhere.service failed_before=$failed main text line state
  # Debian's minimal tree has no /bin/kill (procps), so the shell's kill sends the signal.
  # $$ is systemd's escape for a literal $: the shell expands MAINPID, which systemd sets
  # in the environment of ExecReload='s process. From 259 on (measured with 262) a
  # Type=notify unit's reload ends when ExecReload= exits, whatever the daemon says; a
  # daemon that reloads on SIGHUP and says RELOADING=1 ... READY=1 is Type=notify-reload
  # there (253 and later), where systemd sends the SIGHUP itself.
  local how=(Type=notify "ExecReload=/bin/sh -c 'kill -HUP \$\$MAINPID'")
  [ "${SD_VERSION:-252}" -ge 259 ] && how=(Type=notify-reload)
  echo "# --- readyd_ready / readyd_reloading / readyd_stopping: $svc (${how[*]})"

  peer exec sh -c "echo 'hello from the first configuration' > $RD_CONF" ||
    { not_ok "writing $RD_CONF failed"; return; }
  noted unit "$svc" \
    "${how[@]}" \
    NotifyAccess=main \
    Environment=LD_LIBRARY_PATH=/opt/test \
    "ExecStart=/opt/test/ready-anywhere --config $RD_CONF" ||
    { not_ok "writing unit $svc failed"; return; }

  # --- start: READY=1, STATUS=serving, MAINPID=<itself> ----------------------------------
  peer ctl start --no-block "$svc" 2>&1 | note
  expect "$svc after start" "$(wait_state "$svc" active "$LC_WAIT")" "active running"
  main=$(peer show "$svc" MainPID --value)
  expect "$svc MainPID equals ExecMainPID (no fork under NOTIFY_SOCKET)" "$main" "$(peer show "$svc" ExecMainPID --value)"
  is_exe "$svc" "$main" /opt/test/ready-anywhere
  maps_readyd "$svc" "$main"
  expect "$svc StatusText" "$(peer show "$svc" StatusText --value)" serving
  text="$(notify_text "$main" "READY=1, STATUS=serving, MAINPID=$main")"
  if line=$(journal_line "$svc" "$text"); then ok "journal: $line"; else not_ok "journal has no '$text'"; fi

  # --- reload: RELOADING=1 holds the unit in "reloading" until READY=1 -----------------------
  peer exec sh -c "rm -f $RD_CONF && mkfifo $RD_CONF" || { not_ok "making $RD_CONF a FIFO failed"; return; }
  peer ctl reload --no-block "$svc" 2>&1 | note
  state=$(wait_state "$svc" reloading "$LC_WAIT")
  expect "$svc while the daemon reloads (ActiveState SubState)" "$state" "reloading $(reload_substate)"
  text="$(notify_text "$main" "RELOADING=1, MONOTONIC_USEC=" open)"
  if line=$(journal_line "$svc" "$text"); then ok "journal: $line"; else not_ok "journal has no '$text...'"; fi
  # ExecReload='s kill is long gone; what keeps the unit reloading now is the daemon's word.
  if until_ok "$LC_WAIT" rd_no_control "$svc"; then
    expect "$svc with ExecReload= finished (ControlPID 0) and the daemon still reloading" \
      "$(props "$svc" ActiveState SubState StatusText)" "reloading $(reload_substate) serving"
  else
    not_ok "$svc: ExecReload='s process (ControlPID $(rd_ctl_pid "$svc")) did not finish"
  fi
  # Let the reload finish: the daemon reads this from the FIFO, then says READY=1.
  if peer exec timeout 10 sh -c "echo 'hello from the second configuration' > $RD_CONF"; then
    ok "$svc: the daemon read the new configuration from the FIFO"
  else
    not_ok "$svc: nobody read the new configuration from the FIFO within 10 s"
  fi
  expect "$svc after the reload" "$(wait_state "$svc" active "$LC_WAIT")" "active running"
  expect "$svc after the reload: StatusText, MainPID unchanged" \
    "$(props "$svc" StatusText MainPID)" "reloaded $main"
  text="$(notify_text "$main" "READY=1, STATUS=reloaded, MAINPID=$main")"
  if line=$(journal_line "$svc" "$text"); then ok "journal: $line"; else not_ok "journal has no '$text'"; fi

  # --- stop: STOPPING=1 -------------------------------------------------------------------------
  peer ctl stop --no-block "$svc" 2>&1 | note
  expect "$svc after stop" "$(wait_state "$svc" inactive "$LC_WAIT")" "inactive dead"
  expect "$svc Result after stop" "$(peer show "$svc" Result --value)" success
  text="$(notify_text "$main" "STOPPING=1")"
  if line=$(journal_line "$svc" "$text"); then ok "journal: $line"; else not_ok "journal has no '$text'"; fi

  [ "$failed" = "$failed_before" ] || journal_dump "$svc"
}

check_failed_start() {
  local svc=readyd-anywhere-fail.service failed_before=$failed pid text line missing=/run/readyd-missing.conf
  echo "# --- readyd_failed: $svc (a configuration that does not exist)"

  noted unit "$svc" \
    Type=notify \
    NotifyAccess=main \
    Environment=LD_LIBRARY_PATH=/opt/test \
    "ExecStart=/opt/test/ready-anywhere --config $missing" ||
    { not_ok "writing unit $svc failed"; return; }

  peer ctl start --no-block "$svc" 2>&1 | note
  expect "$svc after start" "$(wait_state "$svc" failed "$LC_WAIT")" "failed failed"
  expect "$svc Result ExecMainStatus" "$(props "$svc" Result ExecMainStatus)" "exit-code 1"
  expect "$svc StatusErrno (ENOENT)" "$(peer show "$svc" StatusErrno --value)" 2
  expect "$svc StatusText" "$(peer show "$svc" StatusText --value)" "cannot read $missing"
  pid=$(peer show "$svc" ExecMainPID --value)
  text="$(notify_text "$pid" "STATUS=cannot read $missing, ERRNO=2")"
  if line=$(journal_line "$svc" "$text"); then ok "journal: $line"; else not_ok "journal has no '$text'"; fi
  # The example also logs the reason on its stderr (the journal), since no shell waits for it.
  expect "$svc: what pid $pid wrote on stderr" "$(rd_stderr "$pid")" \
    "ready-anywhere: cannot read $missing: No such file or directory"

  [ "$failed" = "$failed_before" ] || journal_dump "$svc"
  peer ctl reset-failed "$svc" 2>&1 | note
}

# sd_notify_barrier(): a child (NotifyAccess=all) sends a status and waits in the barrier
# until systemd has read it; the main process then says READY=1 naming the child's exit
# status, which is 0 only if the barrier returned 1.
check_barrier() {
  local svc=readyd-barrier.service failed_before=$failed main child text line
  echo "# --- sd_notify_barrier: $svc (a child's status, then the barrier)"
  noted unit "$svc" \
    Type=notify \
    NotifyAccess=all \
    Environment=LD_LIBRARY_PATH=/opt/test \
    ExecStart=/opt/test/barrier ||
    { not_ok "writing unit $svc failed"; return; }
  peer ctl start --no-block "$svc" 2>&1 | note
  expect "$svc after start" "$(wait_state "$svc" active "$LC_WAIT")" "active running"
  main=$(peer show "$svc" MainPID --value)
  maps_readyd "$svc" "$main"
  expect "$svc StatusText (the barrier returned 1 in the child)" \
    "$(peer show "$svc" StatusText --value)" "barrier answered: child exit 0"
  # The child's status was read before the barrier was answered: its line is in the
  # journal, and before the main process's READY=1.
  text="STATUS=from the child"
  if line=$(journal_line "$svc" "$text"); then
    ok "journal: $line"
    child=$(peer journal "$svc" -o cat 2>/dev/null | grep -n -F -e "$text" -e "READY=1, STATUS=barrier answered" |
      cut -d: -f1 | tr '\n' ' ')
    case "$child" in
      [0-9]*" "[0-9]*" ") ok "$svc: the child's status comes before READY=1 in the journal (lines $child)" ;;
      *) not_ok "$svc: wanted the child's status, then READY=1, in the journal; saw lines '$child'" ;;
    esac
  else
    not_ok "journal has no '$text'"
  fi
  peer ctl stop --no-block "$svc" 2>&1 | note
  expect "$svc after stop" "$(wait_state "$svc" inactive "$LC_WAIT")" "inactive dead"
  [ "$failed" = "$failed_before" ] || journal_dump "$svc"
}

# readyd_mainpid(): the started process names a worker it forked, says READY=1 and exits;
# systemd must take the worker as the main process. Managers since 257 get the worker's
# pidfd with it (MAINPIDFD=1) and its id (MAINPIDFDID=); 252 reads MAINPID= alone.
check_mainpid() {
  local svc=readyd-mainpid.service failed_before=$failed main sender line
  echo "# --- readyd_mainpid: $svc (a worker named as the main process)"
  # NotifyAccess=all: once the worker is the main pid, the READY=1 that follows comes
  # from another process (measured with 262: dropped under NotifyAccess=main and =exec).
  noted unit "$svc" \
    Type=notify \
    NotifyAccess=all \
    Environment=LD_LIBRARY_PATH=/opt/test \
    ExecStart=/opt/test/mainpid ||
    { not_ok "writing unit $svc failed"; return; }
  peer ctl start --no-block "$svc" 2>&1 | note
  expect "$svc after start" "$(wait_state "$svc" active "$LC_WAIT")" "active running"
  main=$(peer show "$svc" MainPID --value)
  expect "$svc StatusText" "$(peer show "$svc" StatusText --value)" "worker $main named by readyd_mainpid"
  is_exe "$svc" "$main" /opt/test/mainpid
  # The message that named the worker came from the started process, another pid.
  if line=$(journal_line "$svc" "MAINPID=$main"); then
    ok "journal: $line"
    sender=$(printf '%s\n' "$line" | sed -n 's/.*from PID \([0-9]*\).*/\1/p')
    if [ -n "$sender" ] && [ "$sender" != "$main" ]; then
      ok "$svc: MainPID $main is the worker that pid $sender (the started process) named"
    else
      not_ok "$svc: MainPID $main should be a worker named by another pid, the sender was '$sender'"
    fi
    if [ "${SD_VERSION:-252}" -ge 257 ]; then
      case "$line" in
        *"MAINPIDFDID="*"MAINPIDFD=1"*) ok "$svc: the message carried MAINPIDFDID= and MAINPIDFD=1" ;;
        *) not_ok "$svc: wanted MAINPIDFDID= and MAINPIDFD=1 in the message" ;;
      esac
    fi
  else
    not_ok "journal has no 'MAINPID=$main'"
  fi
  peer ctl stop --no-block "$svc" 2>&1 | note
  expect "$svc after stop" "$(wait_state "$svc" inactive "$LC_WAIT")" "inactive dead"
  [ "$failed" = "$failed_before" ] || journal_dump "$svc"
}
