/**
 * The offline render as a contract: its flags, its files, its refusals, and
 * the secrecy of what it writes.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { OPENCLAW_VERSION } from "../infra/versions";
import { BIG_HOST } from "./support/fixtures";
import { runRender, singleVpsConfig, writeStackFile } from "./support/render";

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? allFiles(path) : [path];
  });
}

describe("npm run render", () => {
  test("renders the single-vps stack file: resources, files and outputs", () => {
    const run = runRender(["--stack", "single-vps"]);
    assert.equal(run.status, 0, run.stderr);
    // CPU time, not wall time: the full suite runs beside VPS and image builds on two cores.
    assert.ok(run.cpuSeconds > 0 && run.cpuSeconds < 20, `render used ${run.cpuSeconds}s of CPU (${run.seconds}s wall)`);
    for (const r of run.resources) {
      assert.deepEqual(Object.keys(r).slice(0, 6), ["type", "name", "parent", "custom", "inputs", "dependsOn"]);
    }
    const components = run.resources.filter((r) => !r.custom).map((r) => r.type).sort();
    assert.deepEqual([...new Set(components)], ["openclaw:infra:Caddy", "openclaw:infra:EgressProxy", "openclaw:infra:FirewallRules", "openclaw:infra:Gateway",
      "openclaw:infra:HostBaseline", "openclaw:infra:LiteLlm", "openclaw:infra:Operations", "openclaw:infra:SocketProxy", "openclaw:infra:SystemdUnit"]);
    const container = run.resources.find((r) => r.name === "openclaw-primary-container")!;
    assert.equal(container.parent, "openclaw-primary");
    assert.ok(container.dependsOn.includes("openclaw-primary-etc-openclaw-openclaw.json"), container.dependsOn.join(","));
    for (const f of run.files) {
      assert.ok(existsSync(join(run.dir, f.file)), f.file);
      assert.match(f.path, /^\//);
      assert.match(f.mode, /^0[0-7]{3}$/);
    }
    assert.equal(run.outputs["openclawVersion"], OPENCLAW_VERSION);
    assert.equal(run.outputs["gatewayTokens"], "[secret]");
    assert.match(run.stdout, /openclaw:infra:Gateway\s+openclaw-primary/);
    assert.match(run.stdout, /Files:\n\s+vps\n/);
  });

  test("an unknown topology is refused with the key named, and nothing is written", () => {
    const run = runRender(["--stack", "bad", "--config", writeStackFile(singleVpsConfig({ topology: "kubernetes" }))]);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /openclaw:topology: expected one of "single-vps", "swarm", "tailscale-host", got string "kubernetes"/);
    assert.equal(existsSync(run.dir), false);
  });

  test("every problem of an invalid config is printed, nothing written", () => {
    const run = runRender(["--stack", "bad", "--config", writeStackFile(singleVpsConfig({ gatway: 1, images: { gateway: "ghcr.io/openclaw/openclaw:latest" } }))]);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /openclaw:gatway: unknown key/);
    assert.match(run.stderr, /openclaw:images\.gateway: .*moving tag "latest"/);
    assert.equal(existsSync(run.dir), false);
  });

  test("bad flags are a usage error", () => {
    const run = runRender(["--stak", "single-vps"]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /usage: npm run render/);
  });

  test("known plaintext secrets fed through config appear nowhere in the render", () => {
    const secrets = {
      anthropic: "sk-ant-KNOWN-PLAINTEXT-4c1d2e",
      openai: "sk-openai-KNOWN-PLAINTEXT-99ab",
      telegramPrimary: "7001:KNOWN-PLAINTEXT-telegram-primary",
      telegramOps: "7002:KNOWN-PLAINTEXT-telegram-ops",
      webhook: "https://hooks.example.com/KNOWN-PLAINTEXT-webhook",
    };
    const config = singleVpsConfig({
      providerApiKeys: { anthropic: secrets.anthropic, openai: secrets.openai },
      channelTokens: { primary: secrets.telegramPrimary, ops: secrets.telegramOps },
      alertWebhookUrl: secrets.webhook,
      gateway: { instances: [{ name: "primary" }, { name: "ops" }] },
      litellm: { models: [
        { name: "claude", provider: "anthropic", model: "claude-opus-4-6" },
        { name: "gpt", provider: "openai", model: "gpt-5" },
      ] },
      host: BIG_HOST,
    });
    for (const ingress of [
      { mode: "caddy", domain: "openclaw.example.com", cloudflareZoneId: "0123456789abcdef0123456789abcdef" },
      { mode: "cloudflare-tunnel", domain: "openclaw.example.com", cloudflareZoneId: "0123456789abcdef0123456789abcdef", cloudflareAccountId: "fedcba9876543210fedcba9876543210" },
    ]) {
      const run = runRender(["--stack", "leak", "--config", writeStackFile({ ...config, "openclaw:ingress": ingress })]);
      assert.equal(run.status, 0, run.stderr);
      // The mocked generated secrets (tokens, keys) must not leak either.
      const needles = [...Object.values(secrets), "mock-", "mock-tunnel-token"];
      for (const file of allFiles(run.dir)) {
        const text = readFileSync(file, "utf8");
        for (const needle of needles) assert.equal(text.includes(needle), false, `${needle} found in ${file}`);
      }
      for (const needle of needles) assert.equal(run.stdout.includes(needle) || run.stderr.includes(needle), false, `${needle} printed`);
      const secretFiles = run.files.filter((f) => f.path.startsWith("/opt/openclaw/") && f.path.includes("/run/secrets/"));
      assert.ok(secretFiles.length >= 5);
      for (const f of secretFiles) assert.equal(readFileSync(join(run.dir, f.file), "utf8"), "[secret]", f.path);
    }
  });
});
