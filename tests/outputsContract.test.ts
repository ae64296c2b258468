/**
 * The stack outputs contract's schema (contract/outputs.schema.json), checked
 * by ajv in strict mode: it accepts a valid v1 document, refuses what a
 * consumer could trip over, and cannot change without a version bump.
 * tests/stackRenders.test.ts validates every topology's render against it.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { OUTPUTS_CONTRACT_VERSION } from "../contract/outputs";
import { contractProblems } from "./support/contract";
import { PROJECT_ROOT } from "./support/tools";

/**
 * sha256 of contract/outputs.schema.json per contract version. A schema change
 * fails here until contractVersion is bumped (docs/outputs.md: MAJOR when a
 * consumer could break, MINOR when outputs are only added) and its hash added.
 */
const SCHEMA_HASHES: Record<string, string> = {
  "1.0": "49e82b53d723f0bbe0d0e2c705a662f474ad937502d2e0fa23726bbe6fa0f7f4",
  "1.1": "d834a5c1ae1c67eec5a30667db33a269d04b5f716ae70821bb18a6ac8d585739",
};

/** A valid single-vps document: the shape of outputs.json for the committed stack. */
const EXAMPLE: Record<string, unknown> = {
  contractVersion: OUTPUTS_CONTRACT_VERSION,
  topology: "single-vps",
  openclawVersion: "2026.9.6",
  gatewayUrls: ["https://openclaw.example.com", "https://openclaw.example.com/team/"],
  hostAddresses: { vps: "198.51.100.10" },
  tailnetNames: [],
  dnsRecordIds: ["0f1e2d3c4b5a69788796a5b4c3d2e1f0"],
  tunnelId: null,
  networkSubnets: { "openclaw-net": "172.30.10.0/24", "proxy-net": "172.30.11.0/24", "egress-net": "172.30.12.0/24" },
  imageRefs: { gateway: `ghcr.io/openclaw/openclaw:2026.9.6@sha256:${"ab".repeat(32)}`, caddy: "caddy:2.10.2-alpine" },
};

describe("outputs contract: the schema", () => {
  test("names its version as MAJOR.MINOR", () => {
    assert.match(OUTPUTS_CONTRACT_VERSION, /^\d+\.\d+$/);
  });

  test("cannot change without a contract version bump", () => {
    const hash = createHash("sha256").update(readFileSync(join(PROJECT_ROOT, "contract/outputs.schema.json"))).digest("hex");
    assert.equal(SCHEMA_HASHES[OUTPUTS_CONTRACT_VERSION], hash,
      `contract/outputs.schema.json changed: bump contractVersion (docs/outputs.md) and record ${hash} for it in SCHEMA_HASHES`);
  });

  test("accepts a valid document and refuses what a consumer could trip over", () => {
    assert.deepEqual(contractProblems(EXAMPLE), []);
    const tailscale = { ...EXAMPLE, topology: "tailscale-host", dnsRecordIds: [], networkSubnets: {}, tailnetNames: ["gw.tail1234.ts.net"], gatewayUrls: ["https://gw.tail1234.ts.net"] };
    assert.deepEqual(contractProblems(tailscale), []);
    const swarm = {
      ...EXAMPLE, topology: "swarm", hostAddresses: { nyc: "10.0.0.10", sfo: "10.0.0.11", ams: "10.0.0.12" },
      nodeRoles: { nyc: "manager", sfo: "manager", ams: "manager" }, trustedNode: "nyc", standbyNode: "sfo",
      serviceNames: ["openclaw-primary"], networkIds: { "openclaw-net": "n1" },
    };
    assert.deepEqual(contractProblems(swarm), []);
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ["missing key", { ...EXAMPLE, gatewayUrls: undefined }, /must have required property 'gatewayUrls'/],
      ["unknown key", { ...EXAMPLE, hosts: [] }, /must NOT have additional properties/],
      ["nested value", { ...EXAMPLE, networkSubnets: { "openclaw-net": { subnet: "172.30.10.0/24" } } }, /networkSubnets\/openclaw-net must be string/],
      ["plain http", { ...EXAMPLE, gatewayUrls: ["http://openclaw.example.com"] }, /gatewayUrls\/0 must match pattern/],
      ["moving tag", { ...EXAMPLE, imageRefs: { gateway: "ghcr.io/openclaw/openclaw:latest" } }, /imageRefs\/gateway must match pattern/],
      ["other version", { ...EXAMPLE, contractVersion: "0.9" }, /contractVersion must be equal to constant/],
      ["single-vps without its networks", { ...EXAMPLE, networkSubnets: { "openclaw-net": "172.30.10.0/24" } }, /networkSubnets must have required property 'proxy-net'/],
      ["tailscale-host without a tailnet name", { ...tailscale, tailnetNames: [] }, /tailnetNames must NOT have fewer than 1 items/],
      ["tailscale-host URL off the tailnet", { ...tailscale, gatewayUrls: ["https://openclaw.example.com"] }, /gatewayUrls\/0 must match pattern/],
      ["swarm on one host", { ...EXAMPLE, topology: "swarm" }, /hostAddresses must NOT have fewer than 2 properties/],
      ["swarm without its trusted node", { ...swarm, trustedNode: undefined }, /must have required property 'trustedNode'/],
      ["swarm role that is not one", { ...swarm, nodeRoles: { ...swarm.nodeRoles, ams: "leader" } }, /nodeRoles\/ams must be equal to one of the allowed values/],
      ["a swarm-only output on single-vps", { ...EXAMPLE, trustedNode: "nyc" }, /trustedNode: boolean schema is false|must NOT be valid|boolean schema is false/],
      ["a contract key turned secret (so left out)", { ...EXAMPLE, tunnelId: undefined }, /must have required property 'tunnelId'/],
    ];
    for (const [what, outputs, expected] of bad) {
      const found = contractProblems(JSON.parse(JSON.stringify(outputs)));
      assert.ok(found.some((p) => expected.test(p)), `${what}: ${found.join("; ") || "accepted"}`);
    }
  });
});
