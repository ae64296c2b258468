/**
 * Every openclaw.json the project renders passes the real CLI at the pinned
 * version: `config validate`, and `security audit --json` with 0 critical
 * and 0 warn. A deliberately bad config fails both, so the oracle is live.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as docker from "@pulumi/docker";
import { Gateway } from "../components/gateway";
import { renderOpenclawConfig } from "../components/openclawConfig";
import { publicRoutes } from "../infra/publicRoutes";
import { gatewayImage, OPENCLAW_RELEASES, OPENCLAW_VERSION } from "../infra/versions";
import { BIG_HOST, SANDBOX, TUNNEL_INGRESS } from "./support/fixtures";
import { checkOpenclawConfig, describeFindings } from "./support/openclaw";
import { renderComponents } from "./support/mockProgram";
import { runRender, singleVpsConfig, writeStackFile } from "./support/render";
import { missingTools } from "./support/tools";

const skip = missingTools("openclaw oracle", ["node24", ...OPENCLAW_RELEASES.map((r) => `openclaw@${r}`)]);

/** Validates and audits with the CLI of `release`: the one the config was rendered for. */
async function assertHardened(what: string, configText: string, release: string): Promise<void> {
  const result = await checkOpenclawConfig(configText, release);
  assert.equal(result.valid, true, `${what}: config validate failed:\n${result.validateOutput}`);
  assert.equal(result.summary?.critical, 0, `${what}: critical findings:\n${describeFindings(result)}`);
  assert.equal(result.summary?.warn, 0, `${what}: warn findings:\n${describeFindings(result)}`);
}

describe("OpenClaw oracle (config validate + security audit)", { skip, concurrency: 2 }, () => {
  test("the oracle is live: a minimal hardened file passes", async () => {
    await assertHardened("minimal", JSON.stringify({
      gateway: { mode: "local", bind: "loopback", port: 18789, auth: { mode: "token", token: { source: "file", provider: "gw", id: "value" }, rateLimit: {} }, controlUi: { enabled: false }, nodes: { browser: { mode: "off" } } },
      secrets: { providers: { gw: { source: "file", path: "/run/secrets/gw", mode: "singleValue" } } },
      discovery: { mdns: { mode: "off" } },
      plugins: { allow: [] },
      tools: { deny: ["gateway", "cron"], elevated: { enabled: false } },
      agents: { defaults: { sandbox: { mode: "all", docker: { network: "none" } } } },
    }), OPENCLAW_VERSION);
  });

  test("the oracle is live: a bad file fails validate and the audit", async () => {
    const unknownKey = await checkOpenclawConfig(JSON.stringify({ gateway: { bind: "0.0.0.0", password: "x" } }), OPENCLAW_VERSION);
    assert.equal(unknownKey.valid, false, "seed keys that do not exist must be refused");
    const open = await checkOpenclawConfig(JSON.stringify({ gateway: { mode: "local", bind: "lan", auth: { mode: "none" } }, discovery: { mdns: { mode: "full" } } }), OPENCLAW_VERSION);
    assert.ok((open.summary?.critical ?? 0) > 0, describeFindings(open));
    assert.ok(open.findings.some((f) => f.checkId === "gateway.bind_no_auth"), describeFindings(open));
  });

  for (const release of OPENCLAW_RELEASES) {
    test(`openclawVersion ${release}: the committed stack rendered for it passes that release's CLI`, async () => {
      const run = runRender(["--stack", "release", "--config", writeStackFile(singleVpsConfig({ openclawVersion: release }))]);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.outputs["openclawVersion"], release);
      await assertHardened(`single-vps ${release}`, run.fileContent("/etc/openclaw/openclaw.json"), String(run.outputs["openclawVersion"]));
    });
  }

  test("single-vps behind Caddy (the committed stack)", async () => {
    const run = runRender(["--stack", "single-vps"]);
    assert.equal(run.status, 0, run.stderr);
    await assertHardened("single-vps caddy", run.fileContent("/etc/openclaw/openclaw.json"), String(run.outputs["openclawVersion"]));
  });

  test("single-vps behind a Cloudflare Tunnel, three partitioned gateways", async () => {
    const run = runRender(["--stack", "tunnel", "--config", writeStackFile(singleVpsConfig({
      ingress: TUNNEL_INGRESS,
      gateway: { memoryMb: 2048, instances: [{ name: "primary" }, { name: "team" }, { name: "ops" }] },
      host: BIG_HOST,
    }))]);
    assert.equal(run.status, 0, run.stderr);
    const configs = run.filesEnding("/etc/openclaw/openclaw.json");
    assert.equal(configs.length, 3);
    for (const suffix of ["openclaw-primary/etc/openclaw/openclaw.json", "openclaw-ops/etc/openclaw/openclaw.json"]) {
      await assertHardened(`tunnel ${suffix}`, run.fileContent(suffix), String(run.outputs["openclawVersion"]));
    }
  });

  test("a swarm service (Gateway component in swarm mode)", async () => {
    let rendered = "";
    await renderComponents(() => {
      const provider = new docker.Provider("nyc-docker", { host: "ssh://deploy@10.0.0.10:9922" });
      const gateway = new Gateway("openclaw-gateway", {
        image: gatewayImage(OPENCLAW_VERSION), port: 18789,
        exposure: { kind: "reverse-proxy", trustedProxies: ["10.20.0.0/24"] },
        publicRoute: publicRoutes("openclaw.example.com", ["gateway"], "path")[0]!,
        dataRoot: "/srv/openclaw/gateway", dockerHost: "tcp://openclaw-docker-proxy:2375",
        egressProxyUrl: "http://openclaw-egress:3128",
        modelProxy: { baseUrl: "http://openclaw-litellm:4000", apiKey: "k", models: ["claude"], primary: "claude" },
        sandbox: SANDBOX, memoryMb: 4096, cpus: 2, networks: [{ name: "openclaw-net" }], tokenRotation: "1",
        target: { kind: "swarm", provider, constraints: ["node.labels.openclaw.trusted == true"] },
      });
      rendered = gateway.openclawConfig;
      return {};
    });
    await assertHardened("swarm service", rendered, OPENCLAW_VERSION);
  });

  test("the host install bound to loopback behind Tailscale Serve", async () => {
    await assertHardened("tailscale-serve", renderOpenclawConfig({
      port: 18789,
      exposure: { kind: "tailscale-serve" },
      allowedOrigins: ["https://openclaw.tailnet-example.ts.net"],
      gatewayTokenFile: "/etc/openclaw/secrets/gateway-token",
      workspace: "/var/lib/openclaw/workspace",
      sandboxWorkspaceRoot: "/var/lib/openclaw/sandboxes",
      sandbox: SANDBOX,
      egressProxyUrl: "http://127.0.0.1:3128",
    }), OPENCLAW_VERSION);
  });
});
