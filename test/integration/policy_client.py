#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# policy_client.py: a client of the Postfix policy delegation protocol for
# test_policyd.sh, speaking to `domainsec policyd --listen` the way smtpd
# does, and the ways smtpd never would. Python 3 standard library only.
#
# Usage: policy_client.py (--unix PATH | --tcp HOST:PORT) MODE [ARGS]
#   converse FILE N    send FILE's bytes (a reader thread collects while
#                      sending), wait for N answers ("action=...", then an
#                      empty line) or 20 s, print each action line; exit 1
#                      when fewer came
#   abort FILE [N]     send the first N bytes of FILE (all without N), then
#                      reset the connection (SO_LINGER 0) without reading
#   idle               connect, send nothing, print the seconds until the
#                      server closes (at most 30)
#   parallel K FILE N  K connections at once, each sending FILE and waiting
#                      for N answers; print how many got all of them
import socket
import struct
import sys
import threading
import time


def connect(target):
    kind, addr = target
    if kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr)
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.create_connection((host.strip("[]"), int(port)))
    return s


def converse(target, data, want, timeout=20.0):
    s = connect(target)
    got = bytearray()
    done = threading.Event()

    def reader():
        s.settimeout(0.5)
        end = time.time() + timeout
        while time.time() < end and got.count(b"\n\n") < want:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not chunk:
                break
            got.extend(chunk)
        done.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        s.sendall(data)
    except OSError:
        pass
    done.wait(timeout + 1)
    s.close()
    answers = [blk for blk in bytes(got).split(b"\n\n") if blk]
    return [a.decode("utf-8", "replace") for a in answers[:want]]


def main(argv):
    if len(argv) < 3 or argv[0] not in ("--unix", "--tcp"):
        sys.stderr.write(__doc__ or "usage\n")
        return 2
    target = (argv[0][2:], argv[1])
    mode, args = argv[2], argv[3:]
    if mode == "converse":
        with open(args[0], "rb") as fh:
            data = fh.read()
        want = int(args[1])
        answers = converse(target, data, want)
        for a in answers:
            print(a)
        return 0 if len(answers) == want else 1
    if mode == "abort":
        with open(args[0], "rb") as fh:
            data = fh.read()
        if len(args) > 1:
            data = data[: int(args[1])]
        s = connect(target)
        s.sendall(data)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
        return 0
    if mode == "idle":
        s = connect(target)
        start = time.time()
        s.settimeout(30)
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
        print("%.1f" % (time.time() - start))
        return 0
    if mode == "parallel":
        k, want = int(args[0]), int(args[2])
        with open(args[1], "rb") as fh:
            data = fh.read()
        results = []
        threads = [threading.Thread(
            target=lambda: results.append(len(converse(target, data, want))))
            for _ in range(k)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(sum(1 for r in results if r == want))
        return 0
    sys.stderr.write("unknown mode %s\n" % mode)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
