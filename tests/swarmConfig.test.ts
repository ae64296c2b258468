/**
 * The swarm part of the config model: the quorum refusal table (every
 * manager count from 0 to 7, with the arithmetic in the message), and the
 * swarm-only checks, each naming its key.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, parseStackConfig } from "../infra/config/parse";
import { quorumOf, quorumProblem } from "../infra/quorum";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm2wI7YMrD5yHzmXPoq0d7d6jgS3VHGUSyRn3xHN9EM";
const SECRETS = new Set(["openclaw:providerApiKeys", "openclaw:channelTokens", "openclaw:alertWebhookUrl"]);

const node = (name: string, i: number, role: "manager" | "worker") => ({ name, role, address: `10.0.0.${10 + i}`, hostKey: HOST_KEY });

function swarm(managers: number, workers = 1, changes: Record<string, unknown> = {}): Record<string, unknown> {
  const names = ["nyc", "sfo", "ams", "fra", "lon", "tyo", "syd", "sao", "mex"];
  const nodes = [
    ...Array.from({ length: managers }, (_, i) => node(names[i]!, i, "manager")),
    ...Array.from({ length: workers }, (_, i) => node(`wk${i + 1}`, 50 + i, "worker")),
  ];
  return {
    topology: "swarm",
    nodes,
    trustedNode: nodes[0]!.name,
    admin: { addresses: ["203.0.113.7/32"] },
    domain: "openclaw.example.com",
    cloudflareZoneId: "0123456789abcdef0123456789abcdef",
    ingress: { caproverSubnet: "10.0.1.0/24" },
    litellm: { models: [{ name: "claude", provider: "anthropic", model: "claude-opus-4-6" }] },
    providerApiKeys: { anthropic: "sk-test" },
    ...changes,
  };
}

function problemsOf(values: Record<string, unknown>): string[] {
  const raw = Object.fromEntries(Object.entries(values).map(([k, v]) => [`openclaw:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
  try {
    parseStackConfig(raw, SECRETS);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  return [];
}

describe("quorum arithmetic", () => {
  const table: [number, number, number, boolean][] = [
    // managers, majority, tolerated failures, accepted
    [1, 1, 0, false], [2, 2, 0, false], [3, 2, 1, true], [4, 3, 1, false], [5, 3, 2, true], [6, 4, 2, false], [7, 4, 3, true],
  ];
  for (const [n, majority, tolerates, accepted] of table) {
    test(`${n} manager(s): majority ${majority}, tolerates ${tolerates}, ${accepted ? "accepted" : "refused"}`, () => {
      assert.deepEqual(quorumOf(n), { majority, tolerates });
      const problems = problemsOf(swarm(n)).filter((p) => p.startsWith("openclaw:nodes:"));
      if (accepted) {
        assert.deepEqual(problems, []);
      } else {
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.match(problems[0]!, new RegExp(`quorum is floor\\(${n}/2\\)\\+1 = ${majority} of ${n}, so the cluster survives ${tolerates} manager failure`));
        assert.match(problems[0]!, /use an odd number of managers, at least 3/);
      }
    });
  }
  test("an even count says why the extra manager does not help", () => {
    assert.match(quorumProblem(["a", "b", "c", "d"])!, /3 managers would tolerate as many: the extra one only adds a way to lose quorum/);
  });
  test("workers do not count towards quorum", () => {
    assert.ok(problemsOf(swarm(1, 5)).some((p) => p.startsWith("openclaw:nodes: 1 manager (nyc)")));
  });
});

describe("swarm checks name their key", () => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ["trusted node not in nodes", swarm(3, 1, { trustedNode: "tokyo" }), "openclaw:trustedNode", /expected one of the managers \(nyc, sfo, ams\), got "tokyo"/],
    ["trusted node is a worker", swarm(3, 1, { trustedNode: "wk1" }), "openclaw:trustedNode", /expected one of the managers/],
    ["standby is a worker", swarm(3, 1, { standbyNode: "wk1" }), "openclaw:standbyNode", /expected one of the managers/],
    ["standby equals trusted", swarm(3, 1, { standbyNode: "nyc" }), "openclaw:standbyNode", /other than trustedNode/],
    ["duplicate node name", swarm(3, 0, { nodes: [node("nyc", 0, "manager"), node("nyc", 1, "manager"), node("ams", 2, "manager")] }), "openclaw:nodes[1].name", /duplicate node name/],
    ["duplicate node address", swarm(3, 0, { nodes: [node("nyc", 0, "manager"), node("sfo", 0, "manager"), node("ams", 2, "manager")] }), "openclaw:nodes[1].address", /duplicate node address/],
    ["NFS client that is a worker", swarm(3, 1, { nfs: { server: "nyc", clients: ["wk1"] } }), "openclaw:nfs.clients[0]", /expected one of the managers/],
    ["NFS server not a node", swarm(3, 1, { nfs: { server: "nas" } }), "openclaw:nfs.server", /expected one of the nodes/],
    ["reserved node label", swarm(3, 0, { nodes: [{ ...node("nyc", 0, "manager"), labels: { "openclaw.trusted": "true" } }, node("sfo", 1, "manager"), node("ams", 2, "manager")] }), "openclaw:nodes[0].labels.openclaw.trusted", /set by the stack/],
    ["tunnel without account id", swarm(3, 1, { ingress: { mode: "cloudflare-tunnel" } }), "openclaw:ingress.cloudflareAccountId", /required key is missing/],
    ["CapRover ingress without its overlay subnet", swarm(3, 1, { ingress: {} }), "openclaw:ingress.caproverSubnet", /the subnet of captain-overlay-network/],
    ["CapRover subnet overlapping the overlay", swarm(3, 1, { ingress: { caproverSubnet: "10.20.0.0/16" } }), "openclaw:networks.proxy", /overlaps/],
    ["unknown swarm mode", swarm(3, 1, { swarm: { mode: "join" } }), "openclaw:swarm.mode", /expected one of "init", "adopt"/],
  ];
  for (const [what, values, path, says] of cases) {
    test(what, () => {
      const problems = problemsOf(values);
      const hit = problems.find((p) => p.startsWith(`${path}:`));
      assert.ok(hit, `no problem names ${path}; got:\n${problems.join("\n")}`);
      assert.match(hit, says);
    });
  }
  test("defaults: init with autolock, CapRover ingress", () => {
    const raw = Object.fromEntries(Object.entries(swarm(3)).map(([k, v]) => [`openclaw:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
    const config = parseStackConfig(raw, SECRETS);
    assert.equal(config.topology, "swarm");
    if (config.topology !== "swarm") return;
    assert.deepEqual(config.swarm, { mode: "init", autolock: true });
    assert.equal(config.ingress.mode, "caprover");
  });
});
