/**
 * examples/consumer under the SDK's mocks: its StackReference answers with
 * the outputs.json of a real offline render (a tunnel stack with two
 * gateways), as the engine would after `pulumi up`. The engine run of the same
 * program against the file backend lives in the engine suite.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { checkContractVersion, gatewayAllowlist } from "../examples/consumer/allowlist";
import { runRender, singleVpsConfig, writeStackFile } from "./support/render";

const STACK = "organization/openclaw-infra/single-vps";
let referenced: Record<string, unknown> = {};
const requested: string[] = [];

async function runConsumer(): Promise<Record<string, unknown>> {
  const loaded = (await import("../examples/consumer/index")) as unknown as { default?: () => Promise<Record<string, pulumi.Output<unknown>>> };
  const outputs = await loaded.default!();
  const resolved: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(outputs)) resolved[key] = await new Promise((resolve) => value.apply(resolve));
  return resolved;
}

describe("examples/consumer", () => {
  before(async () => {
    const run = runRender(["--stack", "single-vps", "--config", writeStackFile(singleVpsConfig({
      ingress: { mode: "cloudflare-tunnel", domain: "openclaw.example.com", cloudflareZoneId: "0123456789abcdef0123456789abcdef", cloudflareAccountId: "fedcba9876543210fedcba9876543210" },
      host: { name: "vps", address: "198.51.100.10", sshPort: 9922, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm2wI7YMrD5yHzmXPoq0d7d6jgS3VHGUSyRn3xHN9EM", memoryMb: 16384 },
      gateway: { memoryMb: 2048, instances: [{ name: "primary" }, { name: "team" }] },
    }))]);
    assert.equal(run.status, 0, run.stderr);
    referenced = run.outputs;
    await pulumi.runtime.setMocks({
      newResource: async (args) => {
        if (args.type !== "pulumi:pulumi:StackReference") throw new Error(`the consumer created ${args.type}`);
        requested.push(args.inputs["name"]);
        return { id: args.inputs["name"], state: { name: args.inputs["name"], outputs: referenced, secretOutputNames: ["gatewayTokens"] } };
      },
      call: async (args) => { throw new Error(`unexpected invoke ${args.token}`); },
    }, "openclaw-consumer", "dev", false);
    pulumi.runtime.setAllConfig({ "openclaw-consumer:openclawStack": STACK });
  });

  test("allow-lists exactly the gateways of the referenced stack", async () => {
    const outputs = await runConsumer();
    assert.deepEqual(requested, [STACK]);
    assert.deepEqual(referenced["gatewayUrls"], ["https://openclaw.example.com", "https://team.openclaw.example.com"]);
    assert.deepEqual(outputs["gatewayOrigins"], ["https://openclaw.example.com", "https://team.openclaw.example.com"]);
    assert.equal(outputs["squidAcl"], "acl openclaw_gateways dstdomain openclaw.example.com team.openclaw.example.com");
    assert.equal(outputs["openclawContractVersion"], referenced["contractVersion"]);
    assert.equal(outputs["openclawVersion"], referenced["openclawVersion"]);
  });

  test("refuses a contract major it was not written for", () => {
    assert.equal(checkContractVersion("1.7"), "1.7");
    assert.throws(() => checkContractVersion("2.0"), /contract "2.0" is not supported: this program reads contract 1.x/);
    assert.throws(() => checkContractVersion(undefined), /not supported/);
  });

  test("refuses a gateway URL that is not https", () => {
    assert.throws(() => gatewayAllowlist(["http://openclaw.example.com"]), /not https/);
  });
});
