#!/usr/bin/env python3
"""Write the seed corpora of fuzz_decode and fuzz_roundtrip (run once, by
hand; the output is committed). Decode seeds are MQTT 5 packets written out
from the spec, alone and as server streams; roundtrip seeds are the harness's
own input layout (byte 0 = packet kind | 0x10 printable | 0x20 allowed
properties only) followed by deterministic pseudo-random bytes."""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def s(t):
    b = t.encode()
    return bytes([len(b) >> 8, len(b) & 0xFF]) + b


def varint(n):
    out = bytearray()
    while True:
        d = n % 128
        n //= 128
        out.append(d | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pkt(byte0, body):
    return bytes([byte0]) + varint(len(body)) + body


def props(*items):
    b = b"".join(items)
    return varint(len(b)) + b


USER = b"\x26" + s("k") + s("v")
json = b'{"version":2,"message_id":"ABCDEF","vin":"EXV10000000","data":{}}'

decode = {
    "connack_broker_limits": pkt(0x20, b"\x00\x00" + props(b"\x21\x00\x0a", b"\x22\x00\x05", b"\x24\x01")),
    "connack_session_present": pkt(0x20, b"\x01\x00" + props(b"\x12" + s("id1"), b"\x13\x00\x1e")),
    "publish_qos0": pkt(0x30, s("a/b") + b"\x00" + b"hi"),
    "publish_qos1_props": pkt(0x3B, s("t") + b"\x12\x34" + props(b"\x02\x00\x00\x00\x3c", USER) + b"{}"),
    "publish_alias": pkt(0x34, s("") + b"\x00\x09" + props(b"\x23\x00\x07")),
    "publish_two_sub_ids": pkt(0x32, s("x") + b"\x00\x01" + props(b"\x0b\x01", b"\x0b\xac\x02") + b"p"),
    "publish_hm_json": pkt(0x32, s("live/level13/app/EXV10000000") + b"\x00\x2a"
                           + props(b"\x01\x01", b"\x03" + s("application/json")) + json),
    "acks": pkt(0x40, b"\x00\x01") + pkt(0x50, b"\x00\x02\x10") + pkt(0x62, b"\x00\x03")
    + pkt(0x70, b"\x00\x04\x92" + props(b"\x1f" + s("no"))),
    "suback_three": pkt(0x90, b"\x00\x0b" + props(b"\x1f" + s("no")) + b"\x00\x02\x87"),
    "unsuback": pkt(0xB0, b"\x00\x0c" + props() + b"\x00\x11"),
    "disconnect_moved": pkt(0xE0, b"\x9c" + props(b"\x1c" + s("s2"))) + pkt(0xE0, b"\x8e"),
    "auth_continue": pkt(0xF0, b"\x18" + props(b"\x15" + s("SCRAM"), b"\x16\x00\x03\x01\x02\x03")),
    "connect_will": pkt(0x10, s("MQTT") + b"\x05\x2e\x00\x00" + props() + s("")
                        + props(b"\x18\x00\x00\x00\x3c") + s("w/t") + s("bye")),
    "connect_creds": pkt(0x10, s("MQTT") + b"\x05\xc0\x00\x1e"
                         + props(b"\x11\x00\x00\x0e\x10", b"\x21\xff\xff", b"\x27\x00\x10\x00\x00")
                         + s("app-live-x1") + s("u") + s("pw")),
    "subscribe_two": pkt(0x82, b"\x00\x01" + props(b"\x0b\xac\x02") + s("a/+") + b"\x2e" + s("b") + b"\x10"),
    "stream_session": pkt(0x20, b"\x01\x00" + props(b"\x21\x00\x0a"))
    + pkt(0x32, s("live/level13/app/VIN1") + b"\x00\x01" + props() + json)
    + pkt(0x3A, s("live/level13/app/VIN2") + b"\x00\x02" + props() + json)
    + pkt(0x90, b"\x00\x01" + props() + b"\x01") + pkt(0xD0, b"") + pkt(0xE0, b""),
    "malformed_qos3": pkt(0x36, s("t") + b"\x00\x01\x00"),
    "malformed_varint": b"\x30\x80\x00",
}

os.makedirs(os.path.join(HERE, "corpus", "decode"), exist_ok=True)
for name, data in decode.items():
    with open(os.path.join(HERE, "corpus", "decode", name), "wb") as f:
        f.write(data)

rng = random.Random(20261125)
os.makedirs(os.path.join(HERE, "corpus", "roundtrip"), exist_ok=True)
for kind in range(9):
    for mode in (0x30, 0x10):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(16, 160)))
        with open(os.path.join(HERE, "corpus", "roundtrip", "kind%d_mode%02x" % (kind, mode)), "wb") as f:
            f.write(bytes([kind | mode]) + body)
