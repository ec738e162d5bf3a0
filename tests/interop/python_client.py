#!/usr/bin/python3
"""Interop client: a plain Python grpcio client of the messenger API.

Run by tests/interop/python-client.test.ts with /usr/bin/python3 (Debian's python3-grpcio
and python3-grpc-tools), against stubs that the test generates from proto/ with
grpc_tools.protoc into a temporary directory.

Usage: python_client.py '<json config>' with the keys
  address            host:port of the public gRPC listener
  stubs_dir          where the generated *_pb2.py / *_pb2_grpc.py modules are
  username, password the account; registered first unless "register" is false
  device_id          this device's id, used for Login
  expect_text        the text of the one message this client waits for
  reply_text         the text it answers with, in the same conversation
  client_message_id  the idempotency key of the reply
  timeout_s          overall deadline of the run (default 30)

It logs in, opens GatewayService/Session with hello first, and after welcome and
sync_complete prints {"event": "ready", ...}. It then waits for the message with
expect_text, acks it, sends the reply, waits for its send_result, prints
{"event": "result", ...}, half-closes the stream and exits 0 once the server ends it.
Every stdout line is one JSON object. On any failure it prints the reason on stderr and
exits 1. uint64 fields (seq, sync_version) are printed as decimal strings.
"""

import json
import os
import queue
import sys
import threading
import time


def fail(message):
    sys.stderr.write("python_client: " + message + "\n")
    sys.stderr.flush()
    sys.stdout.flush()
    # os._exit: do not wait for grpc's stream threads.
    os._exit(1)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def u64(value):
    """A protobuf uint64 as an int, whether the runtime gives an int or a decimal string."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ValueError("not a uint64: %r" % (value,))


def message_json(m):
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "seq": str(u64(m.seq)),
        "sender_user_id": m.sender_user_id,
        "sender_device_id": m.sender_device_id,
        "client_message_id": m.client_message_id,
        "text": m.text,
        "sent_at_seconds": str(m.sent_at.seconds) if m.HasField("sent_at") else None,
    }


class Outbound:
    """The request side of the bidi stream: a queue drained by a generator, with pings."""

    def __init__(self):
        self._queue = queue.Queue()
        self._closed = threading.Event()
        self.heartbeat_s = None  # set after the welcome
        self._nonce = 0

    def put(self, frame):
        self._queue.put(frame)

    def close(self):
        self._queue.put(None)

    def stop(self):
        self._closed.set()

    def frames(self, ping_factory):
        while not self._closed.is_set():
            wait = self.heartbeat_s if self.heartbeat_s else 0.5
            try:
                frame = self._queue.get(timeout=wait)
            except queue.Empty:
                if self.heartbeat_s:
                    self._nonce += 1
                    yield ping_factory(self._nonce)
                continue
            if frame is None:
                return
            yield frame


def main():
    if len(sys.argv) != 2:
        fail("usage: python_client.py '<json config>'")
    try:
        cfg = json.loads(sys.argv[1])
        address = cfg["address"]
        stubs_dir = cfg["stubs_dir"]
        username = cfg["username"]
        password = cfg["password"]
        device_id = cfg["device_id"]
        expect_text = cfg["expect_text"]
        reply_text = cfg["reply_text"]
        client_message_id = cfg["client_message_id"]
    except (ValueError, KeyError, TypeError) as e:
        fail("bad config: %r" % (e,))
    register = bool(cfg.get("register", True))
    timeout_s = float(cfg.get("timeout_s", 30))
    deadline = time.monotonic() + timeout_s

    sys.path.insert(0, stubs_dir)
    try:
        import grpc
        from messenger.accounts.v1 import accounts_service_pb2 as accounts_pb2
        from messenger.accounts.v1 import accounts_service_pb2_grpc as accounts_grpc
        from messenger.gateway.v1 import gateway_service_pb2 as gateway_pb2
        from messenger.gateway.v1 import gateway_service_pb2_grpc as gateway_grpc
    except ImportError as e:
        fail("cannot import grpc or the generated stubs from %s: %s" % (stubs_dir, e))

    def remaining():
        return max(0.1, deadline - time.monotonic())

    channel = grpc.insecure_channel(address, options=[("grpc.enable_http_proxy", 0)])
    try:
        grpc.channel_ready_future(channel).result(timeout=remaining())
    except grpc.FutureTimeoutError:
        fail("could not connect to %s" % address)

    accounts = accounts_grpc.AccountsServiceStub(channel)
    try:
        if register:
            try:
                accounts.Register(accounts_pb2.RegisterRequest(username=username, password=password), timeout=remaining())
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
        login = accounts.Login(
            accounts_pb2.LoginRequest(username=username, password=password, device_id=device_id), timeout=remaining()
        )
    except grpc.RpcError as e:
        fail("accounts call failed: %s %s" % (e.code(), e.details()))
    if not login.HasField("user") or not login.HasField("tokens") or not login.tokens.access_token:
        fail("login returned no user or tokens: %s" % login)
    user_id = login.user.id

    out = Outbound()
    out.put(gateway_pb2.SessionRequest(hello=gateway_pb2.Hello(access_token=login.tokens.access_token)))
    gateway = gateway_grpc.GatewayServiceStub(channel)
    call = gateway.Session(
        out.frames(lambda n: gateway_pb2.SessionRequest(ping=gateway_pb2.Ping(nonce=n))),
        timeout=remaining(),
    )

    welcome = None
    synced = False
    received = None
    result = None
    try:
        for res in call:
            kind = res.WhichOneof("frame")
            if kind == "welcome":
                if welcome is not None:
                    fail("second welcome")
                welcome = res.welcome
                if welcome.user_id != user_id or welcome.device_id != device_id:
                    fail("welcome for %s/%s, expected %s/%s" % (welcome.user_id, welcome.device_id, user_id, device_id))
                if welcome.heartbeat_interval_ms > 0:
                    out.heartbeat_s = welcome.heartbeat_interval_ms / 1000.0
            elif kind == "sync_complete":
                if welcome is None:
                    fail("sync_complete before welcome")
                synced = True
                emit({
                    "event": "ready",
                    "user_id": user_id,
                    "device_id": welcome.device_id,
                    "session_id": welcome.session_id,
                    "sync_version": str(u64(res.sync_complete.sync_version)),
                    "replayed_messages": res.sync_complete.replayed_messages,
                })
            elif kind == "message":
                m = res.message
                if not synced:
                    fail("unexpected replayed message %r before sync_complete" % m.text)
                if received is not None or m.text != expect_text:
                    fail("unexpected message %r (seq %s), waiting for %r" % (m.text, m.seq, expect_text))
                received = m
                seq = u64(m.seq)
                out.put(gateway_pb2.SessionRequest(ack=gateway_pb2.AckDelivered(conversation_id=m.conversation_id, seq=seq)))
                out.put(gateway_pb2.SessionRequest(send=gateway_pb2.SendMessage(
                    client_message_id=client_message_id, conversation_id=m.conversation_id, text=reply_text)))
            elif kind == "send_result":
                r = res.send_result
                if r.client_message_id != client_message_id:
                    fail("send_result for unknown client_message_id %r" % r.client_message_id)
                if r.error_code != 0 or not r.HasField("message"):
                    fail("send refused: code %d: %s" % (r.error_code, r.error_message))
                result = r
                emit({
                    "event": "result",
                    "user_id": user_id,
                    "received": message_json(received),
                    "sent": message_json(r.message),
                    "duplicate": r.duplicate,
                })
                # Half-close: the server ends the session, and the loop below ends with it.
                out.close()
            elif kind == "error":
                fail("frame refused: %s (code %d): %s" % (res.error.frame, res.error.code, res.error.message))
            elif kind == "go_away":
                fail("server went away: %s" % res.go_away.reason)
            # pong, receipt, presence, typing and reset frames are not needed here.
    except grpc.RpcError as e:
        fail("session stream failed: %s %s" % (e.code(), e.details()))
    finally:
        out.stop()

    if welcome is None or not synced:
        fail("stream ended before welcome and sync_complete")
    if received is None:
        fail("stream ended before the expected message arrived")
    if result is None:
        fail("stream ended before the send_result")
    channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
