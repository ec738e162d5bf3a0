"""A grpcio client that knows nothing of messenger's API but what server reflection says.

It asks the server for its services, loads the file descriptors reflection returns (and
their dependencies, well-known types included) into an empty descriptor pool, builds the
message classes from that pool, and calls Register, Login, an authenticated LookupUser
and the standard health check with them. Only the reflection protocol's own stubs are
generated (from proto/grpc/reflection/v1/reflection.proto) before it runs.

Usage: python_reflection_client.py '{"address": "...", "stubs_dir": "...", "username": "...", "password": "..."}'
Prints one JSON line with what it learned and what each call answered.
"""

import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory


def message_class(desc):
    # protobuf >= 4.21 has GetMessageClass; Debian's 3.21 only the factory.
    get = getattr(message_factory, "GetMessageClass", None)
    return get(desc) if get else message_factory.MessageFactory(desc.file.pool).GetPrototype(desc)


class Reflection:
    def __init__(self, channel, pb2, pb2_grpc):
        self.pb2 = pb2
        self.stub = pb2_grpc.ServerReflectionStub(channel)
        self.files = {}  # name -> FileDescriptorProto, everything the server sent

    def ask(self, **request):
        responses = list(self.stub.ServerReflectionInfo(iter([self.pb2.ServerReflectionRequest(**request)])))
        if len(responses) != 1:
            raise RuntimeError("expected one reflection response, got %d" % len(responses))
        response = responses[0]
        if response.HasField("error_response"):
            raise RuntimeError("reflection error %d: %s" % (response.error_response.error_code, response.error_response.error_message))
        return response

    def services(self):
        return [s.name for s in self.ask(list_services="").list_services_response.service]

    def remember(self, response):
        for raw in response.file_descriptor_response.file_descriptor_proto:
            fd = descriptor_pb2.FileDescriptorProto()
            fd.ParseFromString(raw)
            self.files[fd.name] = fd

    def load_symbol(self, symbol):
        self.remember(self.ask(file_containing_symbol=symbol))
        # Anything a file imports that the server did not send along is asked for by name.
        missing = [d for fd in list(self.files.values()) for d in fd.dependency if d not in self.files]
        while missing:
            self.remember(self.ask(file_by_filename=missing.pop()))
            missing = [d for fd in list(self.files.values()) for d in fd.dependency if d not in self.files]

    def pool(self):
        """An empty pool filled in dependency order: nothing comes from the client's own protos."""
        pool = descriptor_pool.DescriptorPool()
        added = set()

        def add(name):
            if name in added:
                return
            for dep in self.files[name].dependency:
                add(dep)
            pool.AddSerializedFile(self.files[name].SerializeToString())
            added.add(name)

        for name in self.files:
            add(name)
        return pool


class Caller:
    def __init__(self, channel, pool):
        self.channel = channel
        self.pool = pool

    def call(self, service, method, request, metadata=None):
        m = self.pool.FindServiceByName(service).FindMethodByName(method)
        request_class = message_class(m.input_type)
        response_class = message_class(m.output_type)
        rpc = self.channel.unary_unary(
            "/%s/%s" % (service, method),
            request_serializer=lambda msg: msg.SerializeToString(),
            response_deserializer=response_class.FromString,
        )
        response = rpc(json_format.ParseDict(request, request_class()), metadata=metadata, timeout=10)
        # JSON from the pool's own descriptors: a Timestamp prints as RFC 3339 only if
        # google.protobuf.Timestamp came through reflection as the well-known type.
        return json_format.MessageToDict(response, descriptor_pool=self.pool)


def main():
    config = json.loads(sys.argv[1])
    sys.path.insert(0, config["stubs_dir"])
    # Generated at test time under reflection/v1/ (a grpc/ folder would shadow grpcio itself).
    from reflection.v1 import reflection_pb2, reflection_pb2_grpc  # noqa: E402

    with grpc.insecure_channel(config["address"]) as channel:
        reflection = Reflection(channel, reflection_pb2, reflection_pb2_grpc)
        services = reflection.services()
        for service in services:
            reflection.load_symbol(service)
        pool = reflection.pool()
        caller = Caller(channel, pool)
        accounts = "messenger.accounts.v1.AccountsService"
        registered = caller.call(accounts, "Register", {"username": config["username"], "password": config["password"]})
        login = caller.call(accounts, "Login", {"username": config["username"], "password": config["password"], "deviceId": "python-reflection"})
        token = login["tokens"]["accessToken"]
        looked_up = caller.call(accounts, "LookupUser", {"username": config["username"]}, metadata=[("authorization", "Bearer " + token)])
        health = caller.call("grpc.health.v1.Health", "Check", {"service": ""})
        print(json.dumps({
            "services": services,
            "files": sorted(reflection.files),
            "registered": registered,
            "login_expires_at": login["tokens"].get("accessTokenExpiresAt"),
            "looked_up": looked_up,
            "health": health,
        }), flush=True)


if __name__ == "__main__":
    main()
