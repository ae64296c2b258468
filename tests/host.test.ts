/**
 * Host components: rendered units through systemd-analyze, sshd_config
 * through sshd, daemon.json and sysctl checked for exactly the intended
 * values, the remote install script run for real (twice), and the
 * components' remote Commands under mocks.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { FirewallRules } from "../components/firewallRules";
import { HostBaseline, renderDaemonJson, renderSshdConfig, renderSysctl } from "../components/hostBaseline";
import { quoteArg, renderServiceUnit, renderTimerUnit, ServiceUnitSpec, SystemdUnit } from "../components/systemdUnit";
import { connectHost } from "../infra/hosts";
import { renderInstallFileScript } from "../infra/files";
import { TEST_HOST as HOST } from "./support/fixtures";
import { inputsOf, renderComponents } from "./support/mockProgram";
import { findTool, missingTools, run } from "./support/tools";


/** The tailscale-host gateway unit: Node under the daemon profile, no docker group. */
export const GATEWAY_UNIT: ServiceUnitSpec = {
  description: "OpenClaw gateway",
  execStart: ["/usr/bin/node", "/opt/openclaw/node_modules/openclaw/openclaw.mjs", "gateway", "run"],
  user: "openclaw",
  group: "openclaw",
  hardening: "daemon",
  environment: { HOME: "/var/lib/openclaw", NODE_ENV: "production", OPENCLAW_DISABLE_BONJOUR: "1", DOCKER_HOST: "tcp://127.0.0.1:2375" },
  stateDirectory: "openclaw",
  workingDirectory: "/var/lib/openclaw",
  memoryMax: "2G",
  tasksMax: 512,
  after: ["network-online.target"],
  wants: ["network-online.target"],
  wantedBy: "multi-user.target",
};
const BACKUP_UNIT: ServiceUnitSpec = { description: "OpenClaw backup", type: "oneshot", execStart: ["/usr/local/sbin/openclaw-backup"], hardening: "root-task", readWritePaths: ["/var/backups/openclaw-restic"] };
// Executables the stacks install; absent on the test machine, so verify's "not executable" for them is expected.
const INSTALLED_BY_STACK = ["/usr/bin/node", "/usr/local/sbin/openclaw-backup"];

function writeUnits(units: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "units-"));
  for (const [name, text] of Object.entries(units)) writeFileSync(join(dir, name), text);
  return dir;
}

function verify(dir: string, names: string[]): string[] {
  const result = run(findTool("systemd-analyze")!, ["verify", ...names.map((n) => join(dir, n))]);
  return (result.stderr + result.stdout).split("\n").filter(Boolean)
    .filter((line) => !INSTALLED_BY_STACK.some((path) => line.includes(`Command ${path} is not executable`)));
}

function exposure(dir: string, name: string): number {
  const result = run(findTool("systemd-analyze")!, ["security", "--offline=true", join(dir, name)]);
  const match = /Overall exposure level for .*: (\d+\.\d+)/.exec(result.stdout + result.stderr);
  assert.ok(match, result.stdout + result.stderr);
  return Number(match[1]);
}

describe("SystemdUnit with systemd-analyze", { skip: missingTools("systemd-analyze", ["systemd-analyze"]) }, () => {
  test("every rendered unit verifies with no Unknown key / Failed to parse line", () => {
    const dir = writeUnits({
      "openclaw-gateway.service": renderServiceUnit(GATEWAY_UNIT),
      "openclaw-backup.service": renderServiceUnit(BACKUP_UNIT),
      "openclaw-backup.timer": renderTimerUnit({ description: "Daily OpenClaw backup", onCalendar: "*-*-* 03:00:00", randomizedDelaySec: 600 }),
    });
    assert.deepEqual(verify(dir, ["openclaw-gateway.service", "openclaw-backup.service", "openclaw-backup.timer"]), []);
  });
  test("the verifier is live: a bad key and a bad value are reported", () => {
    const dir = writeUnits({ "bad.service": "[Service]\nExecStart=/bin/true\nMemoryDenyWriteExecut=yes\nMemoryMax=lots\n" });
    const lines = verify(dir, ["bad.service"]).join("\n");
    assert.match(lines, /Unknown key/);
    assert.match(lines, /Invalid memory limit/);
  });
  test("the gateway unit's exposure is at most 2.0, without what breaks Node or the docker group", () => {
    const text = renderServiceUnit(GATEWAY_UNIT);
    const score = exposure(writeUnits({ "openclaw-gateway.service": text }), "openclaw-gateway.service");
    assert.ok(score <= 2.0, `exposure ${score}`);
    assert.doesNotMatch(text, /MemoryDenyWriteExecute|PrivateNetwork|SupplementaryGroups|docker\.sock/);
  });
  test("root tasks are scored too (2.4 measured)", () => {
    const score = exposure(writeUnits({ "openclaw-backup.service": renderServiceUnit(BACKUP_UNIT) }), "openclaw-backup.service");
    assert.ok(score <= 3.0, `exposure ${score}`);
  });
  test("the seed's unit scores worse, so the measure discriminates", () => {
    const seed = "[Service]\nUser=openclaw-svc\nExecStart=/bin/true\nNoNewPrivileges=yes\nPrivateTmp=yes\nProtectSystem=strict\n";
    assert.ok(exposure(writeUnits({ "seed.service": seed }), "seed.service") > 5);
  });
});

describe("SystemdUnit renderer refuses injection", () => {
  test("a newline in a value", () => assert.throws(() => renderServiceUnit({ ...GATEWAY_UNIT, description: "x\nExecStartPre=/bin/sh -c evil" }), /line break/));
  test("an unescaped % specifier", () => assert.throws(() => quoteArg("%h/.ssh"), /specifier/));
  test("secret-looking environment", () => assert.throws(() => renderServiceUnit({ ...GATEWAY_UNIT, environment: { OPENCLAW_GATEWAY_TOKEN: "x" } }), /EnvironmentFile/));
  test("arguments with spaces are quoted", () => assert.equal(quoteArg("a b"), '"a b"'));
});

describe("HostBaseline artifacts", () => {
  test("sshd_config passes sshd -t and sshd -T shows the intended values", { skip: missingTools("sshd -t", ["sshd", "ssh-keygen"], true) }, () => {
    const dir = mkdtempSync(join(tmpdir(), "sshd-"));
    writeFileSync(join(dir, "sshd_config"), renderSshdConfig({ port: 9922, allowUsers: ["deploy"] }));
    assert.equal(run(findTool("ssh-keygen")!, ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "hostkey")]).status, 0);
    if (!existsSync("/run/sshd")) mkdirSync("/run/sshd", { recursive: true });
    const sshd = findTool("sshd")!;
    const check = run(sshd, ["-t", "-f", join(dir, "sshd_config"), "-h", join(dir, "hostkey")]);
    assert.equal(check.status, 0, check.stderr);
    const effective = run(sshd, ["-T", "-f", join(dir, "sshd_config"), "-h", join(dir, "hostkey"), "-C", "user=deploy,addr=203.0.113.7,host=admin"]).stdout;
    for (const line of ["port 9922", "permitrootlogin no", "passwordauthentication no", "kbdinteractiveauthentication no", "allowusers deploy", "authenticationmethods publickey", "x11forwarding no", "allowtcpforwarding no", "maxauthtries 3"]) {
      assert.match(effective, new RegExp(`^${line}$`, "m"), line);
    }
    const broken = join(dir, "broken");
    writeFileSync(broken, renderSshdConfig({ port: 9922, allowUsers: ["deploy"] }).replace("PermitRootLogin no", "PermitRootLogin maybe"));
    assert.notEqual(run(sshd, ["-t", "-f", broken, "-h", join(dir, "hostkey")]).status, 0, "sshd -t is live");
  });
  test("daemon.json is JSON with exactly the intended keys; live-restore only outside swarm", () => {
    const single = JSON.parse(renderDaemonJson({ swarm: false }));
    assert.deepEqual(Object.keys(single).sort(), ["default-ulimits", "icc", "live-restore", "log-driver", "log-opts", "no-new-privileges", "userland-proxy"]);
    assert.equal(single.icc, false);
    assert.equal(single["no-new-privileges"], true);
    assert.deepEqual(single["log-opts"], { "max-size": "10m", "max-file": "3" });
    assert.equal("live-restore" in JSON.parse(renderDaemonJson({ swarm: true })), false);
  });
  test("every sysctl key exists in this kernel", () => {
    for (const line of renderSysctl().split("\n").filter((l) => l && !l.startsWith("#"))) {
      const key = line.split("=")[0]!.trim();
      assert.ok(existsSync(join("/proc/sys", key.replace(/\./g, "/"))), key);
    }
  });
});

describe("remote file install script", { skip: missingTools("install script run for real", ["bash", "shellcheck"], true) }, () => {
  test("is shellcheck-clean, writes atomically with owner and mode, and a re-run changes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "rf-"));
    const path = join(dir, "etc/app/config.txt");
    const script = renderInstallFileScript({ path, mode: "0640", owner: "0:0" });
    writeFileSync(join(dir, "install.sh"), `#!/bin/sh\n${script}`);
    assert.equal(run(findTool("shellcheck")!, ["-s", "sh", join(dir, "install.sh")]).status, 0);
    const first = run("bash", ["-c", script], { input: "hello\n" });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^changed /);
    assert.equal(readFileSync(path, "utf8"), "hello\n");
    assert.equal((statSync(path).mode & 0o777).toString(8), "640");
    assert.match(run("bash", ["-c", script], { input: "hello\n" }).stdout, /^unchanged /);
    assert.match(run("bash", ["-c", script], { input: "bye\n" }).stdout, /^changed /);
  });
});

describe("host components under mocks", () => {
  test("commands: pinned connection, sudo, triggers from content, undo steps", async () => {
    const render = await renderComponents(() => {
      const host = connectHost(HOST);
      new FirewallRules("vps-firewall", { host, sshPort: 9922, adminAddresses: ["203.0.113.7/32"], web: "cloudflare" });
      new HostBaseline("vps-baseline", { host, sshPort: 9922, adminAddresses: ["203.0.113.7/32"], swarm: false });
      new SystemdUnit("vps-gateway-unit", { host, unitName: "openclaw-gateway", service: GATEWAY_UNIT });
      return {};
    });
    // The apply script is kept on the host (the file the render lists) and run from there.
    const script = inputsOf(render, "vps-firewall-script");
    assert.match(script["create"], /chmod 0700 "\$tmp"/);
    assert.match(script["stdin"], /ufw allow from 203\.0\.113\.7 to any port 9922 proto tcp/);
    const fw = inputsOf(render, "vps-firewall-apply");
    assert.equal(fw["create"], "sudo -n /usr/local/sbin/openclaw-firewall");
    assert.ok(render.resources.find((r) => r.name === "vps-firewall-apply")!.dependsOn.includes("vps-firewall-script"));
    assert.match(fw["delete"], /ufw --force disable/);
    assert.match(fw["triggers"][0], /^[0-9a-f]{64}$/);
    const sshdActivate = inputsOf(render, "vps-baseline-sshd-activate");
    assert.match(sshdActivate["create"], /sshd -t -f \/etc\/ssh\/sshd_config && systemctl reload ssh/);
    const enable = inputsOf(render, "vps-gateway-unit-enable");
    assert.match(enable["create"], /systemctl daemon-reload; systemctl enable openclaw-gateway\.service; systemctl restart openclaw-gateway\.service/);
    assert.match(enable["delete"], /systemctl disable --now openclaw-gateway\.service/);
    const unitFile = inputsOf(render, "vps-gateway-unit-service");
    assert.match(unitFile["create"], /^sudo -n bash -c /);
    assert.equal(render.resources.find((r) => r.name === "vps-gateway-unit-enable")!.dependsOn.includes("vps-gateway-unit-service"), true);
    assert.deepEqual(render.files.filter((f) => f.target === "vps").map((f) => f.path).sort(), [
      "/etc/apt/apt.conf.d/52openclaw-unattended-upgrades", "/etc/docker/daemon.json", "/etc/fail2ban/jail.d/openclaw.local",
      "/etc/ssh/sshd_config", "/etc/sysctl.d/99-openclaw.conf", "/etc/systemd/system/openclaw-gateway.service", "/usr/local/sbin/openclaw-firewall",
    ]);
  });
});
