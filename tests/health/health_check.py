"""grpc.health.v1 Check from a client that is not ours (Python grpcio), with the
messages encoded by hand: Debian ships no generated health module."""
SERVING, NOT_SERVING = 1, 2


def length_delimited(field, payload):
    """One protobuf length-delimited field (payload shorter than 128 bytes)."""
    return bytes([field << 3 | 2, len(payload)]) + payload


def health_status(channel, service):
    """The status of `service` ("" for the server as a whole): SERVING,
    NOT_SERVING or 0 (UNKNOWN); raises grpc.RpcError (NOT_FOUND for a service
    the server does not know)."""
    check = channel.unary_unary("/grpc.health.v1.Health/Check")
    reply = check(length_delimited(1, service.encode()), timeout=5)
    # HealthCheckResponse: field 1 (varint) status; absent means UNKNOWN (0).
    return reply[1] if reply[:1] == b"\x08" else 0
