/**
 * The strict socket proxy, run for real (the same server.js and the policy
 * the component renders, on Node 20 like the node:20 image) in front of a
 * fake Docker API on a unix socket. Legitimate sandbox traffic passes;
 * hostile requests are refused and never reach the fake daemon.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { renderSocketProxyPolicy, SANDBOX_LABEL, socketProxyServerSource } from "../components/socketProxy";

const ROOT = "/srv/openclaw/primary/sandboxes";
const MiB = 1024 * 1024;

interface Seen { method: string; url: string; body: string }

function fakeDocker(socketPath: string, seen: Seen[]): http.Server {
  const containers: Record<string, { Name: string; Config: { Labels: Record<string, string>; Env: string[] } }> = {
    sbx1: { Name: "/openclaw-sbx-main-1", Config: { Labels: { [SANDBOX_LABEL]: "1" }, Env: [] } },
    gw: { Name: "/openclaw-gateway", Config: { Labels: { "openclaw.role": "gateway" }, Env: ["SECRET=do-not-leak"] } },
    fake: { Name: "/evil", Config: { Labels: { [SANDBOX_LABEL]: "1" }, Env: [] } },
  };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = req.url ?? "";
      seen.push({ method: req.method ?? "", url, body });
      const path = url.split("?")[0]!.replace(/^\/v[0-9.]+/, "");
      const inspect = /^\/containers\/([^/]+)\/json$/.exec(path);
      res.setHeader("content-type", "application/json");
      if (path === "/_ping") return void res.end("OK");
      if (path === "/containers/json") {
        return void res.end(JSON.stringify(Object.entries(containers).map(([Id, c]) => ({ Id, Names: [c.Name], Labels: c.Config.Labels }))));
      }
      if (inspect) {
        const c = containers[inspect[1]!];
        if (!c) { res.statusCode = 404; return void res.end("{}"); }
        return void res.end(JSON.stringify({ Id: inspect[1], ...c }));
      }
      if (path === "/containers/create") { res.statusCode = 201; return void res.end(JSON.stringify({ Id: "sbx1" })); }
      if (/^\/containers\/[^/]+\/exec$/.test(path)) { res.statusCode = 201; return void res.end(JSON.stringify({ Id: "exec1" })); }
      res.statusCode = req.method === "DELETE" ? 204 : 200;
      res.end(req.method === "DELETE" ? undefined : "{}");
    });
  });
  server.on("upgrade", (req, socket) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", body: "" });
    socket.write("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello from exec");
    socket.end();
  });
  return server.listen(socketPath);
}

interface Reply { status: number; body: string }

function request(socketPath: string, method: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const req = http.request({ socketPath, method, path, headers: data === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(data) } }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(data);
  });
}

/** A container-create body as the docker CLI sends it for an OpenClaw sandbox. */
function sandboxCreate(hostConfig: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Image: "openclaw-sandbox:bookworm-slim",
    Labels: { [SANDBOX_LABEL]: "1" },
    HostConfig: {
      NetworkMode: "none", Privileged: false, CapAdd: null, CapDrop: ["ALL"], ReadonlyRootfs: true,
      Memory: 512 * MiB, PidsLimit: 256, PidMode: "", IpcMode: "", Binds: [`${ROOT}/agent-main:/workspace:rw`],
      SecurityOpt: ["no-new-privileges"], ...hostConfig,
    },
    ...extra,
  };
}

describe("strict socket proxy against a fake Docker API", () => {
  let dir = "";
  let proxySocket = "";
  let proxy: ChildProcess | undefined;
  let daemon: http.Server | undefined;
  const seen: Seen[] = [];
  let stderr = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sockproxy-"));
    const dockerSocket = join(dir, "docker.sock");
    proxySocket = join(dir, "proxy.sock");
    daemon = fakeDocker(dockerSocket, seen);
    writeFileSync(join(dir, "server.js"), socketProxyServerSource());
    writeFileSync(join(dir, "policy.json"), renderSocketProxyPolicy({ allowedBindRoots: [ROOT], sandboxMemoryMb: 512, listen: { path: proxySocket }, upstreamSocket: dockerSocket }));
    proxy = spawn(process.execPath, [join(dir, "server.js"), join(dir, "policy.json")], { stdio: ["ignore", "ignore", "pipe"] });
    proxy.stderr!.on("data", (c) => (stderr += c));
    for (let i = 0; i < 100 && !stderr.includes("listening"); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(stderr, /listening/);
  });

  after(() => {
    proxy?.kill();
    daemon?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => { seen.length = 0; });

  const reachedDaemon = (pattern: RegExp) => seen.some((s) => pattern.test(`${s.method} ${s.url}`));

  describe("sandbox lifecycle passes", () => {
    test("ping and version", async () => {
      assert.equal((await request(proxySocket, "GET", "/_ping")).status, 200);
      assert.equal((await request(proxySocket, "GET", "/v1.47/version")).status, 200);
    });
    test("create a sandbox as the docker CLI does", async () => {
      const reply = await request(proxySocket, "POST", "/v1.47/containers/create?name=openclaw-sbx-main-1", sandboxCreate());
      assert.equal(reply.status, 201, reply.body);
      const forwarded = seen.find((s) => s.url.includes("/containers/create"));
      assert.deepEqual(JSON.parse(forwarded!.body), sandboxCreate());
    });
    test("start, exec create, exec start (hijacked), inspect, remove", async () => {
      assert.equal((await request(proxySocket, "POST", "/v1.47/containers/sbx1/start")).status, 200);
      const exec = await request(proxySocket, "POST", "/v1.47/containers/sbx1/exec", { Cmd: ["sh", "-c", "ls"], AttachStdout: true });
      assert.equal(exec.status, 201);
      const hijacked = await new Promise<string>((resolve, reject) => {
        const socket = net.createConnection(proxySocket, () => {
          socket.write("POST /v1.47/exec/exec1/start HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
        });
        let text = "";
        socket.on("data", (c) => (text += c));
        socket.on("end", () => resolve(text));
        socket.on("error", reject);
      });
      assert.match(hijacked, /^HTTP\/1\.1 101/);
      assert.match(hijacked, /hello from exec/);
      assert.equal((await request(proxySocket, "GET", "/v1.47/containers/sbx1/json")).status, 200);
      assert.equal((await request(proxySocket, "DELETE", "/v1.47/containers/sbx1?force=1")).status, 204);
    });
    test("a container list shows sandboxes only", async () => {
      const reply = await request(proxySocket, "GET", "/v1.47/containers/json?all=1");
      const ids = (JSON.parse(reply.body) as { Id: string }[]).map((c) => c.Id).sort();
      assert.deepEqual(ids, ["fake", "sbx1"]);
    });
  });

  const hostileCreates: [string, Record<string, unknown>, Record<string, unknown>?, string?][] = [
    ["privileged", { Privileged: true }],
    ["privileged, lower-case key twin", { privileged: true }],
    ["privileged via a case-insensitive key only", {}, { hostconfig: { privileged: true, NetworkMode: "none", Memory: 512 * MiB } }],
    ["host root bind", { Binds: ["/:/host"] }],
    ["docker.sock bind", { Binds: ["/var/run/docker.sock:/var/run/docker.sock"] }],
    ["bind escaping the root with ..", { Binds: [`${ROOT}/../../../etc:/etc2`] }],
    ["bind to a sibling with the root as prefix", { Binds: [`${ROOT}-evil:/x`] }],
    ["bind mount outside the root", { Mounts: [{ Type: "bind", Source: "/etc", Target: "/etc2" }] }],
    ["named volume (the gateway's state)", { Mounts: [{ Type: "volume", Source: "openclaw-data", Target: "/data" }] }],
    ["host network", { NetworkMode: "host" }],
    ["bridge network", { NetworkMode: "bridge" }],
    ["another container's network", { NetworkMode: "container:openclaw-gateway" }],
    ["host pid", { PidMode: "host" }],
    ["host ipc", { IpcMode: "host" }],
    ["host uts", { UTSMode: "host" }],
    ["host userns", { UsernsMode: "host" }],
    ["added capability", { CapAdd: ["SYS_ADMIN"] }],
    ["device", { Devices: [{ PathOnHost: "/dev/sda", PathInContainer: "/dev/sda", CgroupPermissions: "rwm" }] }],
    ["seccomp unconfined", { SecurityOpt: ["seccomp=unconfined"] }],
    ["apparmor unconfined", { SecurityOpt: ["apparmor=unconfined"] }],
    ["unmasked /proc paths", { MaskedPaths: [] }],
    ["published port", { PortBindings: { "22/tcp": [{ HostPort: "2222" }] } }],
    ["no memory limit", { Memory: 0 }],
    ["memory above the sandbox cap", { Memory: 4096 * MiB }],
    ["sysctls", { Sysctls: { "kernel.core_pattern": "|/tmp/x" } }],
    ["other runtime", { Runtime: "nvidia" }],
    ["missing sandbox label", {}, { Labels: {} }],
    ["name without the sandbox prefix", {}, {}, "openclaw-gateway-2"],
  ];
  describe("hostile container creates are refused before the daemon", () => {
    for (const [what, hostConfig, extra, name] of hostileCreates) {
      test(what, async () => {
        const body = sandboxCreate(hostConfig, extra);
        const reply = await request(proxySocket, "POST", `/v1.47/containers/create?name=${name ?? "openclaw-sbx-x"}`, body);
        assert.equal(reply.status, 403, reply.body);
        assert.equal(reachedDaemon(/containers\/create/), false);
      });
    }
    test("duplicate HostConfig objects (Go would merge them)", async () => {
      const body = `{"Labels":{"${SANDBOX_LABEL}":"1"},"HostConfig":{"Privileged":true,"Binds":["/:/host"]},"HostConfig":{"NetworkMode":"none","Memory":${512 * MiB}}}`;
      const reply = await request(proxySocket, "POST", "/v1.47/containers/create?name=openclaw-sbx-x", body);
      // JSON.parse keeps the last object; what is forwarded is exactly that checked object.
      if (reply.status === 201) {
        const forwarded = JSON.parse(seen.find((s) => s.url.includes("/containers/create"))!.body);
        assert.equal(forwarded.HostConfig.Privileged, undefined);
        assert.equal(JSON.stringify(forwarded).includes("/:/host"), false);
      } else {
        assert.equal(reply.status, 403);
      }
    });
    test("a body that is not JSON", async () => {
      assert.equal((await request(proxySocket, "POST", "/containers/create?name=openclaw-sbx-x", "{nope")).status, 400);
    });
  });

  const hostileRequests: [string, string, string, unknown?][] = [
    ["archive of a non-sandbox container", "GET", "/v1.47/containers/gw/archive?path=/run/secrets"],
    ["inspect of a non-sandbox container (its env)", "GET", "/v1.47/containers/gw/json"],
    ["exec into a non-sandbox container", "POST", "/v1.47/containers/gw/exec", { Cmd: ["cat", "/run/secrets/openclaw-gateway-token"] }],
    ["remove a non-sandbox container", "DELETE", "/v1.47/containers/gw?force=1"],
    ["stop a non-sandbox container", "POST", "/v1.47/containers/gw/stop"],
    ["a labelled container without the sandbox name", "POST", "/v1.47/containers/fake/start"],
    ["an unknown container", "GET", "/v1.47/containers/nope/logs"],
    ["export a container", "GET", "/v1.47/containers/sbx1/export"],
    ["percent-encoded path", "GET", "/v1.47/containers/gw%2Fjson"],
    ["percent-encoded traversal", "GET", "/v1.47/containers/sbx1/%2e%2e/gw/json"],
    ["dot-dot traversal", "GET", "/v1.47/containers/sbx1/../gw/json"],
    ["double slash", "GET", "//containers/gw/json"],
    ["exec start of an exec not made through the proxy", "POST", "/v1.47/exec/deadbeef/start", {}],
    ["privileged exec into a sandbox", "POST", "/v1.47/containers/sbx1/exec", { Cmd: ["sh"], Privileged: true }],
    ["method outside the allowlist: PUT on create", "PUT", "/v1.47/containers/create"],
    ["method outside the allowlist: DELETE on an image", "DELETE", "/v1.47/images/alpine:3.20"],
    ["image pull", "POST", "/v1.47/images/create?fromImage=evil/image&tag=1"],
    ["build", "POST", "/v1.47/build"],
    ["volumes", "GET", "/v1.47/volumes"],
    ["networks", "POST", "/v1.47/networks/create", { Name: "x" }],
    ["swarm secrets", "GET", "/v1.47/secrets"],
    ["services", "GET", "/v1.47/services"],
    ["events", "GET", "/v1.47/events"],
    ["info", "GET", "/v1.47/info"],
    ["plugins", "POST", "/v1.47/plugins/pull"],
    ["session (BuildKit)", "POST", "/session"],
  ];
  describe("hostile requests are refused", () => {
    for (const [what, method, path, body] of hostileRequests) {
      test(what, async () => {
        const reply = await request(proxySocket, method, path, body);
        assert.equal(reply.status >= 400 && reply.status < 500, true, `${reply.status} ${reply.body}`);
        assert.notEqual(reply.status, 404, "refused by policy, not by the daemon");
        assert.equal(seen.some((s) => s.method === method && s.url === path), false, "the request must not reach the daemon");
        assert.equal(reply.body.includes("do-not-leak"), false);
      });
    }
  });
});

describe("renderSocketProxyPolicy", () => {
  test("refuses a bind root that would admit the whole host", () => {
    for (const root of ["/", "/srv", "/srv/../etc/x", "relative/path"]) {
      assert.throws(() => renderSocketProxyPolicy({ allowedBindRoots: [root], sandboxMemoryMb: 512 }), /bind root/, root);
    }
  });
  test("caps sandbox memory at the configured size", () => {
    assert.equal(JSON.parse(renderSocketProxyPolicy({ allowedBindRoots: [ROOT], sandboxMemoryMb: 512 })).maxMemoryBytes, 512 * MiB);
  });
});
