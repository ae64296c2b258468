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
import { checkOpenclawConfig, describeFindings } from "./support/openclaw";
import { renderComponents } from "./support/mockProgram";
import { runRender, singleVpsConfig, writeStackFile } from "./support/render";
import { missingTools } from "./support/tools";

const skip = missingTools("openclaw oracle", ["node24", "openclaw"]);
const SANDBOX = { memoryMb: 512, cpus: 0.5, pidsLimit: 256, maxConcurrent: 3 };

async function assertHardened(what: string, configText: string): Promise<void> {
  const result = await checkOpenclawConfig(configText);
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
    }));
  });

  test("the oracle is live: a bad file fails validate and the audit", async () => {
    const unknownKey = await checkOpenclawConfig(JSON.stringify({ gateway: { bind: "0.0.0.0", password: "x" } }));
    assert.equal(unknownKey.valid, false, "seed keys that do not exist must be refused");
    const open = await checkOpenclawConfig(JSON.stringify({ gateway: { mode: "local", bind: "lan", auth: { mode: "none" } }, discovery: { mdns: { mode: "full" } } }));
    assert.ok((open.summary?.critical ?? 0) > 0, describeFindings(open));
    assert.ok(open.findings.some((f) => f.checkId === "gateway.bind_no_auth"), describeFindings(open));
  });

  test("single-vps behind Caddy (the committed stack)", async () => {
    const run = runRender(["--stack", "single-vps"]);
    assert.equal(run.status, 0, run.stderr);
    await assertHardened("single-vps caddy", run.fileContent("/etc/openclaw/openclaw.json"));
  });

  test("single-vps behind a Cloudflare Tunnel, three partitioned gateways", async () => {
    const run = runRender(["--stack", "tunnel", "--config", writeStackFile(singleVpsConfig({
      ingress: { mode: "cloudflare-tunnel", domain: "openclaw.example.com", cloudflareZoneId: "0123456789abcdef0123456789abcdef", cloudflareAccountId: "fedcba9876543210fedcba9876543210" },
      gateway: { memoryMb: 2048, instances: [{ name: "primary" }, { name: "team" }, { name: "ops" }] },
      host: { name: "vps", address: "198.51.100.10", sshPort: 9922, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm2wI7YMrD5yHzmXPoq0d7d6jgS3VHGUSyRn3xHN9EM", memoryMb: 16384 },
    }))]);
    assert.equal(run.status, 0, run.stderr);
    const configs = run.filesEnding("/etc/openclaw/openclaw.json");
    assert.equal(configs.length, 3);
    for (const suffix of ["openclaw-primary/etc/openclaw/openclaw.json", "openclaw-ops/etc/openclaw/openclaw.json"]) {
      await assertHardened(`tunnel ${suffix}`, run.fileContent(suffix));
    }
  });

  test("a swarm service (Gateway component in swarm mode)", async () => {
    let rendered = "";
    await renderComponents(() => {
      const provider = new docker.Provider("nyc-docker", { host: "ssh://deploy@10.0.0.10:9922" });
      const gateway = new Gateway("openclaw-gateway", {
        image: "ghcr.io/openclaw/openclaw:2026.9.6", port: 18789,
        exposure: { kind: "reverse-proxy", trustedProxies: ["10.20.0.0/24"], allowedOrigins: ["https://openclaw.example.com"] },
        dataRoot: "/srv/openclaw/gateway", stateVolume: "openclaw-data", docker: { dockerHost: "unix:///run/openclaw-docker/docker.sock", bind: { hostPath: "/run/openclaw/docker-proxy/gateway", target: "/run/openclaw-docker" } },
        egressProxyUrl: "http://openclaw-egress:3128",
        modelProxy: { baseUrl: "http://openclaw-litellm:4000", apiKey: "k", models: ["claude"], primary: "claude" },
        sandbox: SANDBOX, memoryMb: 4096, cpus: 2, networks: [{ name: "openclaw-net" }], tokenRotation: "1",
        target: { kind: "swarm", provider, constraints: ["node.labels.openclaw.trusted == true"] },
      });
      rendered = gateway.openclawConfig;
      return {};
    });
    await assertHardened("swarm service", rendered);
  });

  test("the host install bound to loopback behind Tailscale Serve", async () => {
    await assertHardened("tailscale-serve", renderOpenclawConfig({
      port: 18789,
      exposure: { kind: "tailscale-serve", allowedOrigins: ["https://openclaw.tailnet-example.ts.net"] },
      gatewayTokenFile: "/etc/openclaw/secrets/gateway-token",
      workspace: "/var/lib/openclaw/workspace",
      sandboxWorkspaceRoot: "/var/lib/openclaw/sandboxes",
      sandbox: SANDBOX,
      egressProxyUrl: "http://127.0.0.1:3128",
    }));
  });
});
