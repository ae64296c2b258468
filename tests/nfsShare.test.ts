/**
 * NfsShare renderers. Pure checks first (exact clients, squash only with a
 * reason, v4-only, mount options); then the real nfs-utils: `exportfs -ra`
 * parses the rendered exports inside a private mount namespace (its own
 * /etc/exports and /var/lib/nfs) and we read back what it understood from
 * etab; `nfsconf` parses the nfs.conf drop-in; `findmnt --verify` parses the
 * fstab line; shellcheck checks both apply scripts. This kernel has no NFS
 * (no nfsd, no nfs4 client), so nothing is mounted for real: see the report.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { exportProblems, MOUNT_OPTIONS, renderClientScript, renderExports, renderFstabLine, renderNfsConf, renderServerActivateScript } from "../components/nfsShare";
import { findTool, missingTools, run } from "./support/tools";

const CAPTAIN_REASON = "CapRover's captain container runs as root and owns its data directory (seed 000 §5)";
const MANAGERS = ["10.212.0.11", "10.212.0.12"];

describe("NFS renderers (pure)", () => {
  test("exports list each manager exactly, never a subnet or a wildcard", () => {
    const text = renderExports([{ path: "/captain/data", clients: MANAGERS, noRootSquashBecause: CAPTAIN_REASON }]);
    const line = text.split("\n").find((l) => l.startsWith("/captain/data"))!;
    assert.equal(line, "/captain/data 10.212.0.11(rw,sync,secure,no_subtree_check,sec=sys,no_root_squash) 10.212.0.12(rw,sync,secure,no_subtree_check,sec=sys,no_root_squash)");
    assert.match(text, /# no_root_squash: CapRover's captain/);
    assert.throws(() => renderExports([{ path: "/x/y", clients: ["10.0.0.0/24"] }]), /must be one address/);
    assert.throws(() => renderExports([{ path: "/x/y", clients: ["*"] }]), /must be one address/);
    assert.throws(() => renderExports([{ path: "/x/y", clients: [] }]), /no clients/);
  });
  test("no_root_squash only with a stated reason; root_squash otherwise", () => {
    assert.match(renderExports([{ path: "/srv/backup", clients: MANAGERS }]), /root_squash\)/);
    assert.doesNotMatch(renderExports([{ path: "/srv/backup", clients: MANAGERS }]), /no_root_squash/);
    assert.deepEqual(exportProblems({ path: "/x/y", clients: MANAGERS, noRootSquashBecause: "" }), ["/x/y: no_root_squash needs its reason"]);
    // The reason is one comment line whatever it holds.
    const text = renderExports([{ path: "/x/y", clients: MANAGERS, noRootSquashBecause: "it's root\n/etc 0.0.0.0/0(rw)" }]);
    assert.equal(text.split("\n").filter((l) => l.startsWith("/")).length, 1);
  });
  test("the server speaks NFSv4.1+ only", () => {
    assert.match(renderNfsConf(), /^vers2=n$/m);
    assert.match(renderNfsConf(), /^vers3=n$/m);
    assert.match(renderNfsConf(), /^vers4\.0=n$/m);
  });
  test("the mount: nfs4, explicit version, hard, nosuid,noexec,nodev", () => {
    const line = renderFstabLine({ server: "10.212.0.10", path: "/captain/data", mountPoint: "/captain/data" });
    assert.equal(line, "10.212.0.10:/captain/data /captain/data nfs4 vers=4.2,proto=tcp,hard,timeo=600,retrans=2,nosuid,noexec,nodev,noatime,_netdev 0 0");
    for (const o of ["hard", "nosuid", "noexec", "nodev"]) assert.ok(MOUNT_OPTIONS.includes(o), o);
    assert.match(renderFstabLine({ server: "2001:db8::1", path: "/a/b", mountPoint: "/a/b" }), /^\[2001:db8::1\]:\/a\/b /);
    assert.throws(() => renderFstabLine({ server: "nas.example.com", path: "/a", mountPoint: "/a" }), /must be an address/);
    assert.throws(() => renderFstabLine({ server: "10.0.0.1", path: "/a/../etc", mountPoint: "/a" }), /not an absolute directory path/);
  });
});

describe("NFS files checked by nfs-utils and util-linux", { skip: missingTools("nfs-utils parse", ["exportfs", "nfsconf", "findmnt", "unshare", "shellcheck"], true) }, () => {
  test("exportfs -ra accepts the exports and records exactly our clients and options", () => {
    const dir = mkdtempSync(join(tmpdir(), "nfs-"));
    const exported = join(dir, "captain/data");
    mkdirSync(exported, { recursive: true });
    mkdirSync(join(dir, "lib"));
    writeFileSync(join(dir, "exports"), renderExports([{ path: exported, clients: MANAGERS, noRootSquashBecause: CAPTAIN_REASON }]));
    const script = `mount --bind ${dir}/exports /etc/exports && mount --bind ${dir}/lib /var/lib/nfs && exportfs -ra && cat /var/lib/nfs/etab`;
    const result = run("unshare", ["-m", "bash", "-c", script]);
    // exportfs cannot hand the table to a kernel without nfsd; the parse and etab come first.
    assert.doesNotMatch(result.stderr, /unknown keyword|bad option|syntax|Failed to resolve/i, result.stderr);
    const etab = readFileSync(join(dir, "lib/etab"), "utf8").trim().split("\n");
    assert.equal(etab.length, 2, etab.join("\n"));
    for (const [i, client] of MANAGERS.entries()) {
      assert.ok(etab[i]!.startsWith(`${exported}\t${client}(`), etab[i]);
      for (const o of ["rw", "sync", "secure", "no_subtree_check", "sec=sys", "no_root_squash"]) assert.match(etab[i]!, new RegExp(`[(,]${o}[,)]`), `${o} in ${etab[i]}`);
    }
    // The oracle can fail: a misspelled option is refused by the same command.
    writeFileSync(join(dir, "exports"), `${exported} 10.212.0.11(rw,no_root_sqaush)\n`);
    const bad = run("unshare", ["-m", "bash", "-c", script]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /unknown keyword "no_root_sqaush"/);
  });
  test("nfsconf reads the drop-in: v2, v3 and v4.0 off", () => {
    const file = join(mkdtempSync(join(tmpdir(), "nfsconf-")), "openclaw.conf");
    writeFileSync(file, renderNfsConf());
    const nfsconf = findTool("nfsconf")!;
    for (const [key, want] of [["vers2", "n"], ["vers3", "n"], ["vers4.0", "n"], ["vers4.2", "y"]]) {
      const got = run(nfsconf, ["--file", file, "--get", "nfsd", key!]);
      assert.equal(got.stderr, "");
      assert.equal(got.stdout.trim(), want, key);
    }
  });
  test("findmnt --verify parses the fstab line with no parse error", () => {
    const file = join(mkdtempSync(join(tmpdir(), "fstab-")), "fstab");
    writeFileSync(file, renderFstabLine({ server: "10.212.0.10", path: "/captain/data", mountPoint: "/captain/data" }) + "\n");
    const result = run(findTool("findmnt")!, ["--verify", "--verbose", "--tab-file", file]);
    assert.match(result.stdout + result.stderr, /^0 parse errors/m);
    assert.match(result.stdout, /VFS options: nosuid,noexec,nodev,noatime/);
    assert.match(result.stdout, /FS options: vers=4\.2,proto=tcp,hard,timeo=600,retrans=2/);
    assert.match(result.stdout, /userspace options: _netdev/);
  });
  test("both apply scripts pass shellcheck", () => {
    const dir = mkdtempSync(join(tmpdir(), "nfssh-"));
    writeFileSync(join(dir, "server.sh"), renderServerActivateScript({ paths: ["/captain/data"] }));
    writeFileSync(join(dir, "client.sh"), renderClientScript({ server: "10.212.0.10", path: "/captain/data", mountPoint: "/captain/data" }));
    const result = run(findTool("shellcheck")!, [join(dir, "server.sh"), join(dir, "client.sh")]);
    assert.equal(result.status, 0, result.stdout);
  });
});
