/**
 * SwarmCluster: pure renderers (labels, reconcile table, refusals), the
 * scripts under shellcheck, and the component under the Pulumi mocks: the
 * join token reaches a node only on stdin, as a secret; the credentials
 * command logs nothing; the unlock key is a secret output. The scripts run
 * for real against a Swarm in tests/swarm.vps.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { SWARM_OBJECT_NAME_MAX, swarmObjectName } from "../infra/files";
import * as pulumi from "@pulumi/pulumi";
import {
  desiredLabels, renderBootstrapScript, renderCredentialsScript, renderJoinScript, renderPlacementCheckScript, renderReconcileScript,
  SwarmCluster, SwarmNodeSpec, TRUSTED_CONSTRAINT,
} from "../components/swarmCluster";
import { renderRestoreScript } from "../components/stateRestore";
import { connectHost } from "../infra/hosts";
import { renderComponents } from "./support/mockProgram";
import { findTool, missingTools, run } from "./support/tools";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm2wI7YMrD5yHzmXPoq0d7d6jgS3VHGUSyRn3xHN9EM";
const NODES: SwarmNodeSpec[] = [
  { name: "nyc", role: "manager" as const, address: "10.0.0.10", labels: {} },
  { name: "sfo", role: "manager" as const, address: "10.0.0.11", labels: { region: "us-west" } },
  { name: "ams", role: "manager" as const, address: "10.0.0.12", labels: {} },
  { name: "fra", role: "worker" as const, address: "10.0.0.13", labels: {} },
];

describe("swarm renderers (pure)", () => {
  test("only the trusted node carries openclaw.trusted; every node its name", () => {
    const labels = NODES.map((n) => desiredLabels(n, "sfo"));
    assert.deepEqual(labels.map((l) => l["openclaw.trusted"]), [undefined, "true", undefined, undefined]);
    assert.deepEqual(labels.map((l) => l["openclaw.node"]), ["nyc", "sfo", "ams", "fra"]);
    assert.equal(labels[1]!["region"], "us-west");
    assert.equal(TRUSTED_CONSTRAINT, "node.labels.openclaw.trusted == true");
  });
  test("the reconcile table lists every node by address, role and sorted labels", () => {
    const script = renderReconcileScript(NODES.map((n) => ({ address: n.address, role: n.role, labels: desiredLabels(n, "nyc") })), ["region"]);
    assert.match(script, /^readonly NODES='10\.0\.0\.10\|manager\|openclaw\.node=nyc openclaw\.trusted=true\n10\.0\.0\.11\|manager\|openclaw\.node=sfo region=us-west\n/m);
    assert.match(script, /^readonly CONFIG_KEYS=' region '$/m);
  });
  test("values that could break out of the scripts are refused", () => {
    assert.throws(() => desiredLabels({ name: "nyc", role: "manager", address: "10.0.0.10", labels: { zone: "a b" } }, "nyc"), /label zone=a b/);
    assert.throws(() => renderJoinScript({ address: "10.0.0.1; reboot" }), /not an IP address/);
    assert.throws(() => renderBootstrapScript({ mode: "init", address: "nyc.example.com", autolock: true }), /not an IP address/);
    assert.throws(() => renderPlacementCheckScript(["x; rm -rf /"]), /not a service name/);
  });
  test("adopt never runs swarm init; init does; autolock output goes to /dev/null", () => {
    assert.doesNotMatch(renderBootstrapScript({ mode: "adopt", address: "10.0.0.10", autolock: true }), /swarm init/);
    assert.match(renderBootstrapScript({ mode: "init", address: "10.0.0.10", autolock: true }), /docker swarm init --advertise-addr '10\.0\.0\.10' --listen-addr '10\.0\.0\.10:2377' >\/dev\/null/);
    assert.match(renderBootstrapScript({ mode: "init", address: "10.0.0.10", autolock: true }), /docker swarm update --autolock=true >\/dev\/null/);
    assert.match(renderJoinScript({ address: "2001:db8::2" }), /'\[2001:db8::2\]:2377' '2001:db8::2'/);
  });
  test("the join token is read from stdin and only printf (a builtin) and curl's stdin see it", () => {
    const script = renderJoinScript({ address: "10.0.0.11" });
    assert.match(script, /IFS= read -r token/);
    const uses = script.split("\n").filter((l) => l.includes("${token}"));
    assert.deepEqual(uses.map((l) => l.trim().split(" ")[0]), ["if", "'10.0.0.11:2377'", "echo"]);
    assert.doesNotMatch(script, /--token/);
  });
});

describe("swarm scripts pass shellcheck", { skip: missingTools("shellcheck on swarm scripts", ["shellcheck"]) }, () => {
  test("bootstrap (init, adopt), credentials, join, reconcile, placement check, state restore", () => {
    const dir = mkdtempSync(join(tmpdir(), "swarmsh-"));
    const scripts = {
      init: renderBootstrapScript({ mode: "init", address: "10.0.0.10", autolock: true }),
      adopt: renderBootstrapScript({ mode: "adopt", address: "10.0.0.10", autolock: false }),
      credentials: renderCredentialsScript(),
      join: renderJoinScript({ address: "10.0.0.11" }),
      reconcile: renderReconcileScript(NODES.map((n) => ({ address: n.address, role: n.role, labels: desiredLabels(n, "nyc") })), ["region"]),
      placement: renderPlacementCheckScript(["openclaw-primary", "openclaw-egress"]),
      restore: renderRestoreScript({ repository: "/var/backups/openclaw-restic", passwordFile: "/etc/openclaw/ops/restic-password", paths: ["/var/lib/docker/volumes/openclaw-primary-data/_data", "/srv/openclaw/primary/workspace"] }),
    };
    const files = Object.entries(scripts).map(([name, text]) => { const f = join(dir, `${name}.sh`); writeFileSync(f, text); return f; });
    const result = run(findTool("shellcheck")!, files);
    assert.equal(result.status, 0, result.stdout);
  });
});

describe("SwarmCluster under the mocks", () => {
  test("join tokens travel only on stdin, as secrets; credentials are never logged; the unlock key is secret", async () => {
    let unlockSecret = false;
    const render = await renderComponents(() => {
      const cluster = new SwarmCluster("swarm", {
        nodes: NODES.map((n) => ({ ...n, host: connectHost({ name: n.name, address: n.address, sshUser: "deploy", sshPort: 22, hostKey: KEY, memoryMb: 4096 }) })),
        trustedNode: "nyc", mode: "init", autolock: true,
      });
      void pulumi.isSecret(cluster.unlockKey).then((s) => { unlockSecret = s; });
      return { unlockKey: cluster.unlockKey };
    });
    const commands = render.resources.filter((r) => r.type === "command:remote:Command");
    assert.deepEqual(commands.map((c) => c.name).sort(), ["swarm-bootstrap", "swarm-credentials", "swarm-join-ams", "swarm-join-fra", "swarm-join-sfo", "swarm-nodes"].sort());
    const joins = commands.filter((c) => c.name.startsWith("swarm-join-"));
    for (const join of joins) {
      assert.equal(join.inputs["stdin"], "[secret]", `${join.name} stdin must be a secret`);
      assert.doesNotMatch(String(join.inputs["create"]), /SWMTKN-1-[a-z0-9]{20,}|--token/);
    }
    const credentials = commands.find((c) => c.name === "swarm-credentials")!;
    assert.equal(credentials.inputs["logging"], "none");
    // The reconcile waits for every join, so labels are set on members only.
    assert.deepEqual(commands.find((c) => c.name === "swarm-nodes")!.dependsOn.filter((d) => d.includes("swarm-join-")).length, 3);
    assert.equal(render.outputs["unlockKey"], "[secret]");
    assert.equal(unlockSecret, true);
  });
  test("a cluster without a manager, or a trusted node that is not a node, is refused", async () => {
    const host = connectHost({ name: "fra", address: "10.0.0.13", sshUser: "deploy", sshPort: 22, hostKey: KEY, memoryMb: 4096 });
    await assert.rejects(renderComponents(() => { new SwarmCluster("s", { nodes: [{ ...NODES[3]!, host }], trustedNode: "fra", mode: "init", autolock: true }); return {}; }), /no manager node/);
    await assert.rejects(renderComponents(() => { new SwarmCluster("s", { nodes: [{ ...NODES[0]!, host }], trustedNode: "tokyo", mode: "init", autolock: true }); return {}; }), /trusted node tokyo is not a node/);
  });
});

describe("Swarm config and secret names", () => {
  test("fit the daemon's 64 characters: short ones unchanged, long ones cut with a digest of the path", () => {
    const hash = "0123456789ab";
    assert.equal(swarmObjectName("openclaw-primary", "/etc/openclaw/openclaw.json", hash), "openclaw-primary-etc-openclaw-openclaw.json-0123456789ab");
    const long = (p: string) => swarmObjectName("openclaw-a-very-long-instance-name", p, hash);
    const a = long("/srv/openclaw/a-very-long-instance-name/workspace/SOUL.md");
    const b = long("/srv/openclaw/a-very-long-instance-name/workspace/SOUL.mdx");
    for (const n of [a, b]) {
      assert.ok(n.length <= SWARM_OBJECT_NAME_MAX, n);
      assert.match(n, /^[a-zA-Z0-9][a-zA-Z0-9_.-]*-[0-9a-f]{6}-0123456789ab$/);
    }
    assert.notEqual(a, b);
  });
});
