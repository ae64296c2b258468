/**
 * The socket proxy against a REAL Docker Engine (private dockerd, see
 * tests/support/dockerd.ts): OpenClaw's own sandbox flow passes through it
 * with the real docker CLI; a hostile matrix is refused, and every case is
 * judged by what the daemon holds afterwards, not by the proxy's answer.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { renderSocketProxyPolicy, SANDBOX_IMAGE } from "../components/socketProxy";
import { assertDaemonHoldsOnlySandboxes, cliCreateBody, Harness, Instance, LIMITS, MiB, openclawCreateArgv, startHarness } from "./socketProxy.harness";
import { findTool, missingTools, run } from "./support/tools";

const skip = missingTools("socket proxy (real dockerd)", ["dockerd", "docker", "node24", "openclaw", "script"], true);

describe("socket proxy in front of a real dockerd", { skip }, () => {
  let h: Harness;
  before(async () => { h = await startHarness("pxm"); });
  after(async () => { await h?.stop(); });

  const inspect = async (ref: string) => { const r = await h.d.api("GET", `/containers/${ref}/json`); return r.status === 200 ? r.json() : undefined; };

  describe("OpenClaw's sandbox flow, with the real docker CLI", () => {
    const name = "openclaw-sbx-agent-main-0123abcd";
    let ws = "";
    test("create with OpenClaw's own argv, then start", async () => {
      ws = h.workspace("a", "agent-main-0123abcd");
      const envFile = join(h.d.dir, "sandbox.env");
      writeFileSync(envFile, "OPENCLAW_CLI=1\n");
      assert.equal(h.docker("a", ["image", "inspect", SANDBOX_IMAGE]).status, 0);
      const argv = [...openclawCreateArgv(name), "--workdir", "/workspace", "-v", `${ws}:/workspace:z`, "--env-file", envFile, SANDBOX_IMAGE, "sleep", "infinity"];
      assert.ok(argv.includes("--cap-drop") && argv.includes("--read-only"), argv.join(" "));
      const created = h.docker("a", argv);
      assert.equal(created.status, 0, created.stderr);
      const started = h.docker("a", ["start", name]);
      assert.equal(started.status, 0, started.stderr);
      const info = await inspect(name);
      assert.equal(info.State.Running, true);
      assert.equal(info.Config.Labels["openclaw.proxy.instance"], "a");
      assert.equal(info.HostConfig.LogConfig.Type, "json-file");
      assert.deepEqual(info.HostConfig.RestartPolicy, { Name: "no", MaximumRetryCount: 0 });
      await assertDaemonHoldsOnlySandboxes(h);
      assert.equal(h.docker("a", ["inspect", "-f", '{{ index .Config.Labels "openclaw.sandbox" }}', name]).stdout.trim(), "1");
    });
    test("docker cp into the workspace, streamed (8 MiB)", () => {
      const src = join(h.d.dir, "payload.bin");
      writeFileSync(src, Buffer.alloc(8 * MiB, 7));
      const copied = h.docker("a", ["cp", src, `${name}:/workspace/payload.bin`]);
      assert.equal(copied.status, 0, copied.stderr);
      assert.equal(statSync(join(ws, "payload.bin")).size, 8 * MiB);
    });
    test("exec with stdin", () => {
      const r = h.docker("a", ["exec", "-i", name, "/bin/sh", "-lc", "cat > /workspace/stdin.txt; echo exec-ok"], "hello from stdin\n");
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), "exec-ok");
      assert.equal(readFileSync(join(ws, "stdin.txt"), "utf8"), "hello from stdin\n");
    });
    test("exec with a tty", () => {
      const cli = findTool("docker")!;
      const r = run("script", ["-qec", `${cli} exec -it ${name} sh -c 'tty; echo tty-ok'`, "/dev/null"], { env: { ...process.env, DOCKER_HOST: `unix://${h.socket("a")}`, DOCKER_CONFIG: join(h.d.dir, "cli") } });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /\/dev\/pts\/\d+/);
      assert.match(r.stdout, /tty-ok/);
    });
    test("logs -f streams while the sandbox runs", async () => {
      const chatty = "openclaw-sbx-chatty";
      const body = cliCreateBody(h.workspace("a", "chatty"), { top: { Cmd: ["sh", "-c", "i=0; while true; do echo line$i; i=$((i+1)); sleep 0.1; done"] } });
      assert.equal((await h.api("a", "POST", `/v1.41/containers/create?name=${chatty}`, body)).status, 201);
      assert.equal((await h.api("a", "POST", `/v1.41/containers/${chatty}/start`)).status, 204);
      const cli = spawn(findTool("docker")!, ["logs", "-f", chatty], { env: { ...process.env, DOCKER_HOST: `unix://${h.socket("a")}`, DOCKER_CONFIG: join(h.d.dir, "cli") } });
      let out = "";
      cli.stdout.on("data", (c: Buffer) => (out += c.toString()));
      const t0 = Date.now();
      while (!/line5\n/.test(out) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
      cli.kill();
      assert.match(out, /line5\n/, "follow output arrives while the container is still running");
      assert.equal((await inspect(chatty)).State.Running, true);
    });
    test("the gateway identifies itself (reduced inspect, exec as its own user), without its env", async () => {
      const fmt = '{"Id":{{json .ID}},"Mounts":{{json .Mounts}},"Tmpfs":{{json .HostConfig.Tmpfs}}}';
      const r = h.docker("a", ["inspect", "--type", "container", "--format", fmt, "openclaw-a"]);
      assert.equal(r.status, 0, r.stderr);
      const seen = JSON.parse(r.stdout);
      assert.equal(seen.Id, h.gatewayId.a);
      assert.equal(seen.Mounts[0].Destination, h.root("a"));
      const full = await h.api("a", "GET", "/v1.41/containers/openclaw-a/json");
      assert.equal(full.body.includes("do-not-leak"), false);
      const probe = h.docker("a", ["exec", h.gatewayId.a, "cat", "/proc/sys/kernel/random/boot_id"]);
      assert.equal(probe.status, 0, probe.stderr);
      assert.equal(probe.stdout.trim(), readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    });
    test("ps lists only this instance's sandboxes", () => {
      const names = h.docker("a", ["ps", "-a", "--format", "{{.Names}}"]).stdout.trim().split("\n").sort();
      assert.deepEqual(names, ["openclaw-sbx-agent-main-0123abcd", "openclaw-sbx-chatty"]);
    });
    test("pause and unpause (OpenClaw quiesces a sandbox this way)", async () => {
      assert.equal(h.docker("a", ["pause", name]).status, 0);
      assert.equal((await inspect(name)).State.Paused, true);
      assert.equal(h.docker("a", ["unpause", name]).status, 0);
      assert.equal((await inspect(name)).State.Paused, false);
    });
    test("OpenClaw's protected skills binds (read-only, over the workspace) pass, and the daemon mounts them read-only", async () => {
      const skilled = "openclaw-sbx-skilled";
      const wsk = h.workspace("a", "skilled");
      mkdirSync(join(wsk, "skills"));
      mkdirSync(join(wsk, ".agents", "skills"), { recursive: true });
      const created = h.docker("a", [...openclawCreateArgv(skilled), "--workdir", "/workspace", "-v", `${wsk}:/workspace:z`,
        "-v", `${wsk}/skills:/workspace/skills:ro,z`, "-v", `${wsk}/.agents/skills:/workspace/.agents/skills:ro,z`, SANDBOX_IMAGE, "sleep", "infinity"]);
      assert.equal(created.status, 0, created.stderr);
      assert.equal(h.docker("a", ["start", skilled]).status, 0);
      const mounts = (await inspect(skilled)).Mounts as { Source: string; Destination: string; RW: boolean }[];
      assert.deepEqual(mounts.map((m) => [m.Destination, m.RW]).sort(), [["/workspace", true], ["/workspace/.agents/skills", false], ["/workspace/skills", false]]);
      assert.equal(h.docker("a", ["rm", "-f", skilled]).status, 0);
    });
    test("stop and rm", async () => {
      assert.equal(h.docker("a", ["stop", "-t", "1", name]).status, 0);
      assert.equal((await inspect(name)).State.Running, false);
      assert.equal(h.docker("a", ["rm", "-f", name]).status, 0);
      assert.equal(await inspect(name), undefined);
    });
  });

  describe("hostile matrix: refused, and the daemon shows nothing happened", () => {
    const wsA = () => join(h.root("a"), "victim-a");
    const wsS = () => join(h.root("a"), "symlinked-skills");
    let victimA = "";
    let victimB = "";
    let ownExecB = "";
    let foreignExec = "";
    let gatewayExecs = 0;
    before(async () => {
      h.workspace("a", "victim-a");
      const a = await h.api("a", "POST", "/v1.41/containers/create?name=openclaw-sbx-victim-a", cliCreateBody(wsA()));
      assert.equal(a.status, 201, a.body);
      victimA = a.json().Id;
      const b = await h.api("b", "POST", "/v1.41/containers/create?name=openclaw-sbx-victim-b", cliCreateBody(h.workspace("b", "victim-b")));
      assert.equal(b.status, 201, b.body);
      victimB = b.json().Id;
      for (const [inst, id] of [["a", victimA], ["b", victimB]] as const) assert.equal((await h.api(inst, "POST", `/v1.41/containers/${id}/start`)).status, 204);
      const e = await h.api("b", "POST", `/v1.41/containers/${victimB}/exec`, { Cmd: ["true"] });
      ownExecB = e.json().Id;
      foreignExec = (await h.d.api("POST", `/containers/openclaw-a/exec`, { Cmd: ["sh", "-c", "echo escaped > /tmp/x"] })).json().Id;
      gatewayExecs = ((await inspect("openclaw-a")).ExecIDs ?? []).length;
      // A sandbox planted symlinks: one in its workspace, and a workspace that is itself a link.
      mkdirSync(join(h.root("a"), "wsl"), { recursive: true });
      symlinkSync("/", join(h.root("a"), "wsl", "x"));
      symlinkSync("/", join(h.root("a"), "linkws"));
      mkdirSync(join(wsA(), "skills"), { recursive: true });
      mkdirSync(join(wsA(), "other"), { recursive: true });
      mkdirSync(wsS(), { recursive: true });
      symlinkSync("/etc", join(wsS(), "skills"));
      assert.equal((await h.d.api("POST", "/images/openclaw-sandbox:bookworm-slim/tag?repo=other&tag=1")).status, 201);
    });

    /** The daemon after every case: only sandbox-shaped containers, victims untouched. */
    async function daemonUnharmed(created?: string): Promise<void> {
      const names = await assertDaemonHoldsOnlySandboxes(h);
      if (created) assert.equal(names.includes(created), false, `${created} exists on the daemon`);
      for (const ref of ["openclaw-a", "openclaw-b", victimA, victimB]) {
        const state = (await inspect(ref))?.State;
        assert.equal(state?.Running === true && state.Paused === false, true, `${ref} still running, not paused`);
      }
      assert.equal(((await inspect("openclaw-a")).ExecIDs ?? []).length, gatewayExecs, "no exec in the gateway");
      assert.equal((await h.d.api("GET", `/exec/${foreignExec}/json`)).json().Pid, 0, "the daemon-side exec never ran");
      assert.equal(h.proxyAlive(), true);
    }

    type Host = Record<string, unknown>;
    const creates: [string, () => unknown][] = [
      ["privileged", () => cliCreateBody(wsA(), { host: { Privileged: true } })],
      ["cap-add SYS_ADMIN", () => cliCreateBody(wsA(), { host: { CapAdd: ["SYS_ADMIN"] } })],
      ["cap-drop empty", () => cliCreateBody(wsA(), { host: { CapDrop: [] } })],
      ["cap-drop missing", () => cliCreateBody(wsA(), { host: { CapDrop: undefined } })],
      ["writable root", () => cliCreateBody(wsA(), { host: { ReadonlyRootfs: false } })],
      ["seccomp unconfined", () => cliCreateBody(wsA(), { host: { SecurityOpt: ["no-new-privileges", "seccomp=unconfined"] } })],
      ["seccomp profile inline as JSON", () => cliCreateBody(wsA(), { host: { SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}', "no-new-privileges"] } })],
      ["no-new-privileges=false", () => cliCreateBody(wsA(), { host: { SecurityOpt: ["no-new-privileges=false"] } })],
      ["no-new-privileges:0", () => cliCreateBody(wsA(), { host: { SecurityOpt: ["no-new-privileges:0"] } })],
      ["apparmor unconfined", () => cliCreateBody(wsA(), { host: { SecurityOpt: ["no-new-privileges", "apparmor=unconfined"] } })],
      ["selinux label disable", () => cliCreateBody(wsA(), { host: { SecurityOpt: ["no-new-privileges", "label=disable"] } })],
      ["memory swap unlimited", () => cliCreateBody(wsA(), { host: { MemorySwap: -1 } })],
      ["memory unlimited", () => cliCreateBody(wsA(), { host: { Memory: 0, MemorySwap: 0 } })],
      ["memory above the cap", () => cliCreateBody(wsA(), { host: { Memory: 1024 * MiB, MemorySwap: 1024 * MiB } })],
      ["swap above memory", () => cliCreateBody(wsA(), { host: { MemorySwap: 128 * MiB, Memory: 32 * MiB } })],
      ["pids unlimited", () => cliCreateBody(wsA(), { host: { PidsLimit: -1 } })],
      ["pids zero", () => cliCreateBody(wsA(), { host: { PidsLimit: 0 } })],
      ["pids above the cap", () => cliCreateBody(wsA(), { host: { PidsLimit: 100000 } })],
      ["log driver syslog (connects out)", () => cliCreateBody(wsA(), { host: { LogConfig: { Type: "syslog", Config: { "syslog-address": "udp://127.0.0.1:514" } } } })],
      ["log driver gelf", () => cliCreateBody(wsA(), { host: { LogConfig: { Type: "gelf", Config: { "gelf-address": "udp://127.0.0.1:12201" } } } })],
      ["log driver fluentd", () => cliCreateBody(wsA(), { host: { LogConfig: { Type: "fluentd", Config: {} } } })],
      ["bind of /", () => cliCreateBody(wsA(), { host: { Binds: ["/:/host"] } })],
      ["bind of docker.sock", () => cliCreateBody(wsA(), { host: { Binds: [`${h.d.socket}:/var/run/docker.sock`] } })],
      ["bind of the whole sandboxes root", () => cliCreateBody(wsA(), { host: { Binds: [`${h.root("a")}:/workspace`] } })],
      ["bind traversing out of the root", () => cliCreateBody(wsA(), { host: { Binds: [`${h.root("a")}/../../b/sandboxes/victim-b:/workspace`] } })],
      ["bind of another instance's workspace", () => cliCreateBody(join(h.root("b"), "victim-b"))],
      ["bind through a symlink planted in a workspace", () => cliCreateBody(join(h.root("a"), "wsl", "x"))],
      ["bind of a workspace that is a symlink", () => cliCreateBody(join(h.root("a"), "linkws"))],
      ["two binds", () => cliCreateBody(wsA(), { host: { Binds: [`${wsA()}:/workspace`, `${wsA()}:/w2`] } })],
      ["skills bind writable", () => cliCreateBody(wsA(), { host: { Binds: [`${wsA()}:/workspace:z`, `${wsA()}/skills:/workspace/skills:z`] } })],
      ["skills bind of another instance's workspace", () => cliCreateBody(wsA(), { host: { Binds: [`${wsA()}:/workspace:z`, `${join(h.root("b"), "victim-b")}/skills:/workspace/skills:ro,z`] } })],
      ["skills bind of the workspace itself onto the skills target", () => cliCreateBody(wsA(), { host: { Binds: [`${wsA()}:/workspace:z`, `${wsA()}:/workspace/skills:ro`] } })],
      ["skills bind whose skills dir is a symlink planted by the sandbox", () => cliCreateBody(wsS(), { host: { Binds: [`${wsS()}:/workspace:z`, `${wsS()}/skills:/workspace/skills:ro,z`] } })],
      ["skills bind of another name in the workspace", () => cliCreateBody(wsA(), { host: { Binds: [`${wsA()}:/workspace:z`, `${wsA()}/other:/workspace/skills:ro`] } })],
      ["skills bind without the workspace", () => cliCreateBody(wsA(), { host: { Binds: [`${wsA()}/skills:/workspace/skills:ro`] } })],
      ["skills bind twice", () => cliCreateBody(wsA(), { host: { Binds: [`${wsA()}:/workspace:z`, `${wsA()}/skills:/workspace/skills:ro`, `${wsA()}/skills:/workspace/skills:ro`] } })],
      ["skills bind with a traversal", () => cliCreateBody(wsA(), { host: { Binds: [`${wsA()}:/workspace:z`, `${wsA()}/skills/../../../..:/workspace/skills:ro`] } })],
      ["bind with shared propagation", () => cliCreateBody(wsA(), { host: { Binds: [`${wsA()}:/workspace:rshared`] } })],
      ["bind onto another target", () => cliCreateBody(wsA(), { host: { Binds: [`${wsA()}:/etc`] } })],
      ["bind mount of /etc", () => cliCreateBody(wsA(), { host: { Mounts: [{ Type: "bind", Source: "/etc", Target: "/etc2" }] } })],
      ["named volume (a gateway's state)", () => cliCreateBody(wsA(), { host: { Mounts: [{ Type: "volume", Source: "openclaw-a-data", Target: "/data" }] } })],
      ["volume driver options binding /", () => cliCreateBody(wsA(), { host: { Mounts: [{ Type: "volume", Target: "/host", VolumeOptions: { DriverConfig: { Name: "local", Options: { type: "none", o: "bind", device: "/" } } } }] } })],
      ["volumes from the gateway", () => cliCreateBody(wsA(), { host: { VolumesFrom: ["openclaw-a"] } })],
      ["volume driver", () => cliCreateBody(wsA(), { host: { VolumeDriver: "local" } })],
      ["host network", () => cliCreateBody(wsA(), { host: { NetworkMode: "host" } })],
      ["bridge network", () => cliCreateBody(wsA(), { host: { NetworkMode: "bridge" } })],
      ["the gateway's network namespace", () => cliCreateBody(wsA(), { host: { NetworkMode: "container:openclaw-a" } })],
      ["host pid", () => cliCreateBody(wsA(), { host: { PidMode: "host" } })],
      ["the gateway's pid namespace", () => cliCreateBody(wsA(), { host: { PidMode: "container:openclaw-a" } })],
      ["host ipc", () => cliCreateBody(wsA(), { host: { IpcMode: "host" } })],
      ["host uts", () => cliCreateBody(wsA(), { host: { UTSMode: "host" } })],
      ["host userns", () => cliCreateBody(wsA(), { host: { UsernsMode: "host" } })],
      ["host cgroupns", () => cliCreateBody(wsA(), { host: { CgroupnsMode: "host" } })],
      ["device", () => cliCreateBody(wsA(), { host: { Devices: [{ PathOnHost: "/dev/sda", PathInContainer: "/dev/sda", CgroupPermissions: "rwm" }] } })],
      ["device cgroup rule", () => cliCreateBody(wsA(), { host: { DeviceCgroupRules: ["a *:* rwm"] } })],
      ["sysctls", () => cliCreateBody(wsA(), { host: { Sysctls: { "kernel.shm_rmid_forced": "1" } } })],
      ["unmasked /proc (MaskedPaths [])", () => cliCreateBody(wsA(), { host: { MaskedPaths: [] } })],
      ["writable /proc/sys (ReadonlyPaths [])", () => cliCreateBody(wsA(), { host: { ReadonlyPaths: [] } })],
      ["another runtime", () => cliCreateBody(wsA(), { host: { Runtime: "nvidia" } })],
      ["cgroup parent", () => cliCreateBody(wsA(), { host: { CgroupParent: "/" } })],
      ["published port", () => cliCreateBody(wsA(), { host: { PortBindings: { "22/tcp": [{ HostPort: "2222" }] } } })],
      ["publish all", () => cliCreateBody(wsA(), { host: { PublishAllPorts: true } })],
      ["extra group", () => cliCreateBody(wsA(), { host: { GroupAdd: ["disk"] } })],
      ["oom score -1000", () => cliCreateBody(wsA(), { host: { OomScoreAdj: -1000 } })],
      ["restart always", () => cliCreateBody(wsA(), { host: { RestartPolicy: { Name: "always", MaximumRetryCount: 0 } } })],
      ["image that is not a sandbox image", () => cliCreateBody(wsA(), { top: { Image: "other:1" } })],
      ["forged instance label", () => cliCreateBody(wsA(), { top: { Labels: { "openclaw.sandbox": "1", "openclaw.proxy.instance": "b" } } })],
      ["no sandbox label", () => cliCreateBody(wsA(), { top: { Labels: {} } })],
      ["foreign label namespace", () => cliCreateBody(wsA(), { top: { Labels: { "openclaw.sandbox": "1", "com.docker.compose.project": "x" } } })],
      ["healthcheck", () => cliCreateBody(wsA(), { top: { Healthcheck: { Test: ["CMD", "true"] } } })],
      ["HoſtConfig twin (U+017F) with / bound", () => ({ ...cliCreateBody(wsA()), "Ho\u017FtConfig": { Privileged: true, Binds: ["/:/host"] } })],
      ["Bindſ (U+017F)", () => cliCreateBody(wsA(), { host: { "Bind\u017F": ["/:/host"] } })],
      ["Mountſ (U+017F)", () => cliCreateBody(wsA(), { host: { "Mount\u017F": [{ Type: "bind", Source: "/", Target: "/host" }] } })],
      ["VolumeſFrom (U+017F)", () => cliCreateBody(wsA(), { host: { "Volume\u017FFrom": ["openclaw-a"] } })],
      ["ſecurityOpt (U+017F)", () => cliCreateBody(wsA(), { host: { "\u017FecurityOpt": ["seccomp=unconfined"] } })],
      ["MaſkedPaths (U+017F)", () => cliCreateBody(wsA(), { host: { "Ma\u017FkedPaths": [] } })],
      ["Syſctls (U+017F)", () => cliCreateBody(wsA(), { host: { "Sy\u017Fctls": { "kernel.shm_rmid_forced": "1" } } })],
      ["LinKs (U+212A Kelvin)", () => cliCreateBody(wsA(), { host: { "Lin\u212As": ["openclaw-a:gw"] } })],
      ["lower-case twin hostconfig", () => ({ ...cliCreateBody(wsA()), hostconfig: { Privileged: true } })],
      ["HostConfig nulled by a twin, fields at the top", () => ({ ...cliCreateBody(wsA()), hostConfig: null, Privileged: true, Binds: ["/:/host"] })],
      ["__proto__ key", () => JSON.parse(`{"__proto__":{"Privileged":true},${JSON.stringify(cliCreateBody(wsA())).slice(1)}`)],
      ["memory as a string", () => cliCreateBody(wsA(), { host: { Memory: "64m" } as Host })],
      ["not JSON", () => "{nope"],
    ];
    let n = 0;
    for (const [what, body] of creates) {
      test(`create: ${what}`, async () => {
        const name = `openclaw-sbx-hostile-${++n}`;
        try {
          const reply = await h.api("a", "POST", `/v1.41/containers/create?name=${name}`, body());
          await daemonUnharmed(name);
          assert.ok(reply.status >= 400 && reply.status < 500, `${reply.status} ${reply.body}`);
        } finally {
          // An escape fails this case only, not every case after it.
          await h.d.api("DELETE", `/containers/${name}?force=1`);
        }
      });
    }
    test("create: duplicate HostConfig keys (Go would merge them): the daemon only sees the rebuilt body", async () => {
      const good = JSON.stringify(cliCreateBody(wsA()));
      const raw = `{"HostConfig":{"Privileged":true,"Binds":["/:/host"],"PidMode":"host"},${good.slice(1)}`;
      const reply = await h.api("a", "POST", "/v1.41/containers/create?name=openclaw-sbx-dup", raw);
      assert.ok(reply.status === 201 || reply.status === 403, reply.body);
      await daemonUnharmed();
      if (reply.status === 201) assert.equal((await inspect("openclaw-sbx-dup")).HostConfig.PidMode, "");
    });
    test("create: a name without the sandbox prefix (the gateway's own name)", async () => {
      const reply = await h.api("a", "POST", "/v1.41/containers/create?name=openclaw-c", cliCreateBody(wsA()));
      assert.equal(reply.status, 403);
      await daemonUnharmed("openclaw-c");
    });

    const requests: [string, Instance, string, string, unknown?][] = [
      ["start with a HostConfig body at API 1.23", "a", "POST", `/v1.23/containers/openclaw-sbx-victim-a/start`, { Binds: ["/:/host"], Privileged: true }],
      ["start with a HostConfig body at API 1.41", "a", "POST", `/v1.41/containers/openclaw-sbx-victim-a/start`, { Binds: ["/:/host"], Privileged: true }],
      ["unversioned create", "a", "POST", "/containers/create?name=openclaw-sbx-unv", "CREATE"],
      ["old API list", "a", "GET", "/v1.12/containers/json"],
      ["exec into the gateway as root", "a", "POST", "/v1.41/containers/openclaw-a/exec", { Cmd: ["id"], User: "0" }],
      ["exec into the gateway with privilege", "a", "POST", "/v1.41/containers/openclaw-a/exec", { Cmd: ["id"], Privileged: true }],
      ["exec into the gateway with env", "a", "POST", "/v1.41/containers/openclaw-a/exec", { Cmd: ["id"], Env: ["LD_PRELOAD=/tmp/x"] }],
      ["exec into another instance's gateway", "a", "POST", "/v1.41/containers/openclaw-b/exec", { Cmd: ["id"] }],
      ["exec into another instance's sandbox", "a", "POST", "/v1.41/containers/openclaw-sbx-victim-b/exec", { Cmd: ["id"] }],
      ["stop another instance's sandbox", "a", "POST", "/v1.41/containers/openclaw-sbx-victim-b/stop"],
      ["remove another instance's sandbox", "a", "DELETE", "/v1.41/containers/openclaw-sbx-victim-b?force=1"],
      ["remove the gateway", "a", "DELETE", "/v1.41/containers/openclaw-a?force=1"],
      ["kill the gateway by id prefix", "a", "POST", "/v1.41/containers/GATEWAY_PREFIX/kill"],
      ["stop the gateway", "a", "POST", "/v1.41/containers/openclaw-a/stop"],
      ["pause the gateway", "a", "POST", "/v1.41/containers/openclaw-a/pause"],
      ["restart another instance's sandbox", "a", "POST", "/v1.41/containers/openclaw-sbx-victim-b/restart"],
      ["archive read from the gateway", "a", "GET", "/v1.41/containers/openclaw-a/archive?path=/etc"],
      ["logs of another instance's sandbox", "a", "GET", "/v1.41/containers/openclaw-sbx-victim-b/logs?stdout=1"],
      ["export a sandbox", "a", "GET", "/v1.41/containers/openclaw-sbx-victim-a/export"],
      ["update a sandbox's limits", "a", "POST", "/v1.41/containers/openclaw-sbx-victim-a/update", { Memory: 0, PidsLimit: -1 }],
      ["rename a sandbox", "a", "POST", "/v1.41/containers/openclaw-sbx-victim-a/rename?name=openclaw-x"],
      ["commit a sandbox", "a", "POST", "/v1.41/commit?container=openclaw-a&repo=stolen"],
      ["unknown query parameter on start", "a", "POST", "/v1.41/containers/openclaw-sbx-victim-a/start?detachKeys=x&HostConfig=y"],
      ["image pull", "a", "POST", "/v1.41/images/create?fromImage=busybox&tag=latest"],
      ["image inspect of a non-sandbox image", "a", "GET", "/v1.41/images/other:1/json"],
      ["build", "a", "POST", "/v1.41/build"],
      ["volume create", "a", "POST", "/v1.41/volumes/create", { Name: "v", DriverOpts: { type: "none", o: "bind", device: "/" } }],
      ["network create", "a", "POST", "/v1.41/networks/create", { Name: "n" }],
      ["swarm init", "a", "POST", "/v1.41/swarm/init", { ListenAddr: "127.0.0.1:2377" }],
      ["secrets", "a", "GET", "/v1.41/secrets"],
      ["plugins", "a", "POST", "/v1.41/plugins/pull?remote=x"],
      ["session", "a", "POST", "/v1.41/session"],
      ["events", "a", "GET", "/v1.41/events"],
      ["info", "a", "GET", "/v1.41/info"],
      ["percent-encoded traversal", "a", "POST", "/v1.41/containers/openclaw-sbx-victim-a/%2e%2e/openclaw-a/stop"],
      ["dot-dot traversal", "a", "POST", "/v1.41/containers/openclaw-sbx-victim-a/../openclaw-a/stop"],
      ["double slash", "a", "POST", "/v1.41//containers/openclaw-a/stop"],
      ["exec start of an exec made on the daemon", "a", "POST", "/v1.41/exec/FOREIGN_EXEC/start", { Detach: true }],
      ["exec start of another instance's exec", "a", "POST", "/v1.41/exec/B_EXEC/start", { Detach: true }],
    ];
    for (const [what, inst, method, path, body] of requests) {
      test(`request: ${what}`, async () => {
        const target = path.replace("GATEWAY_PREFIX", h.gatewayId.a.slice(0, 6)).replace("FOREIGN_EXEC", foreignExec).replace("B_EXEC", ownExecB);
        const payload = body === "CREATE" ? cliCreateBody(wsA(), { host: { Privileged: true } }) : body;
        const reply = await h.api(inst, method, target, payload).finally(() => h.d.api("DELETE", "/containers/openclaw-sbx-unv?force=1"));
        assert.ok(reply.status >= 400 && reply.status < 500 && reply.status !== 404, `${reply.status} ${reply.body}`);
        assert.equal(reply.body.includes("do-not-leak"), false);
        await daemonUnharmed("openclaw-sbx-unv");
        const victim = await inspect(victimA);
        assert.equal(victim.Name, "/openclaw-sbx-victim-a");
        assert.equal(victim.HostConfig.Memory, LIMITS.memoryMb * MiB);
        assert.equal((await h.d.api("GET", "/images/stolen/json")).status, 404);
        assert.equal((await h.d.api("GET", "/volumes")).json().Volumes?.length ?? 0, 0);
        assert.equal((await h.d.api("GET", "/exec/" + ownExecB + "/json")).json().Pid, 0);
      });
    }

    const privilegedCreate = () => {
      const body = JSON.stringify(cliCreateBody(wsA(), { host: { Privileged: true, Binds: ["/:/host"] } }));
      return `POST /v1.41/containers/create?name=openclaw-sbx-smuggled HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    const wire: [string, () => string][] = [
      ["absolute-form request target", () => "POST http://docker/v1.41/containers/openclaw-a/stop HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n"],
      ["Content-Length with Transfer-Encoding", () => "POST /v1.41/containers/openclaw-a/stop HTTP/1.1\r\nHost: d\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
      ["chunked create body, privileged", () => { const b = JSON.stringify(cliCreateBody(wsA(), { host: { Privileged: true } })); return `POST /v1.41/containers/create?name=openclaw-sbx-smuggled HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`; }],
      ["pipelined: ping, then a privileged create", () => `GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n${privilegedCreate()}`],
      ["Upgrade on ping, then a privileged create on the same connection", () => `GET /v1.41/_ping HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n${privilegedCreate()}`],
      ["Upgrade on create", () => privilegedCreate().replace("Host: d\r\n", "Host: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n")],
      ["Upgrade on start, then a privileged create", () => `POST /v1.41/containers/openclaw-sbx-victim-a/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n${privilegedCreate()}`],
      ["Upgrade on the gateway's inspect", () => "GET /v1.41/containers/openclaw-a/json HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"],
      ["Upgrade: attach to the gateway", () => "POST /v1.41/containers/openclaw-a/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"],
      ["Upgrade: attach to another instance's sandbox", () => "POST /v1.41/containers/openclaw-sbx-victim-b/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"],
      ["Upgrade: exec start of an exec made on the daemon", () => `POST /v1.41/exec/${foreignExec}/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`],
      ["Upgrade: exec start with data pipelined before the 101", () => `POST /v1.41/exec/${ownExecB}/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}${privilegedCreate()}`],
      ["huge header", () => `GET /v1.41/version HTTP/1.1\r\nHost: d\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`],
    ];
    for (const [what, data] of wire) {
      test(`wire: ${what}`, async () => {
        const inst: Instance = what.includes("pipelined before the 101") ? "b" : "a";
        const out = await h.raw(inst, data(), 1500);
        const statuses = [...out.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
        assert.ok(statuses.length > 0 && statuses.every((s) => s !== 101), out.slice(0, 300));
        assert.ok(statuses.some((s) => s >= 400), out.slice(0, 300));
        await daemonUnharmed("openclaw-sbx-smuggled");
      });
    }

    test("after the 101 the client's bytes are the exec's stdin, never HTTP to the daemon", async () => {
      // Upgrade, then send an HTTP request as stdin, then close stdin.
      const result = await new Promise<string>((resolve) => {
        const s = net.createConnection(h.socket("a"));
        let text = "";
        s.on("data", (c: Buffer) => {
          text += c.toString("latin1");
          if (text.includes("\r\n\r\n") && !s.writableEnded) { s.end(privilegedCreate()); }
        });
        s.on("close", () => resolve(text));
        s.on("error", () => resolve(text));
        h.api("a", "POST", `/v1.41/containers/${victimA}/exec`, { Cmd: ["sh", "-c", "cat > /workspace/after101.txt"], AttachStdin: true, AttachStdout: true }).then((r) => {
          s.write(`POST /v1.41/exec/${r.json().Id}/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 28\r\n\r\n{"Detach":false,"Tty":false}`);
        });
        setTimeout(() => { s.destroy(); resolve(text); }, 5000);
      });
      assert.match(result, /^HTTP\/1\.1 101/);
      for (let i = 0; i < 50 && !readFileSync(join(wsA(), "after101.txt"), { flag: "a+" }).toString().includes("smuggled"); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(readFileSync(join(wsA(), "after101.txt"), "utf8"), /openclaw-sbx-smuggled/);
      await daemonUnharmed("openclaw-sbx-smuggled");
    });
  });
});

describe("renderSocketProxyPolicy", () => {
  const sandbox = { memoryMb: 512, pidsLimit: 256, cpus: 0.5 };
  test("refuses sandbox roots that would admit the host or overlap", () => {
    for (const root of ["/", "/srv", "/srv/../etc/x", "relative/path", "/srv/a/"]) {
      assert.throws(() => renderSocketProxyPolicy({ instances: [{ name: "a", gatewayContainer: "openclaw-a", sandboxRoot: root }], sandbox }), /sandbox root/, root);
    }
    assert.throws(() => renderSocketProxyPolicy({ instances: [{ name: "a", gatewayContainer: "g", sandboxRoot: "/srv/a" }, { name: "b", gatewayContainer: "h", sandboxRoot: "/srv/a/b" }], sandbox }), /inside/);
    assert.throws(() => renderSocketProxyPolicy({ instances: [{ name: "a", gatewayContainer: "g", sandboxRoot: "/srv/a" }, { name: "a", gatewayContainer: "h", sandboxRoot: "/srv/b" }], sandbox }), /unique/);
  });
  test("one listener per instance, caps from the sandbox settings", () => {
    const policy = JSON.parse(renderSocketProxyPolicy({ instances: [{ name: "a", gatewayContainer: "g", sandboxRoot: "/srv/a/sandboxes" }, { name: "b", gatewayContainer: "h", sandboxRoot: "/srv/b/sandboxes" }], sandbox }));
    assert.deepEqual(policy.instances.map((i: { listen: string }) => i.listen), ["/run/socket-proxy/a/docker.sock", "/run/socket-proxy/b/docker.sock"]);
    assert.equal(policy.instances[0].maxMemoryBytes, 512 * MiB);
    assert.equal(policy.instances[0].maxNanoCpus, 500_000_000);
    assert.equal(policy.logConfig.Type, "json-file");
  });
});
