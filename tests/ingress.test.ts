/**
 * Ingress artifacts: the Caddyfile passes `caddy validate`; tunnel hostnames.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { renderCaddyfile } from "../components/caddy";
import { tunnelHostnames } from "../components/cloudflareTunnel";
import { runRender } from "./support/render";
import { findTool, missingTools, run } from "./support/tools";

const ROUTES = [
  { instance: "primary", upstream: "openclaw-primary:18789" },
  { instance: "team", upstream: "openclaw-team:18789" },
];

function caddyValidate(text: string): { status: number; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "caddy-"));
  writeFileSync(join(dir, "Caddyfile"), text);
  const result = run(findTool("caddy")!, ["validate", "--config", join(dir, "Caddyfile"), "--adapter", "caddyfile"], { env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir } });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe("Caddyfile", { skip: missingTools("caddy validate", ["caddy"]) }, () => {
  test("the rendered Caddyfile of the single-vps stack is valid", () => {
    const render = runRender(["--stack", "single-vps"]);
    assert.equal(render.status, 0, render.stderr);
    const result = caddyValidate(render.fileContent("/etc/caddy/Caddyfile"));
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /Valid configuration/);
  });
  test("partitioned instances are routed by path, the first at /", () => {
    const text = renderCaddyfile("openclaw.example.com", ROUTES);
    assert.equal(caddyValidate(text).status, 0);
    assert.match(text, /handle_path \/team\/\* \{\n\t\treverse_proxy openclaw-team:18789/);
    assert.match(text, /handle \{\n\t\treverse_proxy openclaw-primary:18789/);
    assert.match(text, /admin off/);
  });
  test("the validator is live: a broken Caddyfile is refused", () => {
    assert.notEqual(caddyValidate(renderCaddyfile("openclaw.example.com", ROUTES).replace("reverse_proxy", "reverse_proxyy")).status, 0);
  });
});

describe("Cloudflare Tunnel routes", () => {
  test("first instance on the domain, others on subdomains", () => {
    assert.deepEqual(tunnelHostnames("openclaw.example.com", ROUTES), [
      { hostname: "openclaw.example.com", service: "http://openclaw-primary:18789" },
      { hostname: "team.openclaw.example.com", service: "http://openclaw-team:18789" },
    ]);
  });
});
