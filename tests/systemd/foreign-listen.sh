#!/bin/sh
# foreign-listen.sh: installed as /opt/test/foreign-listen.sh by check-systemd.sh. Started
# by systemd with sockets, LISTEN_PID=<this shell> and, from managers that set it,
# LISTEN_PIDFDID=<this shell's pidfd id>. A child of this shell claims the sockets by
# putting its own pid in LISTEN_PID; only LISTEN_PIDFDID still tells that the sockets were
# meant for another process, and readyd must refuse them then (socket-activated says "no
# sockets were passed" and exits 1).
sh -c 'LISTEN_PID=$$ exec /opt/test/socket-activated'
exit $?
