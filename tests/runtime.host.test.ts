/**
 * Proof 6 on a real VPS: the whole single-vps render applied the way the
 * engine applies it — every remote Command (files, firewall, baseline,
 * operations) run over SSH as the stack's `deploy` user with sudo, every
 * network, volume and container created from its resource — then:
 *   - a second run of every Command changes nothing on the host (files,
 *     firewall rules, enabled units, timers);
 *   - the timers exist and each service runs once successfully against the
 *     real containers (watchdog sees them, backup of the real gateway volume,
 *     verification), and a restore drill from that backup gives back the volume;
 *   - after the baseline, root cannot log in and the admin user can.
 *
 * One deviation, by necessity: kernel.*, vm.* and fs.* sysctls are global to
 * the machine running the tests (a system container shares its kernel), so the
 * sysctl activation applies only the network-namespaced keys and checks that
 * every other key exists; everything else runs as rendered.
 *
 * A second deviation, only where the machine forces it: the rendered
 * daemon.json gives every container nofile 65536, which runc can set only
 * where the VPS may raise RLIMIT_NOFILE that far (vpsNofileCeiling). Where it
 * cannot, the test first proves the rendered daemon.json is placed as rendered
 * and that runc refuses a rendered container with the exact error; then, for
 * the proofs that need running containers (watchdog, backup and restore drill,
 * audit), it places a test-only daemon.json that differs from the rendered one
 * only by lacking `default-ulimits` (derived from the placed file by deleting
 * that key), restarts dockerd and creates the rendered containers. Where the
 * ceiling allows 65536, the rendered daemon.json stays and nothing deviates.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { renderDaemonJson } from "../components/hostBaseline";
import { inspectContainer } from "./support/apply";
import { RECIPES, STACK_IMAGE_KEYS } from "./support/images";
import { Runtime, RTOPS_VPS, runtimeSkip, startRuntime } from "./support/runtime";
import type { RenderedResourceJson } from "./support/render";
import { vpsNofileCeiling } from "./support/vps";

const skip = runtimeSkip("runtime: host side");
const SYSCTL_ACTIVATE = "vps-baseline-sysctl-activate";
/** The nofile limit the rendered daemon.json gives every container (Soft = Hard). */
const DAEMON_NOFILE: number = JSON.parse(renderDaemonJson({ swarm: false }))["default-ulimits"].nofile.Hard;
const NOFILE_CEILING = vpsNofileCeiling();
/** Why the rendered containers cannot run on this machine, or undefined when they can. */
const CONTAINERS_BLOCKED = NOFILE_CEILING !== undefined && NOFILE_CEILING < DAEMON_NOFILE
  ? `this machine cannot raise RLIMIT_NOFILE above ${NOFILE_CEILING} (no CAP_SYS_RESOURCE in any bounding set), so runc cannot give containers the rendered daemon.json's nofile ${DAEMON_NOFILE}: every rendered container is refused at start ("error setting rlimit type 7: operation not permitted")`
  : undefined;
/** The test's own probe containers (not rendered workloads) set their nofile explicitly, within any ceiling. */
const PROBE_ULIMIT = "--ulimit nofile=1024:1024";
const TIMERS = ["openclaw-backup", "openclaw-backup-verify", "openclaw-watchdog", "openclaw-audit", "openclaw-token-age"];

/** What must not change on a second run: rendered files, firewall, enabled units and timers, docker config. */
const SNAPSHOT = `set -eu
for f in $(cat /tmp/rendered-paths); do sha256sum "$f"; stat -c '%n %a %u:%g' "$f"; done
ufw status verbose
ufw show added
rules() { "$1" | sed -E 's/\\[[0-9]+:[0-9]+\\]//' | grep -v '^#'; }
# Ours in order (UFW's chains, DOCKER-USER, the jumps to them); every rule as a set, since the second run
# re-runs the daemon.json activation (systemctl restart docker), and Docker rebuilds its own chains in its own order.
rules iptables-save | grep -E '^(:|[*]|-A (ufw|DOCKER-USER)|-A [A-Z]+ .*-j (ufw[a-z0-9-]*|DOCKER-USER)$)'
rules iptables-save | sort
rules ip6tables-save | sort
systemctl list-unit-files --state=enabled --no-legend | sort
systemctl list-timers --all --no-legend | awk '{print $(NF-1), $NF}' | sort
docker info --format '{{json .SecurityOptions}} {{.LiveRestoreEnabled}}'
`;

describe("runtime: host side of the whole stack on a real VPS", { skip, timeout: 1_500_000 }, () => {
  let rt: Runtime;
  let commands: RenderedResourceJson[] = [];
  const sudo = (cmd: string) => rt.host.ssh(`sudo -n bash -c '${cmd.replace(/'/g, "'\\''")}'`, { user: "deploy" });
  const sudoOk = async (cmd: string) => {
    const r = await sudo(cmd);
    assert.equal(r.status, 0, `${cmd}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };

  /** Every Command, in dependency order; the sysctl activation as stated above. */
  const applyCommands = async (): Promise<Map<string, string>> => {
    const results = await rt.applier.runCommands((r) => r.name !== SYSCTL_ACTIVATE);
    const sysctl = rt.render.fileContent("/etc/sysctl.d/99-openclaw.conf").split("\n").filter((l) => /^[a-z]/.test(l)).map((l) => l.split("=")[0]!.trim());
    await sudoOk(`grep -E '^net\\.' /etc/sysctl.d/99-openclaw.conf | sysctl -q -p - && for k in ${sysctl.join(" ")}; do sysctl -n "$k" >/dev/null; done`);
    return new Map([...results].map(([k, v]) => [k, v.stdout]));
  };

  let refusal = "";
  before(async () => {
    rt = await startRuntime({ images: [...STACK_IMAGE_KEYS], vps: RTOPS_VPS });
    console.log(`runtime host: VPS ${rt.timings.boot.toFixed(1)} s, load ${JSON.stringify(rt.timings.load)}`);
    commands = rt.render.resources.filter((r) => r.type === "command:remote:Command");
    const t0 = Date.now();
    const first = await applyCommands();
    assert.ok(first.size > 40, `ran ${first.size} commands`);
    console.log(`runtime host: ${first.size} commands applied over SSH in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // What the VPS's dockerd (and so runc) may set, as the kernel reports it.
    const limits = await sudoOk("grep 'Max open files' /proc/$(pidof dockerd)/limits");
    const dockerdHard = Number(limits.trim().split(/\s+/)[4]);
    console.log(`runtime host: dockerd ${limits.trim()}; rendered default nofile ${DAEMON_NOFILE}; machine ceiling ${NOFILE_CEILING ?? "none"}`);
    assert.equal(dockerdHard < DAEMON_NOFILE, CONTAINERS_BLOCKED !== undefined, "the ceiling predicted from the runner is what dockerd got");
    assert.deepEqual(JSON.parse(await sudoOk("cat /etc/docker/daemon.json")), JSON.parse(renderDaemonJson({ swarm: false })), "daemon.json as rendered");
    const t1 = Date.now();
    for (const r of rt.render.resources.filter((x) => x.type === "docker:index/network:Network")) await rt.applier.createNetwork(r.name);
    for (const r of rt.render.resources.filter((x) => x.type === "docker:index/volume:Volume")) await rt.applier.createVolume(r.name);
    const containers = rt.render.resources.filter((x) => x.type === "docker:index/container:Container");
    if (CONTAINERS_BLOCKED) {
      refusal = await rt.applier.createContainer("openclaw-docker-proxy-container").then(() => "", (err: Error) => err.message);
    } else {
      for (const r of containers) await rt.applier.createContainer(r.name);
    }
    console.log(`runtime host: networks, volumes${CONTAINERS_BLOCKED ? "" : `, ${containers.length} containers`} created in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    const hostFiles = rt.render.files.filter((f) => f.target === "vps").map((f) => f.path);
    // As the admin user: the baseline has closed root's SSH login.
    await rt.host.sshOk("cat > /tmp/rendered-paths", { user: "deploy", input: hostFiles.join("\n") + "\n" });
  });
  /** Where containers cannot run: the refusal seen is the one the blocker names, and nothing else. */
  const assertRefusal = () => assert.match(refusal, /error setting rlimit type 7: operation not permitted/);
  /** Only a guard against a hang; every container is reported with the seconds it took and the load. */
  const HEALTHY_HANG_SECONDS = 600;
  let containersUp: Promise<void> | undefined;
  /**
   * Every rendered container running and healthy (once, for the proofs that need them). Where the ceiling
   * blocks them: the stated deviation (daemon.json without `default-ulimits`), after the refusal is asserted.
   */
  const runContainers = () => (containersUp ??= (async () => {
    const containers = rt.render.resources.filter((x) => x.type === "docker:index/container:Container");
    if (CONTAINERS_BLOCKED) {
      assertRefusal();
      const withoutUlimits = JSON.parse(renderDaemonJson({ swarm: false }));
      delete withoutUlimits["default-ulimits"];
      // Derived from the placed (rendered) file by deleting the one key; written in place, so mode and owner stay.
      await sudoOk(`jq 'del(."default-ulimits")' /etc/docker/daemon.json > /tmp/daemon.json.test && cat /tmp/daemon.json.test > /etc/docker/daemon.json && systemctl restart docker`);
      assert.deepEqual(JSON.parse(await sudoOk("cat /etc/docker/daemon.json")), withoutUlimits, "test-only daemon.json: the rendered one without default-ulimits");
      console.log(`runtime host: deviation applied: ${CONTAINERS_BLOCKED}; daemon.json without default-ulimits, dockerd restarted`);
      // The refused container was created before runc refused to start it.
      await sudoOk("docker rm -f openclaw-docker-proxy");
      const t0 = Date.now();
      for (const r of containers) await rt.applier.createContainer(r.name);
      console.log(`runtime host: ${containers.length} containers created in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    // As the admin user (root's SSH login is closed by now), like waitHealthy.
    for (const r of containers) {
      const name = String(r.inputs["name"]);
      const t0 = Date.now();
      let state = (await inspectContainer(rt.host, name, "deploy")).State;
      while (state.Health?.Status !== "healthy") {
        if (Date.now() - t0 > HEALTHY_HANG_SECONDS * 1000 || state.Status === "exited") {
          const logs = await sudo(`docker logs --tail 40 ${name} 2>&1`);
          throw new Error(`${name} not healthy after ${((Date.now() - t0) / 1000).toFixed(0)} s: ${JSON.stringify({ status: state.Status, health: state.Health?.Status, last: state.Health?.Log?.at(-1) })}\n${logs.stdout}`);
        }
        await new Promise((done) => setTimeout(done, 1000));
        state = (await inspectContainer(rt.host, name, "deploy")).State;
      }
      const load = (await sudoOk("cut -d' ' -f1 /proc/loadavg")).trim();
      console.log(`runtime host: ${name} healthy after a further ${((Date.now() - t0) / 1000).toFixed(1)} s (load ${load})`);
    }
  })());
  after(() => {
    if (rt) console.log(`runtime host: teardown ${rt.teardown().toFixed(1)} s`);
  });

  it("a second run of every command changes nothing on the host", async () => {
    await sudoOk(`(${SNAPSHOT}) > /tmp/snapshot-first`);
    const second = await applyCommands();
    await sudoOk(`(${SNAPSHOT}) > /tmp/snapshot-second`);
    // The second-run diff, as diff(1) prints it (order matters: iptables rules are evaluated in order).
    const diff = await sudo("diff /tmp/snapshot-first /tmp/snapshot-second");
    console.log(`runtime host: second-run diff (${(await sudoOk("wc -l < /tmp/snapshot-first")).trim()} snapshot lines): ${diff.stdout.trim() || "empty"}`);
    assert.equal(diff.stdout, "", "the second run changed the host");
    assert.equal(diff.status, 0);
    const placed = commands.filter((c) => typeof c.inputs["create"] === "string" && c.inputs["create"].includes("mktemp")).map((c) => c.name);
    for (const name of placed) assert.match(second.get(name) ?? "", /^unchanged /, `${name} reports unchanged on the second run`);
    assert.match(second.get("vps-baseline-packages") ?? "", /packages unchanged/);
    assert.match(second.get("vps-firewall-apply") ?? "", /unchanged|no change/i);
  });

  it("enforces the firewall and the SSH baseline: root is refused, the admin user gets in", async () => {
    assert.match(await sudoOk("ufw status verbose"), /Status: active/);
    const root = await rt.host.ssh("true", { fresh: true });
    assert.notEqual(root.status, 0, "root login must be refused after the baseline");
    assert.equal((await rt.host.sshOk("id -un", { user: "deploy", fresh: true })).trim(), "deploy");
  });

  it("closes the VPS's own sshd to a container on the internal network (a compromised workload)", async () => {
    const probe = `docker run --rm ${PROBE_ULIMIT} --network openclaw-net ${RECIPES.socketProxy.tag} node -e "require('net').connect({host:'${rt.host.address}',port:22,timeout:3000}).on('connect',()=>{console.log('open');process.exit(0)}).on('error',e=>{console.log('closed '+e.code);process.exit(0)}).on('timeout',()=>{console.log('closed timeout');process.exit(0)})"`;
    assert.match(await sudoOk(probe), /^closed /);
  });

  it("admits a burst of new SSH logins from the admin address, as `pulumi up` opens one per remote Command", async () => {
    const results = [];
    // Sequential fresh logins (no multiplexing), each a new TCP connection through the rendered firewall.
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) results.push((await rt.host.ssh("true", { user: "deploy", fresh: true })).status);
    console.log(`runtime host: 20 fresh SSH logins in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.deepEqual(results, Array(20).fill(0));
  });

  it("has every operations timer enabled and scheduled", async () => {
    const timers = await sudoOk("systemctl list-timers --all --no-legend");
    for (const t of TIMERS) {
      assert.match(timers, new RegExp(`${t}\\.timer`), `${t}.timer listed`);
      assert.equal((await sudoOk(`systemctl is-enabled ${t}.timer`)).trim(), "enabled");
    }
  });

  it("runs the watchdog once: it inspects every real container and reports no problem", async () => {
    await runContainers();
    for (const name of ["openclaw-docker-proxy", "openclaw-egress", "openclaw-litellm", "openclaw-primary", "openclaw-caddy"]) {
      assert.equal((await inspectContainer(rt.host, name, "deploy")).State.Status, "running", `${name} running`);
    }
    const r = await sudo("systemctl start openclaw-watchdog.service; systemctl show -p Result --value openclaw-watchdog.service; journalctl -u openclaw-watchdog.service --no-pager -o cat | tail -5");
    assert.match(r.stdout, /^success\n/, r.stdout);
    assert.match(r.stdout, /watchdog: 0 problem\(s\)/);
    assert.doesNotMatch(r.stdout, /ALERT/, r.stdout);
    // The watchdog can fail: a stopped container is reported.
    await sudoOk("docker stop -t 1 openclaw-caddy");
    const failed = await sudo("systemctl start openclaw-watchdog.service; systemctl show -p Result --value openclaw-watchdog.service; journalctl -u openclaw-watchdog.service --no-pager -o cat | tail -8");
    assert.match(failed.stdout, /^exit-code\n/, failed.stdout);
    assert.match(failed.stdout, /openclaw-caddy: status exited/, failed.stdout);
    await sudoOk("docker start openclaw-caddy");
  });

  /**
   * A defect of the render this test found (components/operations.ts, not this file's to fix): the backup and
   * verify units name the restic repository in ReadWritePaths, and nothing creates that directory, so systemd
   * refuses the first run before the script starts ("Failed to set up mount namespacing:
   * /run/systemd/unit-root/var/backups/openclaw-restic: No such file or directory", status 226/NAMESPACE).
   * The test runs as written and reports as todo until the render creates the repository directory.
   */
  it("backs up the real gateway volume, verifies it, and a restore drill gives it back", async () => {
    await runContainers();
    const volume = "/var/lib/docker/volumes/openclaw-primary-data/_data";
    const t0 = Date.now();
    while ((await sudo(`test -n "$(find ${volume} -mindepth 1 -type f -print -quit)"`)).status !== 0) {
      assert.ok(Date.now() - t0 < 60_000, "the gateway wrote nothing to its state volume within 60 s");
      await new Promise((r) => setTimeout(r, 1000));
    }
    // A file the drill must give back, written into the live volume before the first backup.
    const marker = randomBytes(16).toString("hex");
    await sudoOk(`echo ${marker} > ${volume}/restore-drill-marker`);
    for (const unit of ["openclaw-backup", "openclaw-backup-verify"]) {
      const r = await sudo(`systemctl start ${unit}.service; systemctl show -p Result --value ${unit}.service; journalctl -u ${unit}.service --no-pager -o cat | tail -5`);
      assert.match(r.stdout, /^success\n/, `${unit}: ${r.stdout}`);
    }
    // Restore drill: the latest snapshot restored elsewhere equals the volume (the gateway is stopped so it holds still).
    await sudoOk("docker stop -t 10 openclaw-primary");
    const drill = await sudoOk(`set -eu
      export RESTIC_REPOSITORY=/var/backups/openclaw-restic RESTIC_PASSWORD_FILE=/etc/openclaw/ops/restic-password
      systemctl start openclaw-backup.service
      rm -rf /tmp/drill && restic restore latest --target /tmp/drill >/dev/null
      diff -r ${volume} /tmp/drill${volume} && echo identical
      find /tmp/drill${volume} -type f | wc -l
      cat /tmp/drill${volume}/restore-drill-marker`);
    assert.match(drill, new RegExp(`^identical\n[1-9]\\d*\n${marker}\n$`));
    console.log(`runtime host: restore drill: ${drill.split("\n")[1]} files restored, identical to the volume, marker given back`);
    await sudoOk("docker start openclaw-primary");
  });

  /** Starts a oneshot service and returns its Result and the last lines it logged. */
  const runService = async (unit: string, lines = 5) => {
    const r = await sudo(`systemctl start ${unit}.service; systemctl show -p Result --value ${unit}.service; journalctl -u ${unit}.service --no-pager -o cat | tail -${lines}`);
    return r.stdout;
  };

  it("runs the token-age reminder once: the token files the render placed are young (and an old one is reported)", async () => {
    const out = await runService("openclaw-token-age");
    assert.match(out, /^success\n/, out);
    assert.doesNotMatch(out, /ALERT/, out);
    // The reminder can fail: a token file aged past the limit is reported, then its time is put back.
    const script = rt.render.files.map((f) => rt.render.fileContent(f.path)).find((c) => c.includes("remind to rotate tokens"))!;
    const tokenFile = /readonly TOKEN_FILES=\("([^"]+)"/.exec(script)![1]!;
    await sudoOk(`touch -r ${tokenFile} /tmp/token-mtime && touch -d '3650 days ago' ${tokenFile}`);
    const aged = await runService("openclaw-token-age", 3);
    await sudoOk(`touch -r /tmp/token-mtime ${tokenFile}`);
    assert.ok(aged.includes(`ALERT: ${tokenFile} is 3650 days old`), aged);
  });

  it("runs the weekly audit once: OpenClaw's own security audit in each gateway finds nothing", async () => {
    await runContainers();
    const out = await runService("openclaw-audit");
    assert.match(out, /^success\n/, out);
    assert.match(out, /primary: audit clean/, out);
    assert.doesNotMatch(out, /ALERT/, out);
  });
});
