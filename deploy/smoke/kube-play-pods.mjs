// Turns the laptop overlay's objects (kubectl kustomize output, stdin) into what
// podman 4.3's `kube play` can run on one machine: a Pod made from the ml-host
// StatefulSet's pod template (podman plays no StatefulSet) and a Pod made from
// the ml-owner Deployment's template, each on the host network, with the
// Secret and PersistentVolume volumes replaced by host directories under
// STATE_DIR (podman 4.3 plays no Secret objects), the passphrase Secret
// reference replaced by the value in STATE_DIR/agent-passphrase, the pod name
// and namespace fieldRefs by their values (podman 4.3 resolves no namespace)
// and $(VAR) in args expanded as the kubelet would,
// and without
// the dhtnode sidecar (no DHT in the smoke test) and without containerPorts
// (podman maps no ports on the host network). The served ports become
// HOST_PORT and AGENT_PORT and the agent's --host names the played host on
// loopback; every other argument and the probes are kept as written.
//   node kube-play-pods.mjs STATE_DIR IMAGE HOST_PORT AGENT_PORT < laptop.yaml > pods.yaml
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(new URL("../validate/", import.meta.url));
const { parseAllDocuments, stringify } = require("yaml");
const [stateDir, image, hostPort, agentPort] = process.argv.slice(2);
const objects = parseAllDocuments(readFileSync(0, "utf8")).map((d) => d.toJS());
const find = (kind, name) => objects.find((o) => o && o.kind === kind && o.metadata.name === name);

function podFrom(name, template, hostDirs) {
  const spec = structuredClone(template.spec);
  spec.hostNetwork = true;
  spec.containers = spec.containers.filter((c) => c.name !== "dhtnode");
  for (const container of spec.containers) {
    container.image = image;
    // podman 4.3 turns containerPorts into port mappings, which it refuses on
    // the host network; the ports are the same without them.
    delete container.ports;
    for (const variable of container.env || []) {
      // podman 4.3 resolves no fieldRef to metadata.namespace: the values the
      // kubelet would give, as literals.
      if (variable.valueFrom && variable.valueFrom.fieldRef) {
        const field = variable.valueFrom.fieldRef.fieldPath;
        delete variable.valueFrom;
        variable.value = field === "metadata.name" ? name : "default";
      }
      if (variable.name === "ML_PASSPHRASE" && variable.valueFrom) {
        delete variable.valueFrom;
        variable.value = readFileSync(`${stateDir}/agent-passphrase`, "utf8").trim();
      }
    }
    // $(VAR) in args is expanded by the kubelet, not by podman 4.3.
    const values = Object.fromEntries((container.env || []).map((v) => [v.name, v.value]));
    container.args = container.args.map((arg) =>
      arg.replace(/\$\((\w+)\)/g, (whole, variable) => values[variable] ?? whole)
        .replace(/^--host=.*:7400$/, `--host=127.0.0.1:${hostPort}`)
        .replace(/:7400$/, `:${hostPort}`)
        .replace(/^--listen=(.*):7401$/, `--listen=$1:${agentPort}`));
  }
  spec.volumes = (spec.volumes || []).filter((v) => !(v.name in hostDirs));
  for (const [volume, dir] of Object.entries(hostDirs)) {
    spec.volumes.push({ name: volume, hostPath: { path: `${stateDir}/${dir}`, type: "Directory" } });
  }
  // "smoke-" marks the pods as the smoke test's (removed before and after it);
  // the programs inside still see the pod name Kubernetes would give.
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `smoke-${name}`, labels: template.metadata.labels },
    spec,
  };
}

const host = find("StatefulSet", "ml-host");
const pod = podFrom("ml-host-0", host.spec.template, { data: "host-data", "master-keys": "master-keys" });
pod.spec.hostname = "ml-host-0";
const owner = find("Deployment", "ml-owner");
const agentPod = podFrom("ml-owner", owner.spec.template,
  { data: "agent-data", token: "agent-token", tls: "agent-tls" });
process.stdout.write(stringify(pod) + "---\n" + stringify(agentPod));
