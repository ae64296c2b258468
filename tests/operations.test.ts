/**
 * The operations scripts: shellcheck-clean, and run for real — a restic
 * restore drill on fixture data (init, backup, check --read-data, restore,
 * identical tree, a flipped byte detected, with its duration reported), the
 * backup's refusal of a missing or empty source, and the watchdog against a
 * stand-in `docker` that reports an unhealthy, restart-looping container.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { renderAuditScript, renderBackupScript, renderBackupVerifyScript, renderTokenAgeScript, renderWatchdogScript } from "../components/operations";
import { runRender } from "./support/render";
import { findTool, missingTools, run } from "./support/tools";

const WATCHDOG = { containers: ["openclaw-primary", "openclaw-egress"], restartThreshold: 3, diskPercent: 99, memoryPercent: 100, swapPercent: 100 };

function scriptFile(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, 0o700);
  return file;
}

function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, prefix: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path, `${prefix}${name}/`);
      else out[`${prefix}${name}`] = readFileSync(path, "base64");
    }
  };
  walk(dir, "");
  return out;
}

describe("operations scripts are shellcheck-clean", { skip: missingTools("shellcheck on operations scripts", ["shellcheck"]) }, () => {
  const scripts: Record<string, string> = {
    backup: renderBackupScript({ repository: "/var/backups/openclaw-restic", passwordFile: "/etc/openclaw/ops/restic-password", sources: ["/srv/openclaw/primary", "/var/lib/docker/volumes/openclaw-primary-data/_data"], keepDaily: 14 }),
    verify: renderBackupVerifyScript({ repository: "/var/backups/openclaw-restic", passwordFile: "/etc/openclaw/ops/restic-password", maxAgeHours: 36 }),
    watchdog: renderWatchdogScript(WATCHDOG),
    audit: renderAuditScript({ gateways: ["openclaw-primary"] }),
    tokenAge: renderTokenAgeScript({ tokenFiles: ["/opt/openclaw/openclaw-primary/run/secrets/openclaw-gateway-token"], maxAgeDays: 90 }),
  };
  for (const [name, text] of Object.entries(scripts)) {
    test(name, () => {
      const file = scriptFile(mkdtempSync(join(tmpdir(), "sc-")), `${name}.sh`, text);
      const result = run(findTool("shellcheck")!, [file]);
      assert.equal(result.status, 0, result.stdout);
    });
  }
});

describe("restore drill with restic", { skip: missingTools("restic restore drill", ["restic", "jq", "bash"]) }, () => {
  test("init, backup, check --read-data, restore an identical tree; a flipped byte is detected", () => {
    const started = Date.now();
    const dir = mkdtempSync(join(tmpdir(), "drill-"));
    const data = join(dir, "data");
    mkdirSync(join(data, "workspace/memory"), { recursive: true });
    writeFileSync(join(data, "openclaw.json"), JSON.stringify({ gateway: { mode: "local" } }));
    writeFileSync(join(data, "workspace/SOUL.md"), "# rules\n");
    writeFileSync(join(data, "workspace/memory/notes.md"), "x".repeat(200_000));
    writeFileSync(join(data, "binary.bin"), Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7919) % 256)));
    const repo = join(dir, "repo");
    const passwordFile = join(dir, "password");
    writeFileSync(passwordFile, "drill-password-0123456789", { mode: 0o400 });
    const env = { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD_FILE: passwordFile, RESTIC_CACHE_DIR: join(dir, "cache") };

    const backup = run("bash", [scriptFile(dir, "backup.sh", renderBackupScript({ repository: repo, passwordFile, sources: [data], keepDaily: 14 }))], { env });
    assert.equal(backup.status, 0, backup.stderr);
    assert.match(backup.stdout, /backup: done/);
    const again = run("bash", [join(dir, "backup.sh")], { env });
    assert.equal(again.status, 0, again.stderr);

    const verify = run("bash", [scriptFile(dir, "verify.sh", renderBackupVerifyScript({ repository: repo, passwordFile, maxAgeHours: 36 }))], { env });
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(verify.stdout, /backup verification: ok/);

    const target = join(dir, "restore");
    const restore = run(findTool("restic")!, ["restore", "latest", "--target", target], { env });
    assert.equal(restore.status, 0, restore.stderr);
    assert.deepEqual(filesUnder(join(target, data)), filesUnder(data));

    // Flip one byte in a data pack: the authenticated encryption must catch it.
    const packsDir = join(repo, "data");
    const packs = readdirSync(packsDir).flatMap((sub) => readdirSync(join(packsDir, sub)).map((f) => join(packsDir, sub, f)));
    const biggest = packs.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    chmodSync(biggest, 0o600);
    const bytes = readFileSync(biggest);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    writeFileSync(biggest, bytes);
    const check = run(findTool("restic")!, ["check", "--read-data"], { env });
    assert.notEqual(check.status, 0, "restic check --read-data must fail on a flipped byte");
    const verifyAfter = run("bash", [join(dir, "verify.sh")], { env });
    assert.notEqual(verifyAfter.status, 0);
    assert.match(verifyAfter.stderr, /ALERT: backup verification failed/);
    console.log(`# restore drill: ${((Date.now() - started) / 1000).toFixed(1)} s (init, 2 backups, check --read-data, restore, tamper check)`);
  });

  test("a missing or empty source is refused, and no snapshot is made", () => {
    const dir = mkdtempSync(join(tmpdir(), "refuse-"));
    const repo = join(dir, "repo");
    const passwordFile = join(dir, "password");
    writeFileSync(passwordFile, "pw");
    const env = { ...process.env, RESTIC_CACHE_DIR: join(dir, "cache") };
    mkdirSync(join(dir, "empty"));
    for (const source of [join(dir, "missing"), join(dir, "empty")]) {
      const result = run("bash", [scriptFile(dir, "backup.sh", renderBackupScript({ repository: repo, passwordFile, sources: [source], keepDaily: 14 }))], { env });
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /backup refused: .* is missing or empty/);
    }
    assert.throws(() => statSync(join(repo, "config")), "no repository was even created");
  });
});

describe("watchdog", { skip: missingTools("watchdog run", ["bash", "jq"]) }, () => {
  test("alerts on an unhealthy, restart-looping, OOM-killed or missing container; quiet when healthy", () => {
    const dir = mkdtempSync(join(tmpdir(), "wd-"));
    const bin = join(dir, "bin");
    mkdirSync(bin);
    // A stand-in for `docker inspect --format ...`, answering from a state file per container.
    scriptFile(bin, "docker", `#!/usr/bin/env bash\nfile="${dir}/state-\${@: -1}"\n[[ -f "$file" ]] || exit 1\ncat "$file"\n`);
    scriptFile(bin, "logger", "#!/bin/sh\nexit 0\n");
    const env = { ...process.env, PATH: `${bin}:${process.env["PATH"]}` };
    const watchdog = scriptFile(dir, "watchdog.sh", renderWatchdogScript(WATCHDOG));

    writeFileSync(join(dir, "state-openclaw-primary"), "running healthy 0 false\n");
    writeFileSync(join(dir, "state-openclaw-egress"), "running healthy 1 false\n");
    const healthy = run("bash", [watchdog], { env });
    assert.equal(healthy.status, 0, healthy.stderr);
    assert.match(healthy.stdout, /watchdog: 0 problem/);

    writeFileSync(join(dir, "state-openclaw-primary"), "running unhealthy 7 true\n");
    writeFileSync(join(dir, "state-openclaw-egress"), "exited none 0 false\n");
    const sick = run("bash", [watchdog], { env });
    assert.notEqual(sick.status, 0);
    for (const expected of [/openclaw-primary: unhealthy/, /openclaw-primary: restarted 7 times/, /openclaw-primary: OOM-killed/, /openclaw-egress: status exited/]) {
      assert.match(sick.stderr, expected);
    }
    writeFileSync(join(dir, "state-openclaw-egress"), "");
    const missing = run("bash", [scriptFile(dir, "wd2.sh", renderWatchdogScript({ ...WATCHDOG, containers: ["openclaw-gone"] }))], { env });
    assert.match(missing.stderr, /openclaw-gone: container not found/);
  });
});

describe("the backup repository exists before the units that may write it", () => {
  test("a root-only directory is created first; both backup units wait for it, the others do not", () => {
    const run = runRender(["--stack", "single-vps"]);
    assert.equal(run.status, 0, run.stderr);
    const dir = run.resources.find((r) => r.name === "vps-ops-backup-repository");
    assert.ok(dir, "no command creates the repository directory");
    assert.equal(dir.inputs["create"], `sudo -n bash -c 'install -d -m 0700 -o root -g root "/var/backups/openclaw-restic"'`);
    const unitDeps = (unit: string) => run.resources.find((r) => r.type === "openclaw:infra:SystemdUnit" && r.name === `vps-ops-${unit}`)!.dependsOn;
    for (const unit of ["openclaw-backup", "openclaw-backup-verify"]) assert.ok(unitDeps(unit).includes("vps-ops-backup-repository"), unit);
    assert.ok(!unitDeps("openclaw-watchdog").includes("vps-ops-backup-repository"));
  });
});
