/**
 * Every topology's offline render, judged by the review loop's two checks:
 * the policy pack's rules find nothing, and outputs.json holds the outputs
 * contract with no secret in it. Renders: every committed Pulumi.<stack>.yaml
 * and variants for what those do not cover (tunnel, partitioned, digests).
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { OUTPUTS_CONTRACT_VERSION, OUTPUTS_SCHEMA } from "../contract/outputs";
import { checkResources, fromRender } from "../policy/rules";
import { contractProblems, splitOutputs } from "./support/contract";
import { runRender, singleVpsConfig, writeStackFile } from "./support/render";
import { PROJECT_ROOT } from "./support/tools";

const DIGEST = `@sha256:${"ab".repeat(32)}`;
const TUNNEL = { mode: "cloudflare-tunnel", domain: "openclaw.example.com", cloudflareZoneId: "0123456789abcdef0123456789abcdef", cloudflareAccountId: "fedcba9876543210fedcba9876543210" };
const BIG_HOST = { name: "vps", address: "198.51.100.10", sshPort: 9922, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm2wI7YMrD5yHzmXPoq0d7d6jgS3VHGUSyRn3xHN9EM", memoryMb: 16384 };

const STACKS: [string, string][] = [
  ...readdirSync(PROJECT_ROOT).filter((f) => /^Pulumi\.[\w-]+\.yaml$/.test(f)).map((f): [string, string] => [f.slice(7, -5), join(PROJECT_ROOT, f)]),
  ["single-vps-tunnel-partitioned", writeStackFile(singleVpsConfig({ ingress: TUNNEL, host: BIG_HOST, gateway: { memoryMb: 2048, instances: [{ name: "primary" }, { name: "team" }] } }))],
  ["single-vps-digests", writeStackFile(singleVpsConfig({ images: { gateway: `ghcr.io/openclaw/openclaw:2026.9.6${DIGEST}`, litellm: `ghcr.io/berriai/litellm:v1.108.5${DIGEST}` } }))],
];
const runs = new Map(STACKS.map(([stack, file]) => [stack, runRender(["--stack", stack, "--config", file])]));

for (const [stack, run] of runs) {
  describe(`render of ${stack}`, () => {
    test("the policy pack finds no violation", () => {
      assert.equal(run.status, 0, run.stderr);
      const resources = fromRender(run.resources as never);
      // Docker topologies have containers/services to judge; tailscale-host has host commands (firewall, units, secrets on stdin).
      assert.ok(resources.filter((r) => r.type.startsWith("docker:") || r.type === "command:remote:Command").length >= 8, "the render has resources to judge");
      assert.deepEqual(checkResources(resources).map((v) => `${v.policy}: ${v.message}`), []);
    });

    test("outputs.json holds the outputs contract, and no contract output is secret", () => {
      assert.equal(run.status, 0, run.stderr);
      const { contract, secretKeys } = splitOutputs(run.outputs);
      assert.deepEqual(contractProblems(contract), []);
      assert.equal(contract["contractVersion"], OUTPUTS_CONTRACT_VERSION);
      for (const key of secretKeys) assert.equal(key in OUTPUTS_SCHEMA.properties, false, `${key} is in the contract but secret`);
    });
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
