#!/usr/bin/python3
"""Probes a running gRPC server the way Kubernetes, grpcurl and ghz see it,
without any of our .proto files: grpc.health.v1 Check must answer SERVING, and
server reflection must list the expected services.

Usage: grpc_probe.py ADDRESS SERVICE [SERVICE...]
"""
import sys

import grpc


def identity(raw):
    return raw


def health_status(channel):
    """HealthCheckRequest{} → HealthCheckResponse{status} (field 1, varint)."""
    check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                request_serializer=identity,
                                response_deserializer=identity)
    reply = check(b"", timeout=10)
    assert reply[:1] == b"\x08", reply
    return reply[1]


def listed_services(channel):
    """ServerReflectionRequest{list_services: ""} (field 7, length-delimited)."""
    call = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=identity, response_deserializer=identity)
    replies = list(call(iter([b"\x3a\x00"]), timeout=10))
    assert len(replies) == 1, replies
    return replies[0]


def main():
    address, services = sys.argv[1], sys.argv[2:]
    channel = grpc.insecure_channel(address)
    grpc.channel_ready_future(channel).result(timeout=20)
    serving = 1
    assert health_status(channel) == serving, "health: not SERVING"
    listing = listed_services(channel)
    for service in services + ["grpc.health.v1.Health"]:
        assert service.encode() in listing, f"reflection does not list {service}"
    print(f"{address}: SERVING, reflection lists {', '.join(services)}")


if __name__ == "__main__":
    main()
