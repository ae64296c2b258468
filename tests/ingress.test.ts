/**
 * Ingress artifacts: the Caddyfile passes `caddy validate`; tunnel hostnames.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { renderCaddyfile } from "../components/caddy";
import { tunnelIngress } from "../components/cloudflareTunnel";
import { publicRoutes } from "../infra/publicRoutes";
import { runRender } from "./support/render";
import { findTool, missingTools, run } from "./support/tools";

const INSTANCES = ["primary", "team", "ops"];
const upstream = (instance: string) => `openclaw-${instance}:18789`;
const ROUTES = publicRoutes("openclaw.example.com", INSTANCES, "path").map((r) => ({ pathPrefix: r.pathPrefix, upstream: upstream(r.instance) }));

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
  test("the Caddyfile of partitioned instances is valid", () => {
    assert.equal(caddyValidate(renderCaddyfile("openclaw.example.com", ROUTES)).status, 0);
  });
  test("the validator is live: a broken Caddyfile is refused", () => {
    assert.notEqual(caddyValidate(renderCaddyfile("openclaw.example.com", ROUTES).replace("reverse_proxy", "reverse_proxyy")).status, 0);
  });
});

describe("public routes (one rule for every ingress, the gateways' origins and gatewayUrls)", () => {
  test("path routing: the first instance at /, the others under /<instance>/ on the same origin", () => {
    assert.deepEqual(publicRoutes("openclaw.example.com", INSTANCES, "path").map((r) => [r.url, r.origin, r.pathPrefix]), [
      ["https://openclaw.example.com", "https://openclaw.example.com", "/"],
      ["https://openclaw.example.com/team/", "https://openclaw.example.com", "/team/"],
      ["https://openclaw.example.com/ops/", "https://openclaw.example.com", "/ops/"],
    ]);
  });
  test("host routing (tunnel): the first instance on the domain, others on subdomains", () => {
    const routes = publicRoutes("openclaw.example.com", INSTANCES, "subdomain");
    assert.deepEqual(routes.map((r) => [r.url, r.pathPrefix]), [
      ["https://openclaw.example.com", "/"], ["https://team.openclaw.example.com", "/"], ["https://ops.openclaw.example.com", "/"],
    ]);
    assert.deepEqual(tunnelIngress(routes.map((r) => ({ hostname: r.hostname, upstream: upstream(r.instance) })))[1], { hostname: "team.openclaw.example.com", service: "http://openclaw-team:18789" });
  });
  test("Caddy routes partitioned instances by path, the first at /", () => {
    const text = renderCaddyfile("openclaw.example.com", ROUTES);
    assert.match(text, /handle_path \/team\/\* \{\n\t\treverse_proxy openclaw-team:18789/);
    assert.match(text, /handle \{\n\t\treverse_proxy openclaw-primary:18789/);
    assert.match(text, /admin off/);
  });
  test("Caddy refuses routes with no root or two roots", () => {
    assert.throws(() => renderCaddyfile("openclaw.example.com", ROUTES.slice(1)), /exactly one route at \//);
    assert.throws(() => renderCaddyfile("openclaw.example.com", [ROUTES[0]!, ROUTES[0]!]), /exactly one route at \//);
  });
});
