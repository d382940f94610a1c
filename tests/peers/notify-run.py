#!/usr/bin/env python3
"""Start one daemon the way a notify-type, optionally socket-activated, service
manager would, and record what it did. Used by the peer checks in this folder.

    notify-run.py free-port
        print a TCP port on 127.0.0.1 that is free right now

    notify-run.py --out DIR [--activate] [--listen-pid PID]
                  [--probe PORT|activated]... [--ready-timeout S] -- PROGRAM ARG...

The daemon is started in a session (and so a process group) of its own, with
stdin on /dev/null and stdout+stderr in DIR/log, and with NOTIFY_SOCKET set to
an AF_UNIX datagram socket bound here with SO_PASSCRED, so every message comes
with the kernel's word on the sender's pid.

--activate binds a listening TCP socket on 127.0.0.1 (a port the kernel picks,
written to DIR/activated-port) and hands it over as systemd does with
Accept=no: as fd 3, inheritable, with LISTEN_FDS=1 and LISTEN_PID set in the
child after fork, so it names the process that exec()s the daemon. Our own copy
is closed right after the fork, so only the daemon can accept on it.
--listen-pid PID puts PID in LISTEN_PID instead, to name some other process
(a correct sd_listen_fds must then ignore fd 3). Take one that can never be
the daemon or a child of it, such as 1: getpid()+1 is often the pid of the
daemon's next child, which would then take the socket for its own.

What is recorded in DIR, for the calling script to judge:
    pid            the daemon's pid
    msg.K          the raw bytes of the K-th notify datagram (K from 1)
    msg.K.pid      the sender pid the kernel attached to it
    ready-ms       milliseconds from fork to the first datagram
    maps           /proc/PID/maps, read right after the first datagram
    probe.PORT     for each --probe, after the first datagram: the first line
                   the server sent on a fresh TCP connection, or "ERROR: ..."
    exited         only if the daemon died before we stopped it: its status
    error          only if something went wrong on our side: what

Every wait is bounded; the daemon's process group is always killed at the end
(SIGTERM, then SIGKILL), also when we are interrupted.
"""

import argparse
import errno
import os
import select
import signal
import socket
import struct
import sys
import time

SCM_CREDENTIALS = getattr(socket, "SCM_CREDENTIALS", 2)
SO_PASSCRED = getattr(socket, "SO_PASSCRED", 16)
CRED = struct.Struct("iII")  # struct ucred: pid, uid, gid


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write(out, name, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(out, name), mode) as f:
        f.write(data)


class Run:
    def __init__(self, opts):
        self.opts = opts
        self.out = opts.out
        self.pid = None
        self.count = 0

    # -- the notify socket -------------------------------------------------
    def bind_notify(self):
        path = os.path.join(self.out, "notify.sock")
        if len(path.encode()) >= 108:
            raise RuntimeError("notify socket path too long: " + path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, SO_PASSCRED, 1)
        s.bind(path)
        self.notify = s
        return path

    def receive(self, timeout):
        """One datagram within timeout seconds, or None. Records it."""
        ready, _, _ = select.select([self.notify], [], [], max(timeout, 0))
        if not ready:
            return None
        data, anc, _flags, _addr = self.notify.recvmsg(4096, socket.CMSG_SPACE(CRED.size))
        sender = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == SCM_CREDENTIALS:
                sender = CRED.unpack(payload[: CRED.size])[0]
        self.count += 1
        write(self.out, "msg.%d" % self.count, data)
        write(self.out, "msg.%d.pid" % self.count, "%s\n" % sender)
        return data

    # -- the daemon --------------------------------------------------------
    def start(self, argv, notify_path):
        listener = None
        if self.opts.activate:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            listener.listen(16)
            self.activated_port = listener.getsockname()[1]
            write(self.out, "activated-port", "%d\n" % self.activated_port)
        log = os.open(os.path.join(self.out, "log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:
            self.child(argv, notify_path, listener, log)  # never returns
        self.pid = pid
        os.close(log)
        if listener is not None:
            listener.close()  # only the daemon holds the listening socket now
        write(self.out, "pid", "%d\n" % pid)

    def child(self, argv, notify_path, listener, log):
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            env = dict(os.environ)
            env["NOTIFY_SOCKET"] = notify_path
            for k in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
                env.pop(k, None)
            if listener is not None:
                fd = listener.fileno()
                if fd != 3:
                    os.dup2(fd, 3)
                # dup2 onto itself would keep close-on-exec: clear it either way
                os.set_inheritable(3, True)
                env["LISTEN_FDS"] = "1"
                listen_pid = self.opts.listen_pid or os.getpid()
                env["LISTEN_PID"] = str(listen_pid)
            os.execve(argv[0], argv, env)
        except BaseException as e:  # report through the log, never return
            try:
                os.write(2, ("notify-run: cannot start %s: %s\n" % (argv[0], e)).encode())
            finally:
                os._exit(127)

    def reap(self):
        """Status if the daemon is gone, else None."""
        if self.pid is None:
            return None
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return "gone"
        if pid == 0:
            return None
        self.pid = None
        if os.WIFEXITED(status):
            return "exit status %d" % os.WEXITSTATUS(status)
        return "killed by signal %d" % os.WTERMSIG(status)

    def stop(self):
        if self.pid is None:
            return
        pid = self.pid
        for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass
            end = time.monotonic() + grace
            while time.monotonic() < end:
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done == pid:
                    self.pid = None
                    # the group may outlive its leader for a moment
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    return
                time.sleep(0.02)

    # -- probes ------------------------------------------------------------
    def probe(self, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(self.opts.probe_timeout)
        try:
            s.connect(("127.0.0.1", port))
            line = b""
            while not line.endswith(b"\n") and len(line) < 256:
                chunk = s.recv(256 - len(line))
                if not chunk:
                    break
                line += chunk
            return line.split(b"\n")[0].rstrip(b"\r").decode("ascii", "replace")
        except OSError as e:
            name = errno.errorcode.get(e.errno, "") if e.errno else ""
            return "ERROR: %s %s" % (name, e.strerror or e)
        finally:
            s.close()

    # -- the whole run -----------------------------------------------------
    def run(self, argv):
        path = self.bind_notify()
        self.start(argv, path)
        deadline = time.monotonic() + self.opts.ready_timeout
        first = None
        while first is None and time.monotonic() < deadline:
            first = self.receive(min(0.1, deadline - time.monotonic()))
            if first is None:
                status = self.reap()
                if status:
                    write(self.out, "exited", status + "\n")
                    return
        if first is None:
            write(self.out, "error", "no notify message within %gs\n" % self.opts.ready_timeout)
            return
        write(self.out, "ready-ms", "%d\n" % ((time.monotonic() - self.t0) * 1000))
        try:
            with open("/proc/%d/maps" % self.pid) as f:
                write(self.out, "maps", f.read())
        except OSError as e:
            write(self.out, "error", "cannot read maps: %s\n" % e)
        for p in self.opts.probe:
            port = self.activated_port if p == "activated" else int(p)
            write(self.out, "probe.%s" % p, self.probe(port) + "\n")
        # anything else the daemon says meanwhile is recorded too
        end = time.monotonic() + self.opts.linger
        while time.monotonic() < end:
            self.receive(end - time.monotonic())
        status = self.reap()
        if status:
            write(self.out, "exited", status + "\n")


def main():
    if sys.argv[1:] == ["free-port"]:
        print(free_port())
        return 0
    ap = argparse.ArgumentParser(description="run a daemon under a notify receiver")
    ap.add_argument("--out", required=True)
    ap.add_argument("--activate", action="store_true")
    ap.add_argument("--listen-pid", type=int, default=0)
    ap.add_argument("--probe", action="append", default=[])
    ap.add_argument("--ready-timeout", type=float, default=5.0)
    ap.add_argument("--probe-timeout", type=float, default=3.0)
    ap.add_argument("--linger", type=float, default=0.3)
    ap.add_argument("argv", nargs="+")
    opts = ap.parse_args()
    if not os.path.isabs(opts.argv[0]):
        ap.error("PROGRAM must be an absolute path")

    r = Run(opts)

    def interrupted(signum, _frame):
        r.stop()
        # die of the same signal, so a calling shell sees the interruption
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        os._exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, interrupted)
    try:
        r.run(opts.argv)
    except Exception as e:
        write(opts.out, "error", "%s: %s\n" % (type(e).__name__, e))
    finally:
        r.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
