/**
 * The rendered firewall script run for real — the real `ufw` and iptables —
 * inside a throwaway network namespace (its own /etc/ufw through
 * /etc/netns), then probed through a veth pair from a second namespace
 * holding a Cloudflare address, the admin address, a swarm peer, an NFS
 * client and a stranger, over IPv4 and IPv6. A third namespace plays a
 * container whose ports are "published" the way Docker does it (DNAT +
 * FORWARD accept), to prove DOCKER-USER keeps UFW in charge.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FirewallOptions, renderFirewallScript, renderUfwRules, ufwAddress } from "../components/firewallRules";
import { DEFAULT_HOST_OUTBOUND } from "../infra/config/schema";
import { findTool, missingTools, run } from "./support/tools";

const skip = missingTools("firewall in a network namespace", ["ip", "ufw", "iptables", "ip6tables", "python3"], true);

const FW = `ocfw${process.pid}`;
const CL = `occl${process.pid}`;
const CT = `occt${process.pid}`;
const SOURCES = {
  cloudflare4: "173.245.48.10", admin4: "203.0.113.7", peer4: "10.0.0.11", nfs4: "10.0.0.12", stranger4: "198.51.100.99",
  cloudflare6: "2400:cb00::10", admin6: "2001:db8:aaaa::7", stranger6: "2001:db8:bad::1",
};
const FW4 = "192.0.2.1";
const FW6 = "2001:db8:ffff::1";
const OPTIONS: FirewallOptions = {
  sshPort: 9922,
  adminAddresses: ["203.0.113.7/32", "2001:db8:aaaa::7/128"],
  web: "cloudflare",
  swarmPeers: ["10.0.0.11"],
  nfsClients: ["10.0.0.12"],
};
// Ports the host itself listens on, and ports "published" to the container.
const HOST_PORTS = [22, 9922, 2377, 2049, 3306, 8443];
const PUBLISHED_PORTS = [80, 443, 8080];

const LISTENER = `
import socket, sys, threading
def serve(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port)); s.listen(64)
    while True:
        c, _ = s.accept(); c.close()
for p in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(p),), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
`;

const PROBER = `
import json, socket, sys, concurrent.futures
def probe(job):
    src, dst, port = job
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(1.5)
    try:
        s.bind((src, 0)); s.connect((dst, port)); return [src, dst, port, "open"]
    except Exception as e:
        return [src, dst, port, "closed"]
    finally:
        s.close()
jobs = json.loads(sys.stdin.read())
with concurrent.futures.ThreadPoolExecutor(64) as ex:
    print(json.dumps(list(ex.map(probe, jobs))))
`;

/** Sequential new connections from each source, as counts and the seconds each source's burst took. */
const BURSTER = `
import json, socket, sys, time
jobs, port = json.loads(sys.stdin.read())
out = {}
for src, dst, n in jobs:
    counts, t0 = {"open": 0, "closed": 0}, time.monotonic()
    for _ in range(n):
        s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET, socket.SOCK_STREAM); s.settimeout(1.5)
        try:
            s.bind((src, 0)); s.connect((dst, port)); counts["open"] += 1
        except Exception:
            counts["closed"] += 1
        finally:
            s.close()
    counts["seconds"] = round(time.monotonic() - t0, 2)
    out[src] = counts
print(json.dumps(out))
`;

function sh(args: string[]): string {
  const result = run(args[0]!, args.slice(1));
  if (result.status !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr}${result.stdout}`);
  return result.stdout;
}
const inNs = (ns: string, ...args: string[]) => sh(["ip", "netns", "exec", ns, ...args]);

describe("FirewallRules in a network namespace", { skip }, () => {
  let dir = "";
  const listeners: ChildProcess[] = [];
  let firstRun = "";
  let secondRun = "";
  const dryRuns = new Map<string, string>();

  async function startListener(ns: string, ports: number[]): Promise<void> {
    const child = spawn("ip", ["netns", "exec", ns, "python3", "-c", LISTENER, ...ports.map(String)], { stdio: ["ignore", "pipe", "inherit"] });
    listeners.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (c) => { if (String(c).includes("ready")) resolve(); });
      child.on("exit", (code) => reject(new Error(`listener exited ${code}`)));
    });
  }

  function probe(jobs: [string, string, number][]): Map<string, string> {
    const result = run("ip", ["netns", "exec", CL, "python3", "-c", PROBER], { input: JSON.stringify(jobs) });
    assert.equal(result.status, 0, result.stderr);
    return new Map((JSON.parse(result.stdout) as [string, string, number, string][]).map(([s, d, p, r]) => [`${s}>${d}:${p}`, r]));
  }

  /** `n` new connections from each source in turn: { source: { open, closed, seconds } }. */
  function burst(jobs: [string, string, number][], port: number): Record<string, { open: number; closed: number; seconds: number }> {
    const result = run("ip", ["netns", "exec", CL, "python3", "-c", BURSTER], { input: JSON.stringify([jobs, port]) });
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fw-"));
    for (const ns of [FW, CL, CT]) sh(["ip", "netns", "add", ns]);
    mkdirSync(`/etc/netns/${FW}`, { recursive: true });
    cpSync("/etc/ufw", `/etc/netns/${FW}/ufw`, { recursive: true });
    cpSync("/etc/default", `/etc/netns/${FW}/default`, { recursive: true });

    const vethPair = (a: string, nsA: string, b: string, nsB: string) => {
      sh(["ip", "link", "add", a, "type", "veth", "peer", "name", b]);
      sh(["ip", "link", "set", a, "netns", nsA]);
      sh(["ip", "link", "set", b, "netns", nsB]);
    };
    vethPair(`vf${process.pid}`, FW, `vc${process.pid}`, CL);
    vethPair(`vb${process.pid}`, FW, `vt${process.pid}`, CT);
    inNs(FW, "ip", "link", "set", `vf${process.pid}`, "name", "fwv");
    inNs(FW, "ip", "link", "set", `vb${process.pid}`, "name", "br-test0");
    inNs(CL, "ip", "link", "set", `vc${process.pid}`, "name", "clv");
    inNs(CT, "ip", "link", "set", `vt${process.pid}`, "name", "vct");
    for (const ns of [FW, CL, CT]) inNs(ns, "ip", "link", "set", "lo", "up");
    inNs(FW, "ip", "addr", "add", `${FW4}/24`, "dev", "fwv");
    inNs(FW, "ip", "addr", "add", `${FW6}/64`, "dev", "fwv", "nodad");
    inNs(FW, "ip", "addr", "add", "172.30.11.1/24", "dev", "br-test0");
    inNs(FW, "ip", "link", "set", "fwv", "up");
    inNs(FW, "ip", "link", "set", "br-test0", "up");
    inNs(FW, "ip", "route", "add", "default", "dev", "fwv");
    inNs(FW, "ip", "-6", "route", "add", "default", "dev", "fwv");
    inNs(CL, "ip", "addr", "add", "192.0.2.2/24", "dev", "clv");
    for (const [name, address] of Object.entries(SOURCES)) {
      inNs(CL, "ip", "addr", "add", `${address}/${name.endsWith("6") ? 128 : 32}`, "dev", "clv", ...(name.endsWith("6") ? ["nodad"] : []));
    }
    inNs(CL, "ip", "link", "set", "clv", "up");
    inNs(CL, "ip", "route", "add", "default", "dev", "clv");
    inNs(CL, "ip", "-6", "route", "add", "default", "dev", "clv");
    inNs(CT, "ip", "addr", "add", "172.30.11.2/24", "dev", "vct");
    inNs(CT, "ip", "link", "set", "vct", "up");
    inNs(CT, "ip", "route", "add", "default", "via", "172.30.11.1");
    inNs(FW, "sysctl", "-qw", "net.ipv4.ip_forward=1");

    // Dry-runs against the pristine ufw: what each rendered rule would generate.
    for (const rule of renderUfwRules(OPTIONS)) dryRuns.set(rule, inNs(FW, "ufw", "--dry-run", ...rule.split(" ").slice(1)));
    const script = join(dir, "firewall.sh");
    writeFileSync(script, renderFirewallScript(OPTIONS));
    firstRun = inNs(FW, "bash", script);
    // What Docker does when it publishes ports: DNAT, DOCKER-USER first, then its own accepts.
    for (const port of PUBLISHED_PORTS) {
      inNs(FW, "iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", String(port), "-j", "DNAT", "--to-destination", `172.30.11.2:${port}`);
    }
    inNs(FW, "iptables", "-I", "FORWARD", "1", "-j", "DOCKER-USER");
    inNs(FW, "iptables", "-I", "FORWARD", "2", "-o", "br-test0", "-d", "172.30.11.2", "-j", "ACCEPT");
    inNs(FW, "iptables", "-I", "FORWARD", "3", "-i", "br-test0", "-j", "ACCEPT");
    secondRun = inNs(FW, "bash", script);
    await startListener(FW, HOST_PORTS);
    await startListener(CT, PUBLISHED_PORTS);
  });

  after(() => {
    for (const l of listeners) l.kill("SIGKILL");
    for (const ns of [FW, CL, CT]) run("ip", ["netns", "delete", ns]);
    rmSync(`/etc/netns/${FW}`, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  test("first apply changes the host, the second changes nothing and says so", () => {
    assert.match(firstRun, /firewall: changed/);
    assert.match(secondRun, /firewall: unchanged/);
  });

  test("ufw holds exactly the rendered rules", () => {
    const shown = inNs(FW, "ufw", "show", "added").split("\n").slice(1).filter(Boolean).sort();
    assert.deepEqual(shown, [...renderUfwRules(OPTIONS)].sort());
    const status = inNs(FW, "ufw", "status", "verbose");
    assert.match(status, /Status: active/);
    assert.match(status, /Default: deny \(incoming\), allow \(outgoing\), deny \(routed\)/);
  });

  test("ufw --dry-run output matches the rendered rules", () => {
    assert.equal(dryRuns.size, renderUfwRules(OPTIONS).length);
    for (const [rule, dry] of dryRuns) {
      const [, action, ...rest] = rule.split(" ");
      assert.match(dry, /### tuple ### /, rule);
      assert.ok(dry.includes(`### tuple ### ${action === "route" ? `route:${rest[0]}` : action}`), `${rule}\n${dry.slice(0, 400)}`);
    }
    // The admin's SSH is a plain accept, IPv4 and IPv6: no `recent` match counting new connections.
    const dry = dryRuns.get("ufw allow from 203.0.113.7 to any port 9922 proto tcp")!;
    assert.match(dry, /### tuple ### allow tcp 9922 0\.0\.0\.0\/0 any 203\.0\.113\.7 in/);
    assert.match(dry, /-A ufw-user-input -p tcp --dport 9922 -s 203\.0\.113\.7 -j ACCEPT/);
    assert.match(inNs(FW, "ip6tables", "-S", "ufw6-user-input"), /-A ufw6-user-input -s 2001:db8:aaaa::7\/128 -p tcp -m tcp --dport 9922 -j ACCEPT/);
    assert.doesNotMatch(inNs(FW, "iptables-save") + inNs(FW, "ip6tables-save"), /--dport 9922 .*-m recent/);
  });

  test("port matrix over IPv4 and IPv6", () => {
    const jobs: [string, string, number][] = [];
    for (const [name, src] of Object.entries(SOURCES)) {
      const dst = name.endsWith("6") ? FW6 : FW4;
      for (const port of [...HOST_PORTS, ...PUBLISHED_PORTS]) jobs.push([src, dst, port]);
    }
    const results = probe(jobs);
    const expectOpen = (name: string, port: number): boolean => {
      if (port === 9922) return name.startsWith("admin");
      if (port === 80 || port === 443) return name === "cloudflare4"; // published ports: IPv4 only in this emulation
      if (port === 2377) return name === "peer4";
      if (port === 2049) return name === "nfs4";
      return false;
    };
    const wrong: string[] = [];
    for (const [name, src] of Object.entries(SOURCES)) {
      const dst = name.endsWith("6") ? FW6 : FW4;
      for (const port of [...HOST_PORTS, ...PUBLISHED_PORTS]) {
        const got = results.get(`${src}>${dst}:${port}`);
        const want = expectOpen(name, port) ? "open" : "closed";
        if (got !== want) wrong.push(`${name} ${src} -> ${port}: ${got}, want ${want}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  test("admits a burst of new SSH connections from the admin (one per remote Command of a deployment), never a stranger", () => {
    // `ufw limit` refused the 6th new connection within 30 s, and a `pulumi up` opens dozens. Sequential connections,
    // each from a new source port, so each is a NEW conntrack entry the rules judge. A stranger's packets are dropped:
    // each attempt waits out its 1.5 s timeout, so three of them are enough to show the port stays shut to it.
    const ADMIN_BURST = 20;
    const r = burst([[SOURCES.admin4, FW4, ADMIN_BURST], [SOURCES.admin6, FW6, ADMIN_BURST], [SOURCES.stranger4, FW4, 3], [SOURCES.stranger6, FW6, 3]], OPTIONS.sshPort);
    console.log(`firewall: ${ADMIN_BURST} new SSH connections from the admin in ${r[SOURCES.admin4]!.seconds} s (IPv4), ${r[SOURCES.admin6]!.seconds} s (IPv6)`);
    // The allowance: ufw limit's window is 30 s; a burst slower than that would not test it.
    for (const admin of [SOURCES.admin4, SOURCES.admin6]) assert.ok(r[admin]!.seconds < 25, `burst from ${admin} took ${r[admin]!.seconds} s`);
    assert.deepEqual([r[SOURCES.admin4]!.open, r[SOURCES.admin6]!.open], [ADMIN_BURST, ADMIN_BURST], JSON.stringify(r));
    assert.deepEqual([r[SOURCES.stranger4]!.open, r[SOURCES.stranger6]!.open], [0, 0], JSON.stringify(r));
  });

  test("the oracle is live: without the DOCKER-USER block a published port bypasses UFW", () => {
    inNs(FW, "iptables", "-F", "DOCKER-USER");
    try {
      const results = probe([[SOURCES.stranger4, FW4, 8080]]);
      assert.equal(results.get(`${SOURCES.stranger4}>${FW4}:8080`), "open");
    } finally {
      inNs(FW, "ufw", "reload");
    }
    assert.equal(probe([[SOURCES.stranger4, FW4, 8080]]).get(`${SOURCES.stranger4}>${FW4}:8080`), "closed");
  });
});

describe("renderFirewallScript", () => {
  test("SSH allows come before default-deny and enable", () => {
    const script = renderFirewallScript(OPTIONS);
    const ssh = script.indexOf("ufw allow from 203.0.113.7 to any port 9922 proto tcp >/dev/null");
    assert.ok(ssh > 0);
    assert.ok(ssh < script.indexOf("ufw default deny incoming"));
    assert.ok(ssh < script.indexOf("ufw --force enable"));
  });
  test("closed web ingress opens no port 80/443", () => {
    assert.equal(renderUfwRules({ ...OPTIONS, web: "closed" }).some((r) => /80,443/.test(r)), false);
  });
  test("tailscale-only mode admits SSH on tailscale0", () => {
    assert.ok(renderUfwRules({ ...OPTIONS, adminAddresses: [], tailscaleOnly: true }).includes("ufw allow in on tailscale0 to any port 9922 proto tcp"));
  });
  test("addresses are rendered as ufw prints them, so re-runs keep them", () => {
    assert.deepEqual(["203.0.113.7/32", "2001:0db8:aaaa:0000::7/128", "10.0.0.0/24", "2001:db8::/32"].map(ufwAddress), ["203.0.113.7", "2001:db8:aaaa::7", "10.0.0.0/24", "2001:db8::/32"]);
    assert.throws(() => renderFirewallScript({ ...OPTIONS, nfsClients: ["10.0.0.5/24"] }), /host bits/);
  });
  test("refuses to lock everyone out or to open to the world", () => {
    assert.throws(() => renderFirewallScript({ ...OPTIONS, adminAddresses: [] }), /no admin address/);
    assert.throws(() => renderFirewallScript({ ...OPTIONS, adminAddresses: ["0.0.0.0/0"] }), /admits every address/);
  });
  test("the script is shellcheck-clean", { skip: missingTools("shellcheck on the firewall script", ["shellcheck"]) }, () => {
    const file = join(mkdtempSync(join(tmpdir(), "fwsc-")), "fw.sh");
    writeFileSync(file, renderFirewallScript({ ...OPTIONS, outbound: DEFAULT_HOST_OUTBOUND }));
    const result = run(findTool("shellcheck")!, [file]);
    assert.equal(result.status, 0, result.stdout);
  });
});
