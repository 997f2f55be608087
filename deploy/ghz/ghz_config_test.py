#!/usr/bin/python3
"""Checks deploy/ghz without ghz (not installable here), from the repository
root as ghz would run there:

- every *.json config uses only keys of ghz's config format (runner/config.go
  of github.com/bojand/ghz: "proto", "import-paths", "call", "host", "total",
  ...), sets "total" and no "duration" (a duration wins over -n), names a
  .proto and import paths that exist relative to the repository root, calls a
  method the protos define, targets the default port of that service (ml-host
  7400, ml-owner 7401), and carries data its request message accepts
  (json_format.ParseDict after ghz's templates are filled in);
- every ghz command in ghz.sh and in deploy/ghz/README.md passes the same
  checks with its flags applied over its config, and every file a command
  names exists.

Run by Bazel with the repository's files in the working directory.
"""
import json
import os
import re
import shlex
import sys
import tempfile

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from grpc_tools import protoc

# Keys of ghz's JSON config (runner.Config's json tags, ghz v0.120.0).
GHZ_CONFIG_KEYS = {
    "proto", "protoset", "call", "cacert", "cert", "key", "count-errors", "skipTLS",
    "skipFirst", "cname", "authority", "insecure", "total", "async", "concurrency",
    "concurrency-schedule", "concurrency-start", "concurrency-end", "concurrency-step",
    "concurrency-step-duration", "concurrency-max-duration", "connections", "rps",
    "duration", "duration-stop", "max-duration", "timeout", "data", "data-file",
    "binary-file", "metadata", "metadata-file", "stream-interval", "stream-call-duration",
    "stream-call-count", "stream-dynamic-messages", "output", "format", "connect-timeout",
    "keepalive", "cpus", "import-paths", "name", "tags", "reflect-metadata", "debug",
    "host", "enable-compression", "load-schedule", "load-start", "load-end", "load-step",
    "load-step-duration", "load-max-duration", "lb-strategy", "max-recv-message-size",
    "max-send-message-size", "disable-template-functions", "disable-template-data",
}
# ghz flags used by our commands: flag -> config key (None: a switch).
GHZ_FLAGS_WITH_VALUE = {
    "--call": "call", "-d": "data", "--data": "data", "-c": "concurrency",
    "--concurrency": "concurrency", "--connections": "connections", "-n": "total",
    "--total": "total", "--proto": "proto", "--import-paths": "import-paths",
    "-i": "import-paths", "--config": None, "-z": "duration", "--duration": "duration",
}
GHZ_SWITCHES = {"--insecure": "insecure"}
DEFAULT_PORTS = {"microledger.v1.HostService": 7400, "microledger.v1.OwnerAgentService": 7401}
SAMPLE_LEDGER = "jlinx:u" + "A" * 43

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)
    return condition


def load_pool():
    out = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    descriptor_set = os.path.join(out, "api.pb")
    protos = sorted("proto/microledger/v1/" + name
                    for name in os.listdir("proto/microledger/v1") if name.endswith(".proto"))
    assert protoc.main(["protoc", "-Iproto", "--include_imports",
                        "--descriptor_set_out=" + descriptor_set] + protos) == 0
    files = descriptor_pb2.FileDescriptorSet()
    with open(descriptor_set, "rb") as f:
        files.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    return pool


def message_class(descriptor):
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory().GetPrototype(descriptor)


def render_templates(text):
    """Fills in the ghz templates our data uses; any other template is left
    in place, so the data then fails to parse."""
    text = re.sub(r"\{\{randomInt (\d+) \d+\}\}", r"\1", text)
    return text.replace("{{.RequestNumber}}", "1")


def check_run(where, settings, pool, expected_port=None):
    """Checks one ghz run: `settings` holds config keys after flags."""
    call = settings.get("call", "")
    service_name, _, method_name = call.rpartition(".")
    try:
        service = pool.FindServiceByName(service_name)
        method = service.methods_by_name.get(method_name)
    except KeyError:
        method = None
    if not check(method is not None, f"{where}: calls an existing method ({call})"):
        return
    if "proto" in settings:
        proto = settings["proto"]
        check(os.path.isfile(proto), f"{where}: proto file {proto} exists from the repository root")
        check(service.file.name == os.path.relpath(proto, "proto"),
              f"{where}: {proto} defines {service_name}")
        paths = settings.get("import-paths", [])
        paths = paths.split(",") if isinstance(paths, str) else paths
        check(all(os.path.isdir(path) for path in paths),
              f"{where}: import paths {paths} exist from the repository root")
        check(any(os.path.isfile(os.path.join(path, service.file.name)) for path in paths),
              f"{where}: the import paths resolve {service.file.name}")
    host = settings.get("host", "")
    if expected_port is None:
        expected_port = DEFAULT_PORTS[service_name]
    check(host.endswith(f":{expected_port}"),
          f"{where}: targets {service_name}'s default port {expected_port} ({host})")
    check("duration" not in settings, f"{where}: no duration (it would override -n)")
    data = settings.get("data")
    if isinstance(data, str):
        data = render_templates(data)
        try:
            data = json.loads(data)
        except ValueError as error:
            check(False, f"{where}: data is JSON ({error})")
            return
    else:
        data = json.loads(render_templates(json.dumps(data)))
    request = message_class(method.input_type)()
    try:
        json_format.ParseDict(data, request)
        parsed = True
    except json_format.ParseError as error:
        parsed = False
        print(f"     {error}")
    check(parsed, f"{where}: data is a valid {method.input_type.full_name}")
    if "event_json" in data:
        event = json.loads(data["event_json"])
        check(isinstance(event.get("event"), str),
              f"{where}: event_json is a JSON object with a string \"event\"")


def check_configs(pool):
    configs = sorted(name for name in os.listdir("deploy/ghz") if name.endswith(".json"))
    check(len(configs) >= 4, f"deploy/ghz has its configs ({configs})")
    for name in configs:
        where = "deploy/ghz/" + name
        with open(where) as f:
            config = json.load(f)
        unknown = set(config) - GHZ_CONFIG_KEYS
        check(not unknown, f"{where}: only ghz config keys (unknown: {sorted(unknown)})")
        check(isinstance(config.get("total"), int) and config["total"] >= config.get("concurrency", 50),
              f"{where}: sets total (>= concurrency)")
        check(config.get("insecure") is True, f"{where}: insecure (plaintext loopback)")
        check(("proto" in config) == name.endswith(".proto.json"),
              f"{where}: names a .proto exactly when its name says proto")
        check_run(where, config, pool)


def command_lines(path):
    """Shell lines of `path` (README: its ```sh blocks) with continuations joined,
    each with the section of ghz.sh's case it is in."""
    with open(path) as f:
        text = f.read()
    if path.endswith(".md"):
        text = "\n".join(re.findall(r"```sh\n(.*?)```", text, re.S))
    text = text.replace("\\\n", " ")
    section = None
    for line in text.splitlines():
        match = re.match(r"\s*(host-read|agent-append)\)", line)
        if match:
            section = match.group(1)
        yield line.strip(), section


def parse_ghz(tokens, where):
    settings, host = {}, None
    index = 1
    while index < len(tokens):
        token = tokens[index]
        flag, has_value, value = token.partition("=")
        if flag in GHZ_SWITCHES:
            settings[GHZ_SWITCHES[flag]] = True
        elif flag in GHZ_FLAGS_WITH_VALUE:
            if not has_value:
                index += 1
                value = tokens[index]
            if flag == "--config":
                if check(os.path.isfile(value), f"{where}: config {value} exists from the repository root"):
                    with open(value) as f:
                        settings = {**json.load(f), **settings}
            else:
                settings[GHZ_FLAGS_WITH_VALUE[flag]] = value
        elif token.startswith("-"):
            check(False, f"{where}: a ghz flag this test knows ({token})")
        else:
            host = token
        index += 1
    if host is not None:
        settings["host"] = host
    return settings


def check_commands(pool):
    sections = {"host-read": "127.0.0.1:7400", "agent-append": "127.0.0.1:7401"}
    with open("deploy/ghz/ghz.sh") as f:
        script = f.read()
    for section, address in sections.items():
        check(f"2:{section}) addr={address};" in script,
              f"ghz.sh: {section} defaults to {address}")
    commands = 0
    for path in ("deploy/ghz/ghz.sh", "deploy/ghz/README.md"):
        for line, section in command_lines(path):
            line = line.replace('"$ledger"', SAMPLE_LEDGER).replace("$ledger", SAMPLE_LEDGER)
            line = line.replace('"$addr"', sections.get(section, "$addr"))
            try:
                tokens = shlex.split(line, comments=True)
            except ValueError:
                continue
            if not tokens:
                continue
            where = f"{path}: {tokens[0]} {' '.join(tokens[1:3])}"
            if tokens[0] == "deploy/ghz/ghz.sh":
                commands += 1
                check(tokens[1] in sections and len(tokens) in (3, 4), f"{where}: a mode of ghz.sh")
            elif tokens[0] == "ghz":
                commands += 1
                check_run(where, parse_ghz(tokens, where), pool)
    check(commands >= 9, f"found the ghz commands of ghz.sh and the README ({commands})")


def main():
    pool = load_pool()
    check_configs(pool)
    check_commands(pool)
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
