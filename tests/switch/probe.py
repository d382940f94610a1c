#!/usr/bin/env python3
"""probe.py: speaks just enough of each switched project's protocol to show it serves.

  probe.py free-port                       a free TCP port on 127.0.0.1
  probe.py fcgi SOCKET SCRIPT              a FastCGI request for SCRIPT; prints its output
  probe.py dns HOST PORT NAME              an A query over TCP; prints the address answered
  probe.py mpd HOST PORT                   prints MPD's greeting line, after a ping is answered
  probe.py mqtt HOST PORT                  an MQTT 3.1.1 CONNECT; prints CONNACK in hex

Each waits at most 10 s (connect retries and reads are bounded) and exits 1 with the
reason on stderr when the server does not answer as its protocol says.
"""
import socket
import struct
import sys
import time

LIMIT = 10.0


def connect(family, address):
    deadline = time.monotonic() + LIMIT
    while True:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(LIMIT)
        try:
            s.connect(address)
            return s
        except (ConnectionRefusedError, FileNotFoundError):
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def read_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return str(port)


def fcgi_record(rtype, content, request_id=1):
    return struct.pack(">BBHHBx", 1, rtype, request_id, len(content), 0) + content


def fcgi_pair(name, value):
    name, value = name.encode(), value.encode()
    return bytes([len(name), len(value)]) + name + value


def fcgi(path, script):
    params = {
        "SCRIPT_FILENAME": script,
        "SCRIPT_NAME": "/" + script.rsplit("/", 1)[-1],
        "REQUEST_METHOD": "GET",
        "QUERY_STRING": "",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
    }
    body = b"".join(fcgi_pair(k, v) for k, v in params.items())
    # BEGIN_REQUEST (role 1, responder; flags 0), PARAMS, end of PARAMS, end of STDIN
    msg = (fcgi_record(1, struct.pack(">HB5x", 1, 0)) + fcgi_record(4, body) + fcgi_record(4, b"")
           + fcgi_record(5, b""))
    s = connect(socket.AF_UNIX, path)
    s.sendall(msg)
    out = b""
    while True:
        _, rtype, _, length, padding = struct.unpack(">BBHHBx", read_exactly(s, 8))
        content = read_exactly(s, length + padding)[:length]
        if rtype == 6:
            out += content
        elif rtype == 3:  # END_REQUEST
            break
    sys.stdout.write(out.decode(errors="replace"))


def dns(host, port, name):
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    query = struct.pack(">HHHHHH", 0x5244, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1)
    s = connect(socket.AF_INET, (host, int(port)))
    s.sendall(struct.pack(">H", len(query)) + query)
    (length,) = struct.unpack(">H", read_exactly(s, 2))
    reply = read_exactly(s, length)
    qid, flags, _, ancount, _, _ = struct.unpack(">HHHHHH", reply[:12])
    if qid != 0x5244 or flags & 0xF:
        sys.exit(f"dns: answer id {qid:#x}, rcode {flags & 0xF}")
    pos = 12 + len(qname) + 4
    for _ in range(ancount):
        if reply[pos] & 0xC0 == 0xC0:
            pos += 2
        else:
            while reply[pos]:
                pos += reply[pos] + 1
            pos += 1
        rtype, _, _, rdlength = struct.unpack(">HHIH", reply[pos:pos + 10])
        pos += 10
        if rtype == 1 and rdlength == 4:
            print(socket.inet_ntoa(reply[pos:pos + 4]))
            return
        pos += rdlength
    sys.exit("dns: no A record in the answer")


def mpd(host, port):
    s = connect(socket.AF_INET, (host, int(port)))
    f = s.makefile("rwb")
    greeting = f.readline().decode().strip()
    f.write(b"ping\n")
    f.flush()
    answer = f.readline().decode().strip()
    if answer != "OK":
        sys.exit(f"mpd: ping answered {answer!r}")
    print(greeting)


def mqtt(host, port):
    client = b"readyd-probe"
    variable = b"\x00\x04MQTT\x04\x02\x00\x3c"  # protocol 3.1.1, clean session, keepalive 60
    payload = struct.pack(">H", len(client)) + client
    s = connect(socket.AF_INET, (host, int(port)))
    s.sendall(bytes([0x10, len(variable) + len(payload)]) + variable + payload)
    print(read_exactly(s, 4).hex())


def main():
    commands = {"free-port": (free_port, 0), "fcgi": (fcgi, 2), "dns": (dns, 3), "mpd": (mpd, 2),
                "mqtt": (mqtt, 2)}
    if len(sys.argv) < 2 or sys.argv[1] not in commands or len(sys.argv) - 2 != commands[sys.argv[1]][1]:
        sys.exit(__doc__)
    function, _ = commands[sys.argv[1]]
    try:
        result = function(*sys.argv[2:])
    except (OSError, EOFError, struct.error, IndexError) as e:
        sys.exit(f"{sys.argv[1]}: {e}")
    if result is not None:
        print(result)


if __name__ == "__main__":
    main()
