/**
 * The stack outputs contract: contract/outputs.schema.json (checked by ajv in
 * strict mode) holds for the outputs.json of every topology's render, the
 * contract carries no secret, and the schema cannot change without a version
 * bump.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import Ajv2020 from "ajv/dist/2020";
import { OUTPUTS_CONTRACT_VERSION, OUTPUTS_SCHEMA } from "../contract/outputs";
import { SECRET_PLACEHOLDER } from "../infra/offlineRender";
import { runRender, singleVpsConfig, writeStackFile } from "./support/render";
import { PROJECT_ROOT } from "./support/tools";

/**
 * sha256 of contract/outputs.schema.json per contract version. A schema change
 * fails here until contractVersion is bumped (docs/outputs.md: MAJOR when a
 * consumer could break, MINOR when outputs are only added) and its hash added.
 */
const SCHEMA_HASHES: Record<string, string> = {
  "1.0": "f96e56c14a01f2eddef76131e4fa806b1fb482094099389487972ed3b5696f3b",
};

const validate = new Ajv2020({ strict: true, allErrors: true }).compile(OUTPUTS_SCHEMA);
const problems = (outputs: unknown) => (validate(outputs) ? [] : validate.errors!.map((e) => `${e.instancePath || "/"} ${e.message}`));

/** The contract part of a render's outputs: everything that is not a secret. */
function contractPart(outputs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(outputs).filter(([, v]) => v !== SECRET_PLACEHOLDER));
}

const DIGEST = `@sha256:${"ab".repeat(32)}`;
const TUNNEL = { mode: "cloudflare-tunnel", domain: "openclaw.example.com", cloudflareZoneId: "0123456789abcdef0123456789abcdef", cloudflareAccountId: "fedcba9876543210fedcba9876543210" };
const BIG_HOST = { name: "vps", address: "198.51.100.10", sshPort: 9922, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm2wI7YMrD5yHzmXPoq0d7d6jgS3VHGUSyRn3xHN9EM", memoryMb: 16384 };
const RENDERS: [string, string][] = [
  ...readdirSync(PROJECT_ROOT).filter((f) => /^Pulumi\.[\w-]+\.yaml$/.test(f)).map((f): [string, string] => [f.slice(7, -5), join(PROJECT_ROOT, f)]),
  ["single-vps-tunnel-partitioned", writeStackFile(singleVpsConfig({ ingress: TUNNEL, host: BIG_HOST, gateway: { memoryMb: 2048, instances: [{ name: "primary" }, { name: "team" }] } }))],
  ["single-vps-digests", writeStackFile(singleVpsConfig({ images: { gateway: `ghcr.io/openclaw/openclaw:2026.9.6${DIGEST}`, litellm: `ghcr.io/berriai/litellm:v1.108.5${DIGEST}` } }))],
];

const runs = new Map(RENDERS.map(([stack, file]) => [stack, runRender(["--stack", stack, "--config", file])]));

describe("outputs contract: the schema", () => {
  test("compiles under ajv's strict mode and names its version", () => {
    assert.equal(typeof validate, "function");
    assert.match(OUTPUTS_CONTRACT_VERSION, /^\d+\.\d+$/);
  });

  test("cannot change without a contract version bump", () => {
    const hash = createHash("sha256").update(readFileSync(join(PROJECT_ROOT, "contract/outputs.schema.json"))).digest("hex");
    assert.equal(SCHEMA_HASHES[OUTPUTS_CONTRACT_VERSION], hash,
      `contract/outputs.schema.json changed: bump contractVersion (docs/outputs.md) and record ${hash} for it in SCHEMA_HASHES`);
  });

  test("refuses outputs a consumer could trip over", () => {
    const good = contractPart(runs.get("single-vps")!.outputs);
    assert.deepEqual(problems(good), []);
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ["missing key", { ...good, gatewayUrls: undefined }, /must have required property 'gatewayUrls'/],
      ["unknown key", { ...good, hosts: [] }, /must NOT have additional properties/],
      ["nested value", { ...good, networkSubnets: { "openclaw-net": { subnet: "172.30.10.0/24" } } }, /networkSubnets\/openclaw-net must be string/],
      ["plain http", { ...good, gatewayUrls: ["http://openclaw.example.com"] }, /gatewayUrls\/0 must match pattern/],
      ["moving tag", { ...good, imageRefs: { gateway: "ghcr.io/openclaw/openclaw:latest" } }, /imageRefs\/gateway must match pattern/],
      ["other version", { ...good, contractVersion: "0.9" }, /contractVersion must be equal to constant/],
      ["single-vps without its networks", { ...good, networkSubnets: { "openclaw-net": "172.30.10.0/24" } }, /networkSubnets must have required property 'proxy-net'/],
      ["tailscale-host without a tailnet name", { ...good, topology: "tailscale-host", dnsRecordIds: [], gatewayUrls: ["https://gw.tail1234.ts.net"] }, /tailnetNames must NOT have fewer than 1 items/],
      ["tailscale-host URL off the tailnet", { ...good, topology: "tailscale-host", dnsRecordIds: [], tailnetNames: ["gw.tail1234.ts.net"] }, /gatewayUrls\/0 must match pattern/],
      ["swarm on one host", { ...good, topology: "swarm" }, /hostAddresses must NOT have fewer than 2 properties/],
      ["a contract key turned secret (so left out)", { ...good, tunnelId: undefined }, /must have required property 'tunnelId'/],
    ];
    for (const [what, outputs, expected] of bad) {
      const found = problems(JSON.parse(JSON.stringify(outputs)));
      assert.ok(found.some((p) => expected.test(p)), `${what}: ${found.join("; ") || "accepted"}`);
    }
  });
});

describe("outputs contract: every topology's render", () => {
  for (const [stack, run] of runs) {
    const notBuilt = /topology .* not built yet/.test(run.stderr) ? `${stack}: its topology is not built yet` : undefined;
    test(`${stack}: outputs.json holds the contract`, { skip: notBuilt }, () => {
      assert.equal(run.status, 0, run.stderr);
      const contract = contractPart(run.outputs);
      assert.deepEqual(problems(contract), []);
      assert.equal(contract["contractVersion"], OUTPUTS_CONTRACT_VERSION);
      // Secret outputs stay outside the contract: no contract key may be a secret.
      const secretKeys = Object.keys(run.outputs).filter((k) => !(k in contract));
      for (const key of secretKeys) assert.equal(key in OUTPUTS_SCHEMA.properties, false, `${key} is in the contract but secret`);
    });
  }

  test("a digest pinned in config reaches the contract and the container", () => {
    const run = runs.get("single-vps-digests")!;
    assert.equal(run.status, 0, run.stderr);
    const refs = run.outputs["imageRefs"] as Record<string, string>;
    assert.equal(refs["gateway"], `ghcr.io/openclaw/openclaw:2026.9.6${DIGEST}`);
    assert.equal(refs["litellm"], `ghcr.io/berriai/litellm:v1.108.5${DIGEST}`);
    const images = run.resources.filter((r) => r.type === "docker:index/container:Container").map((r) => r.inputs["image"] as string);
    assert.ok(images.includes(refs["gateway"]!) && images.includes(refs["litellm"]!), images.join());
  });
});
