/**
 * Proof 5 on a real VPS: Caddy from the rendered Caddyfile, in front of N=2
 * partitioned gateways (each its own container, token and state), routes each
 * path to its own instance, and each instance answers only its own token. The
 * requests come from the runner over the VPS's published port, as a client
 * would arrive. (`openclaw.localhost`: Caddy serves it from its internal CA;
 * the ACME path to a public CA cannot run offline.)
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { declaredHealthSeconds, Runtime, runtimeSkip, startRuntime } from "./support/runtime";

const skip = runtimeSkip("runtime: ingress");
const DOMAIN = "openclaw.localhost";
const INSTANCES = ["primary", "second"] as const;
const PATHS: Record<(typeof INSTANCES)[number], string> = { primary: "/", second: "/second/" };

describe("runtime: Caddy ingress to two partitioned gateways on a real VPS", { skip, timeout: 900_000 }, () => {
  let rt: Runtime;
  /** An HTTPS request from the runner to the VPS's published 443; the bearer header travels on stdin. */
  const request = (path: string, token?: string, method: "GET" | "POST" = "POST"): { code: number; body: string } => {
    const post = method === "POST" ? ["-X", "POST", "-H", "Content-Type: application/json", "--data", '{"tool":"sessions_list","args":{}}'] : [];
    const args = ["-sk", "--max-time", "15", "--resolve", `${DOMAIN}:443:${rt.host.address}`, "-o", "-", "-w", "\n%{http_code}",
      ...post, ...(token ? ["-H", "@-"] : []), `https://${DOMAIN}${path}`];
    const r = spawnSync("curl", args, { input: token ? `Authorization: Bearer ${token}\n` : "", encoding: "utf8" });
    const lines = r.stdout.trimEnd().split("\n");
    return { code: Number(lines.pop()), body: lines.join("\n") };
  };
  const token = (instance: string) => rt.applier.secret(`openclaw-${instance}-token`);

  before(async () => {
    rt = await startRuntime({
      images: ["gateway", "caddy"],
      config: { gateway: { instances: INSTANCES.map((name) => ({ name })) }, ingress: { mode: "caddy", domain: DOMAIN, cloudflareZoneId: "0123456789abcdef0123456789abcdef" } },
    });
    console.log(`runtime ingress: VPS ${rt.timings.boot.toFixed(1)} s, load ${JSON.stringify(rt.timings.load)}`);
    for (const n of ["openclaw-net", "proxy-net"]) await rt.applier.createNetwork(n);
    for (const instance of INSTANCES) {
      await rt.applier.runCommands(rt.applier.commandsOf(`openclaw-${instance}`));
      await rt.applier.createVolume(`openclaw-${instance}-data`);
      await rt.applier.createContainer(`openclaw-${instance}-container`);
    }
    await rt.applier.runCommands(rt.applier.commandsOf("openclaw-caddy"));
    await rt.applier.createVolume("openclaw-caddy-data");
    await rt.applier.createContainer("openclaw-caddy-container");
    const t0 = Date.now();
    for (const instance of INSTANCES) {
      const within = declaredHealthSeconds(rt.applier, `openclaw-${instance}-container`);
      while (request(`${PATHS[instance]}healthz`, undefined, "GET").code !== 200) {
        if (Date.now() - t0 > within * 1000) {
          const logs = await rt.host.ssh(`docker logs --tail 30 openclaw-caddy 2>&1 | cut -c1-300; docker logs --tail 30 openclaw-${instance} 2>&1`);
          throw new Error(`${instance} not answering through Caddy within ${within} s\n${logs.stdout}`);
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    console.log(`runtime ingress: both gateways answer /healthz through Caddy after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
  after(() => {
    if (rt) console.log(`runtime ingress: teardown ${rt.teardown().toFixed(1)} s`);
  });

  it("gives each instance its own token", () => {
    assert.notEqual(token("primary"), token("second"));
  });

  for (const instance of INSTANCES) {
    const other = INSTANCES.find((i) => i !== instance)!;
    it(`routes ${PATHS[instance]} to ${instance}, which accepts only its own token`, () => {
      const path = `${PATHS[instance]}tools/invoke`;
      assert.equal(request(path).code, 401, "no token");
      assert.equal(request(path, token(other)).code, 401, `${other}'s token`);
      const ok = request(path, token(instance));
      assert.equal(ok.code, 200, ok.body);
    });
  }

  it("answers plain HTTP only with a redirect to HTTPS", () => {
    const r = spawnSync("curl", ["-s", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H", `Host: ${DOMAIN}`, `http://${rt.host.address}/healthz`], { encoding: "utf8" });
    assert.match(r.stdout, new RegExp(`^30[18] https://${DOMAIN}/healthz$`));
  });
});
