# notify-command-checks.sh: `readyd notify` in a shell script under the real systemd, side by
# side with the systemd-notify of the same systemd. Sourced by check-systemd.sh (not a
# program of its own); uses its helpers (peer, noted, note, ok, not_ok, expect) and
# lifecycle-checks.sh's (props, journal_line, wait_state, journal_dump, LC_WAIT).
#
#   install_notify_command   before the boot: copies the readyd command ($READYD_BIN, else
#                            build/readyd) into the scratch folder, as /opt/test/readyd.
#   check_notify_command     a Type=notify, NotifyAccess=main service whose main process is
#                            a shell script that runs `readyd notify --ready --status=...`
#                            and then execs a long sleep: the unit becomes active, with the
#                            status, and systemd logs the message as coming from the main
#                            pid; the same script with systemd-notify gives the same result.
#                            The difference parent crediting makes: the same script with
#                            readyd told not to speak for its caller (MANAGERPID naming the
#                            script) is refused by NotifyAccess=main and the unit stays
#                            activating.
#
# Self-contained: the version loop of check-systemd.sh can call both functions per boot.
# shellcheck shell=bash
# shellcheck disable=SC2154  # failed: check-systemd.sh's counter

NC_STATUS="ready from a script"

install_notify_command() {
  local bin=${READYD_BIN:-$repo/build/readyd}
  if [ ! -x "$bin" ]; then
    not_ok "$bin is missing (make all builds it)"
    return 1
  fi
  noted install-bin "$bin" readyd || { not_ok "copying $bin into the scratch folder failed"; return 1; }
}

# nc_service NAME NOTIFY_COMMAND: writes /run/NAME.sh (the script: NOTIFY_COMMAND, its exit
# status to /run/NAME.rc, then exec sleep) and the unit NAME.service, and starts it.
nc_service() {
  local name=$1 command=$2
  peer exec sh -c "cat > /run/$name.sh" <<EOF || { not_ok "writing /run/$name.sh failed"; return 1; }
#!/bin/sh
$command
echo \$? > /run/$name.rc
exec sleep 600
EOF
  noted unit "$name.service" \
    Type=notify \
    NotifyAccess=main \
    "ExecStart=/bin/sh /run/$name.sh" ||
    { not_ok "writing unit $name.service failed"; return 1; }
  peer ctl start --no-block "$name.service" 2>&1 | note
}

# nc_ready NAME WHAT NOTIFY_COMMAND: the script's message makes the unit active; sets
# nc_line to systemd's journal line for it, without the unit name and with the pid
# replaced by <main>.
nc_ready() {
  local name=$1 what=$2 svc=$1.service main exec_main line rc
  nc_line=""
  nc_service "$name" "$3" || return 1
  expect "$what: $svc after start" "$(wait_state "$svc" active "$LC_WAIT")" "active running"
  expect "$what: StatusText" "$(props "$svc" StatusText)" "$NC_STATUS"
  main=$(props "$svc" MainPID) exec_main=$(props "$svc" ExecMainPID)
  expect "$what: MainPID is the script systemd started (ExecMainPID $exec_main)" "$main" "$exec_main"
  if line=$(journal_line "$svc" "$(notify_text "$main" "READY=1" open)"); then
    ok "$what: journal: $line"
    line=${line#"$svc: "}
    nc_line=${line//PID $main/PID <main>}
  else
    not_ok "$what: no '$(notify_text "$main" "READY=1" open)' in the journal"
  fi
  rc=$(peer exec cat "/run/$name.rc" 2>/dev/null)
  expect "$what: exit status of the notify command" "$rc" 0
  peer ctl stop "$svc" 2>&1 | note
}

check_notify_command() {
  local failed_before=$failed ours theirs svc main line state nc_line
  echo "# --- readyd notify from a shell script: Type=notify, NotifyAccess=main"
  nc_ready readyd-notify-script "readyd notify" \
    "/opt/test/readyd notify --ready --status='$NC_STATUS'"
  ours=$nc_line
  nc_ready readyd-notify-systemd "systemd-notify" \
    "systemd-notify --ready --status='$NC_STATUS'"
  theirs=$nc_line
  expect "readyd notify and systemd-notify: the same message, credited the same way" "$ours" "$theirs"

  # Without parent crediting: MANAGERPID names the script, so readyd speaks for itself.
  svc=readyd-notify-uncredited.service
  nc_service readyd-notify-uncredited \
    "MANAGERPID=\$\$ /opt/test/readyd notify --ready --status='$NC_STATUS'" || return
  main=""
  for _ in $(seq 1 50); do
    main=$(props "$svc" MainPID)
    [ -n "$main" ] && [ "$main" != 0 ] && break
    sleep 0.1
  done
  if line=$(journal_line "$svc" "but reception only permitted for main PID $main"); then
    ok "without parent crediting (readyd as the sender): refused under NotifyAccess=main: $line"
  else
    not_ok "without parent crediting: no 'reception only permitted for main PID $main' in the journal"
  fi
  # The script has sent its only message and sleeps: nothing else can make the unit ready.
  peer exec timeout 10 sh -c "until [ -e /run/readyd-notify-uncredited.rc ]; do sleep 0.1; done" 2>/dev/null
  state=$(props "$svc" ActiveState SubState StatusText)
  expect "without parent crediting: the unit is still starting, with no status" "$state" "activating start "
  peer ctl stop "$svc" 2>&1 | note
  [ "$failed" = "$failed_before" ] || journal_dump readyd-notify-script.service readyd-notify-systemd.service "$svc"
}
