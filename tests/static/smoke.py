#!/usr/bin/env python3
"""Smoke test of an `ember` binary built with EMBER_STATIC=ON (docs/edge.md).

Usage: smoke.py EMBER_BINARY

Checks that the binary needs no shared library but glibc's, then starts `ember serve` on
127.0.0.1 with a fresh data directory, sends one Prometheus remote write request (protobuf
and snappy encoded here by hand, so the test needs nothing but Python), and reads the sample
back with an instant query. Exits non-zero, saying why, on any failure.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

# What a glibc-dynamic static build may still need (EMBER_STATIC_GLIBC=ON needs none).
GLIBC = {"libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2", "libpthread.so.0", "libdl.so.2",
         "librt.so.1"}


def needed_libraries(binary):
    out = subprocess.run(["readelf", "-d", binary], check=True, capture_output=True,
                         text=True).stdout
    return {line.split("[", 1)[1].split("]", 1)[0] for line in out.splitlines()
            if "(NEEDED)" in line}


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def write_request(labels, value, timestamp_ms):
    """prometheus.WriteRequest with one series and one sample (remote write 1.0)."""
    series = b"".join(
        field_bytes(1, field_bytes(1, k.encode()) + field_bytes(2, v.encode()))
        for k, v in sorted(labels.items()))
    sample = varint(1 << 3 | 1) + struct.pack("<d", value) + varint(2 << 3) + varint(timestamp_ms)
    series += field_bytes(2, sample)
    return field_bytes(1, series)


def snappy_literal(data):
    """Snappy's block format with literals only: valid, just not compressed."""
    out = bytearray(varint(len(data)))
    for i in range(0, len(data), 60):
        piece = data[i:i + 60]
        out.append((len(piece) - 1) << 2)
        out += piece
    return bytes(out)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    extra = needed_libraries(binary) - GLIBC
    if extra:
        sys.exit(f"FAIL: {binary} needs shared libraries beyond glibc: {sorted(extra)}")
    print(f"needed: {sorted(needed_libraries(binary))}")

    tmp = tempfile.mkdtemp(prefix="ember-static-smoke-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(tmp, "serve.log"), "w+")
    proc = subprocess.Popen([binary, "serve", f"--data_dir={tmp}/data",
                             f"--listen_address=127.0.0.1:{port}"], stdout=log, stderr=log)
    try:
        for _ in range(100):  # 10 s at most.
            if proc.poll() is not None:
                break
            try:
                if http(base + "/-/ready")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("not ready within 10 s")
        if proc.poll() is not None:
            raise RuntimeError(f"ember serve exited with {proc.returncode}")

        now_ms = int(time.time() * 1000)
        body = snappy_literal(write_request({"__name__": "static_smoke", "job": "edge"}, 42.5,
                                            now_ms))
        status, _ = http(base + "/api/v1/write", body, {
            "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
            "X-Prometheus-Remote-Write-Version": "0.1.0"})
        if status != 204 and status != 200:
            raise RuntimeError(f"remote write answered {status}")

        query = urllib.parse.urlencode({"query": "static_smoke", "time": f"{now_ms / 1000:.3f}"})
        status, answer = http(f"{base}/api/v1/query?{query}")
        result = json.loads(answer)["data"]["result"]
        if len(result) != 1 or result[0]["value"][1] != "42.5" or \
                result[0]["metric"] != {"__name__": "static_smoke", "job": "edge"}:
            raise RuntimeError(f"query answered {answer!r}")
        print(f"ok: remote write accepted and read back: {result[0]}")
    except Exception as e:  # pylint: disable=broad-except
        log.seek(0)
        sys.stderr.write(log.read())
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    if proc.returncode != 0:
        print(f"FAIL: ember serve exited with {proc.returncode} on SIGTERM", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
