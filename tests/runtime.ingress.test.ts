/**
 * Proof 5 on a real VPS: Caddy from the rendered Caddyfile, in front of N=2
 * partitioned gateways (each its own container, token and state), routes each
 * path to its own instance, and each instance answers only its own token. The
 * requests come from the runner over the VPS's published port, as a client
 * would arrive. (`openclaw.localhost`: Caddy serves it from its internal CA;
 * the ACME path to a public CA cannot run offline.)
 *
 * The gateways start one after the other and each start is judged by its CPU
 * cost, with the clock only as a hang guard (START_CPU_SECONDS says why).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { inspectContainer } from "./support/apply";
import { declaredHealthSeconds, Runtime, RTOPS_VPS, runtimeSkip, startRuntime } from "./support/runtime";

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

  /**
   * A gateway's cold start, judged by what it costs rather than by the clock: on an idle machine it answers
   * /healthz in ~10 s (runtime.gateway.test.ts), well inside its declared allowance (start period + retries
   * × interval = 150 s), but the suite shares two cores with other heavy suites (load 15-30 seen), where
   * wall time measures the neighbours. Measured at the pinned OpenClaw: 19-24 CPU-seconds in the container
   * for a first start (~15 in the main process: module loading, and the first-start state migrations ~5
   * of them; the rest its spawn broker and Docker's healthcheck runs), with no network, npm or
   * plugin-install work, and its limits (2 CPUs, 4 GiB) never throttling it. The budget admits one more
   * start: a start starved of CPU can fail outright (OpenClaw's state-lease worker must report ready
   * within a fixed 5 s, seen at load 31) and Docker restarts it.
   */
  const START_CPU_SECONDS = 50;
  /** Only a guard against a hang (a start waiting on something, not computing); reported, never reached when healthy. */
  const START_HANG_SECONDS = 600;
  const cgroupValue = (name: string, file: string, key?: string) =>
    rt.host.sshOk(`docker exec ${name} sh -c 'for d in /sys/fs/cgroup/cpu,cpuacct /sys/fs/cgroup/cpuacct /sys/fs/cgroup/cpu; do [ -f $d/${file} ] && exec cat $d/${file}; done; exit 1'`)
      .then((text) => Number(key ? new RegExp(`^${key} (\\d+)$`, "m").exec(text)?.[1] : text));
  const waitGateway = async (instance: string) => {
    const name = `openclaw-${instance}`;
    const declared = declaredHealthSeconds(rt.applier, `${name}-container`);
    // From the internal network (a peer's view): on proxy-net the VPS is a trusted proxy, and OpenClaw then
    // requires forwarded client headers.
    const ip = (await inspectContainer(rt.host, name)).NetworkSettings.Networks["openclaw-net"].IPAddress;
    const t0 = Date.now();
    // /startupz, not /healthz: /healthz answers 200 once the HTTP server listens, while the tools API still
    // refuses ("sessions.list unavailable during gateway startup": a 500 through Caddy, seen) until the startup
    // sidecars are done. Not /readyz either: it also judges channel accounts, and Telegram has no way out here.
    while ((await rt.host.ssh(`curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://${ip}:18789/startupz`)).stdout !== "200") {
      if (Date.now() - t0 > START_HANG_SECONDS * 1000) {
        const logs = await rt.host.ssh(`docker logs --tail 40 ${name} 2>&1`);
        throw new Error(`${name}: /startupz not 200 after ${START_HANG_SECONDS} s\n${logs.stdout}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const seconds = (Date.now() - t0) / 1000;
    // The container's cgroup: every process, every restart.
    const cpu = (await cgroupValue(name, "cpuacct.usage")) / 1e9;
    const throttled = await cgroupValue(name, "cpu.stat", "nr_throttled");
    const restarts = (await inspectContainer(rt.host, name)).RestartCount;
    const listening = /http server listening \(.*; ([\d.]+s)\)/.exec(await rt.host.sshOk(`docker logs ${name} 2>&1`))?.[1];
    const load = (await rt.host.sshOk("cut -d' ' -f1 /proc/loadavg")).trim();
    console.log(`runtime ingress: ${name} /startupz 200 after ${seconds.toFixed(1)} s (declared allowance ${declared} s; load ${load}): `
      + `${cpu.toFixed(1)} CPU-s, throttled ${throttled} times, ${restarts} restarts; OpenClaw's own count from "starting": ${listening ?? "not logged yet"}`);
    assert.ok(cpu <= START_CPU_SECONDS, `${name} needed ${cpu.toFixed(1)} CPU-seconds to start (${restarts} restarts)`);
  };

  before(async () => {
    rt = await startRuntime({
      images: ["gateway", "caddy"],
      vps: RTOPS_VPS,
      config: { gateway: { instances: INSTANCES.map((name) => ({ name })) }, ingress: { mode: "caddy", domain: DOMAIN, cloudflareZoneId: "0123456789abcdef0123456789abcdef" } },
    });
    console.log(`runtime ingress: VPS ${rt.timings.boot.toFixed(1)} s, load ${JSON.stringify(rt.timings.load)}`);
    for (const n of ["openclaw-net", "proxy-net"]) await rt.applier.createNetwork(n);
    // One gateway at a time: a cold OpenClaw start costs ~15 CPU-seconds, and a start starved of CPU fails
    // outright (its state-lease worker must report ready within a fixed 5 s, else startup migrations are
    // refused and the process exits; Docker restarts it). Two cold starts at once on a shared two-core
    // machine is what made last session's run miss the allowance.
    for (const instance of INSTANCES) {
      await rt.applier.runCommands(rt.applier.commandsOf(`openclaw-${instance}`));
      await rt.applier.createVolume(`openclaw-${instance}-data`);
      await rt.applier.createContainer(`openclaw-${instance}-container`);
      await waitGateway(instance);
    }
    await rt.applier.runCommands(rt.applier.commandsOf("openclaw-caddy"));
    await rt.applier.createVolume("openclaw-caddy-data");
    await rt.applier.createContainer("openclaw-caddy-container");
    // Caddy itself: its internal CA and the site certificate are made at first start (seen: a few seconds).
    const CADDY_WITHIN_SECONDS = 60;
    const t0 = Date.now();
    for (const instance of INSTANCES) {
      while (request(`${PATHS[instance]}healthz`, undefined, "GET").code !== 200) {
        if (Date.now() - t0 > CADDY_WITHIN_SECONDS * 1000) {
          const logs = await rt.host.ssh("docker logs --tail 30 openclaw-caddy 2>&1 | cut -c1-300");
          throw new Error(`${instance} not answering through Caddy within ${CADDY_WITHIN_SECONDS} s\n${logs.stdout}`);
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    console.log(`runtime ingress: both gateways answer /healthz through Caddy ${((Date.now() - t0) / 1000).toFixed(1)} s after Caddy was created`);
  });
  after(() => {
    if (rt) console.log(`runtime ingress: teardown ${rt.teardown().toFixed(1)} s`);
  });

  it("gives each instance its own token", () => {
    assert.notEqual(token("primary"), token("second"));
  });

  for (const instance of INSTANCES) {
    const other = INSTANCES.find((i) => i !== instance)!;
    it(`routes ${PATHS[instance]} to ${instance}, which accepts only its own token`, async () => {
      const path = `${PATHS[instance]}tools/invoke`;
      const own = request(path, token(instance));
      const got = { "no token": request(path).code, [`${other}'s token`]: request(path, token(other)).code, [`${instance}'s token`]: own.code };
      const want = { "no token": 401, [`${other}'s token`]: 401, [`${instance}'s token`]: 200 };
      // On a mismatch, what the daemon saw: the containers' state and restarts, and the last lines of each log.
      const state = JSON.stringify(got) === JSON.stringify(want) ? "" : (await rt.host.ssh(`docker ps -a --format '{{.Names}} {{.Status}}'; for c in openclaw-${instance} openclaw-caddy; do echo "== $c restarts $(docker inspect -f '{{.RestartCount}}' $c)"; docker logs --tail 15 $c 2>&1 | cut -c1-300; done`)).stdout;
      assert.deepEqual(got, want, `${own.body}\n${state}`);
    });
  }

  it("answers plain HTTP only with a redirect to HTTPS", () => {
    const r = spawnSync("curl", ["-s", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H", `Host: ${DOMAIN}`, `http://${rt.host.address}/healthz`], { encoding: "utf8" });
    assert.match(r.stdout, new RegExp(`^30[18] https://${DOMAIN}/healthz$`));
  });
});
