// @ts-check
/**
 * The strict Docker socket proxy (plain Node, no dependencies): the program the
 * SocketProxy component runs, and tests/socketProxy*.test.ts run in front of a
 * real dockerd. One unix-socket listener per gateway instance, each with its own
 * policy; the socket is bind-mounted into that gateway only, so the listener a
 * request arrives on is the caller's identity.
 *
 * The whole policy, in order:
 * 1. Paths: `/v<major>.<minor>/...` at or above the minimum API version (only
 *    `/_ping` may be unversioned); characters outside [A-Za-z0-9._:/@-], `..`,
 *    `//`, `%` and absolute-form targets are refused. Anchored method+path routes.
 *    Query strings are rebuilt from the route's own parameter list.
 * 2. Bodies: parsed and rebuilt from exact-case ASCII fields, each checked; any
 *    other field at any depth is refused with its name (Go matches field names
 *    case-insensitively with Unicode folding: `HoſtConfig` would be HostConfig).
 *    The daemon only ever sees bodies this program wrote. start/stop/restart/kill
 *    and every other route carry no body.
 * 3. Create: the sandbox shape below, enforced (see checkCreate).
 * 4. Existing containers: resolved on the daemon first, then addressed by full id;
 *    only this instance's sandboxes (label written by the proxy itself), plus its
 *    own gateway for the two calls OpenClaw makes to identify itself (a reduced
 *    inspect, and exec without user/env/privilege: what the gateway can already do).
 *    The gateway is its container name, or in Swarm mode a running task of its
 *    service as the manager records it (see isOwnGateway).
 * 5. Upgrade only on exec start (execs created here) and attach; the raw stream is
 *    spliced only after the daemon answers 101.
 * 6. Responses stream (pipe: backpressure); the only buffered ones are bounded.
 *
 * Usage: node server.js POLICY.json   (policy: see components/socketProxy/index.ts)
 */
"use strict";
const http = require("node:http");
const net = require("node:net");
const fs = require("node:fs");
const path = require("node:path");

const MAX_JSON_BODY = 256 * 1024;
const MAX_BUFFERED_RESPONSE = 1024 * 1024;
const MAX_UPGRADE_HEAD = 16 * 1024;
const MAX_EXECS = 4096;
const BODY_TIMEOUT_MS = 10_000;
const INSTANCE_LABEL = "openclaw.proxy.instance";
const SANDBOX_LABEL = "openclaw.sandbox";
const REF = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const SAFE_PATH = /^[A-Za-z0-9._:/@-]+$/;

/** A refusal: status and a message naming what was refused. */
class Refused extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) { super(message); this.status = status; }
}
/** @param {string} message @returns {never} */
const refuse = (message) => { throw new Refused(403, message); };

// ---------------------------------------------------------------- field checks

/** @typedef {(value: unknown, where: string) => unknown} Check  returns the value to forward, or undefined to omit */

/** @param {unknown} v */
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
/** Any of the zero values the docker CLI sends for a field it does not use. */
const isZero = (/** @type {unknown} */ v) => v === null || v === "" || v === false || v === 0 ||
  (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(/** @type {object} */ (v)).length === 0);

/** @type {Check} */ const zero = (v, where) => { if (!isZero(v)) refuse(`${where} is not allowed`); return undefined; };
/** @type {Check} */ const bool = (v, where) => { if (typeof v !== "boolean") refuse(`${where} must be a boolean`); return v; };
/** @param {RegExp} re @returns {Check} */
const str = (re) => (v, where) => { if (typeof v !== "string" || !re.test(v)) refuse(`${where} has a value that is not allowed`); return v; };
/** @param {number} min @param {number} max @returns {Check} */
const int = (min, max) => (v, where) => {
  if (!Number.isSafeInteger(v) || /** @type {number} */ (v) < min || /** @type {number} */ (v) > max) refuse(`${where} must be an integer in [${min}, ${max}]`);
  return v;
};
/** @param {unknown[]} allowed @returns {Check} */
const oneOf = (allowed) => (v, where) => { if (!allowed.includes(v)) refuse(`${where} must be one of ${JSON.stringify(allowed)}`); return undefined; };
/** @param {Check} item @param {number} max @returns {Check} */
const list = (item, max) => (v, where) => {
  if (v === null) return undefined;
  if (!Array.isArray(v) || v.length > max) refuse(`${where} must be a list of at most ${max}`);
  return /** @type {unknown[]} */ (v).map((x, i) => item(x, `${where}[${i}]`));
};
const text = str(/^[^\0]{0,4096}$/);
const absPath = str(/^((\/[A-Za-z0-9._@+-]+)+|\/)?$/);

/**
 * Rebuilds an object from exact-case fields; a field without a check is refused.
 * @param {Record<string, Check>} fields @param {string} where0 the field's own name, for messages
 * @returns {Check}
 */
const object = (fields, where0 = "") => (v, where = where0) => {
  if (v === null || v === undefined) return undefined;
  if (!isObject(v)) refuse(`${where} must be an object`);
  /** @type {Record<string, unknown>} */ const out = {};
  for (const [key, value] of Object.entries(/** @type {object} */ (v))) {
    const check = Object.prototype.hasOwnProperty.call(fields, key) ? fields[key] : undefined;
    if (!check) refuse(`unknown field ${where ? `${where}.` : ""}${JSON.stringify(key).slice(1, -1)}`);
    const checked = check(value, where ? `${where}.${key}` : key);
    if (checked !== undefined) out[key] = checked;
  }
  return out;
};

// ---------------------------------------------------------------- policy

/**
 * @typedef {{ name: string, listen: string, gatewayContainer: string | null, gatewayService: string | null, sandboxRoot: string, sandboxNamePrefix: string,
 *   images: string[], network: string, workdir: string, maxMemoryBytes: number, maxPids: number, maxNanoCpus: number }} Instance
 * @typedef {{ upstreamSocket: string, minApiVersion: string, logConfig: { Type: string, Config: Record<string, string> }, instances: Instance[] }} Policy
 */

/**
 * The bind source must be a direct child of the instance's sandbox root, and no
 * path component may be a symlink now (the proxy sees the host's root read-only).
 * @param {Instance} inst @param {string} source
 */
function checkWorkspaceSource(inst, source) {
  const parent = path.posix.dirname(source);
  const leaf = path.posix.basename(source);
  if (parent !== inst.sandboxRoot || !REF.test(leaf)) refuse(`bind source ${source} is not a workspace directly under ${inst.sandboxRoot}`);
  checkRealDirectory(source);
}

/**
 * Read-only binds OpenClaw lays over a writable workspace so the agent cannot
 * rewrite its own skills (2026.9: `<workspace>/skills` and `<workspace>/.agents/skills`
 * at the same places under the workdir, added only when the directory exists).
 */
const PROTECTED_SKILL_DIRS = ["skills", ".agents/skills"];

/**
 * Binds: at most the workspace at the workdir, plus read-only protected skills
 * binds of that same workspace. Each source is a real directory now (no symlink).
 * @param {Instance} inst @returns {Check}
 */
const bindList = (inst) => (v, where) => {
  if (v === null) return undefined;
  if (!Array.isArray(v) || v.length > 1 + PROTECTED_SKILL_DIRS.length) refuse(`${where} must be a list of at most ${1 + PROTECTED_SKILL_DIRS.length}`);
  const binds = /** @type {unknown[]} */ (v).map((b, i) => {
    if (typeof b !== "string") refuse(`${where}[${i}] must be a string`);
    const [source = "", target = "", mode = "rw", ...rest] = /** @type {string} */ (b).split(":");
    if (rest.length > 0) refuse(`${where}[${i}] has a value that is not allowed`);
    if (!mode.split(",").every((o) => ["rw", "ro", "z"].includes(o))) refuse(`${where}[${i}]: bind options ${mode} are not allowed`);
    return { source, target, readOnly: mode.split(",").includes("ro") && !mode.split(",").includes("rw"), where: `${where}[${i}]` };
  });
  const workspace = binds.find((b) => b.target === inst.workdir);
  if (binds.length > 0 && !workspace) refuse(`${where}: the only binds allowed are the workspace at ${inst.workdir} and its protected skills, read-only`);
  if (!workspace) return v;
  checkWorkspaceSource(inst, workspace.source);
  const seen = new Set();
  for (const b of binds) {
    if (b === workspace) continue;
    const dir = PROTECTED_SKILL_DIRS.find((d) => b.target === `${inst.workdir}/${d}`);
    if (!dir || seen.has(dir) || b.source !== `${workspace.source}/${dir}` || !b.readOnly) {
      refuse(`${b.where}: the only binds allowed are the workspace at ${inst.workdir} and its protected skills, read-only`);
    }
    seen.add(dir);
    checkRealDirectory(b.source);
  }
  return v;
};

/** @param {string} source */
function checkRealDirectory(source) {
  let real;
  try { real = fs.realpathSync(source); } catch { refuse(`bind source ${source} does not exist`); }
  if (real !== source || !fs.lstatSync(source).isDirectory()) refuse(`bind source ${source} is or passes through a symlink`);
}

/** The sandbox's label namespace; the proxy's own instance label cannot be forged. */
/** @type {Check} */
const labels = (v, where) => {
  if (!isObject(v)) refuse(`${where} must be an object`);
  const out = /** @type {Record<string, string>} */ ({});
  for (const [key, value] of Object.entries(/** @type {object} */ (v))) {
    if (!/^openclaw\.[A-Za-z0-9._-]{1,64}$/.test(key) || key.startsWith("openclaw.proxy.")) refuse(`label ${key} is not allowed`);
    if (typeof value !== "string" || value.length > 1024) refuse(`label ${key} must be a string`);
    out[key] = value;
  }
  if (out[SANDBOX_LABEL] !== "1") refuse(`label ${SANDBOX_LABEL}=1 is required`);
  return out;
};

/** @type {Check} */
const tmpfs = (v, where) => {
  if (!isObject(v)) refuse(`${where} must be an object`);
  for (const [dir, options] of Object.entries(/** @type {object} */ (v))) {
    if (!/^(\/[A-Za-z0-9._-]+)+$/.test(dir) || /^\/(proc|sys|dev)(\/|$)/.test(dir) || dir.split("/").includes("..")) refuse(`${where}: tmpfs at ${dir} is not allowed`);
    if (typeof options !== "string" || !options.split(",").every((o) => o === "" || /^(rw|ro|noexec|exec|nosuid|nodev|size=[0-9]+[kmg]?|mode=[0-7]{3,4})$/.test(o))) refuse(`${where}: tmpfs options for ${dir} are not allowed`);
  }
  return v;
};

/**
 * The container-create check: rebuilds the body; every forwarded field listed here.
 * @param {Instance} inst @param {Policy["logConfig"]} logConfig @param {unknown} body
 */
function checkCreate(inst, logConfig, body) {
  const hostConfig = object({
    Binds: bindList(inst),
    NetworkMode: (v, w) => { if (v !== inst.network) refuse(`${w} must be ${inst.network}`); return v; },
    CapDrop: (v, w) => { if (!Array.isArray(v) || v.length !== 1 || String(v[0]).toUpperCase() !== "ALL") refuse(`${w} must be ["ALL"]`); return ["ALL"]; },
    ReadonlyRootfs: (v, w) => { if (v !== true) refuse(`${w} must be true`); return true; },
    SecurityOpt: (v, w) => {
      if (!Array.isArray(v) || v.length !== 1 || !["no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"].includes(v[0])) refuse(`${w} must be ["no-new-privileges"]`);
      return ["no-new-privileges"];
    },
    Memory: int(1, inst.maxMemoryBytes),
    MemorySwap: int(1, inst.maxMemoryBytes),
    PidsLimit: int(1, inst.maxPids),
    NanoCpus: int(0, inst.maxNanoCpus),
    Tmpfs: tmpfs,
    Init: bool,
    AutoRemove: bool,
    ConsoleSize: list(int(0, 10000), 2),
    ShmSize: int(0, 64 * 1024 * 1024),
    OomScoreAdj: int(0, 1000),
    MemorySwappiness: (v, w) => (v === null || v === -1 ? undefined : int(0, 100)(v, w)),
    LogConfig: object({ Type: oneOf(["", logConfig.Type]), Config: zero }, "HostConfig.LogConfig"),
    RestartPolicy: object({ Name: oneOf(["", "no"]), MaximumRetryCount: oneOf([0]) }, "HostConfig.RestartPolicy"),
    CgroupnsMode: oneOf(["", "private"]),
    IpcMode: oneOf(["", "private", "none"]),
    Isolation: oneOf(["", "default"]),
    Runtime: oneOf(["", "runc"]),
    MaskedPaths: oneOf([null]),
    ReadonlyPaths: oneOf([null]),
    ...Object.fromEntries([
      "ContainerIDFile", "PortBindings", "VolumeDriver", "VolumesFrom", "CapAdd", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts",
      "GroupAdd", "Cgroup", "Links", "PidMode", "Privileged", "PublishAllPorts", "UTSMode", "UsernsMode", "CpuShares", "CgroupParent",
      "BlkioWeight", "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps",
      "CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems", "Devices", "DeviceCgroupRules",
      "DeviceRequests", "KernelMemory", "KernelMemoryTCP", "MemoryReservation", "OomKillDisable", "Ulimits", "CpuCount", "CpuPercent",
      "IOMaximumIOps", "IOMaximumBandwidth", "Mounts", "StorageOpt", "Sysctls", "Annotations",
    ].map((k) => [k, zero])),
  }, "HostConfig");

  const spec = /** @type {Record<string, any>} */ (object({
    Image: (v, w) => { if (typeof v !== "string" || !inst.images.includes(v)) refuse(`${w} must be one of the sandbox images`); return v; },
    Cmd: list(text, 256),
    Entrypoint: list(text, 64),
    Env: list(str(/^[A-Za-z_][A-Za-z0-9_]*=[^\0]{0,4096}$/), 256),
    WorkingDir: absPath,
    User: str(/^[A-Za-z0-9_.-]{0,32}(:[A-Za-z0-9_.-]{1,32})?$/),
    Labels: labels,
    AttachStdin: bool, AttachStdout: bool, AttachStderr: bool, Tty: bool, OpenStdin: bool, StdinOnce: bool, NetworkDisabled: bool, ArgsEscaped: bool,
    StopSignal: str(/^[A-Z0-9+]{0,16}$/),
    StopTimeout: int(0, 3600),
    Hostname: zero, Domainname: zero, Volumes: zero, OnBuild: zero, ExposedPorts: zero, Healthcheck: zero, MacAddress: zero, Shell: zero,
    HostConfig: hostConfig,
    NetworkingConfig: object({ EndpointsConfig: zero }, "NetworkingConfig"),
  })(body, ""));
  if (!spec) refuse("body must be a JSON object");
  if (spec.Image === undefined) refuse("Image is required");
  if (spec.Labels === undefined) refuse(`label ${SANDBOX_LABEL}=1 is required`);
  const host = spec.HostConfig;
  if (!host) refuse("HostConfig is required");
  for (const key of ["NetworkMode", "CapDrop", "ReadonlyRootfs", "SecurityOpt", "Memory", "MemorySwap", "PidsLimit"]) {
    if (host[key] === undefined) refuse(`HostConfig.${key} is required`);
  }
  if (host.MemorySwap !== host.Memory) refuse("HostConfig.MemorySwap must equal HostConfig.Memory (no swap)");
  // Fixed by the proxy: log driver, restart policy, the instance label.
  host.LogConfig = logConfig;
  host.RestartPolicy = { Name: "no" };
  if (!host.NanoCpus) host.NanoCpus = inst.maxNanoCpus;
  spec.Labels[INSTANCE_LABEL] = inst.name;
  delete spec.NetworkingConfig;
  return spec;
}

/** @param {boolean} gateway */
const execCreate = (gateway) => object({
  Cmd: (v, w) => { if (!Array.isArray(v) || v.length === 0) refuse(`${w} must be a non-empty list`); return list(text, 256)(v, w); },
  AttachStdin: bool, AttachStdout: bool, AttachStderr: bool, Tty: bool, Detach: bool,
  DetachKeys: str(/^[a-z0-9,-]{0,32}$/),
  ConsoleSize: list(int(0, 10000), 2),
  Privileged: oneOf([false, null]),
  // In the gateway itself: only what the gateway process can already do (its own user, env and directory).
  User: gateway ? zero : str(/^[A-Za-z0-9_.-]{0,32}(:[A-Za-z0-9_.-]{1,32})?$/),
  Env: gateway ? zero : list(str(/^[A-Za-z_][A-Za-z0-9_]*=[^\0]{0,4096}$/), 256),
  WorkingDir: gateway ? zero : absPath,
});
const execStart = object({ Detach: bool, Tty: bool, ConsoleSize: list(int(0, 10000), 2) });

// ---------------------------------------------------------------- routes

/**
 * @typedef {"ping"|"version"|"image"|"list"|"create"|"container"|"exec-create"|"exec"} Kind
 * @typedef {{ methods: string[], pattern: RegExp, kind: Kind, query: string[], upgrade?: boolean, gateway?: boolean, recheck?: boolean, stream?: boolean }} Route
 * @type {Route[]}
 */
const ROUTES = [
  { methods: ["GET"], pattern: /^\/version$/, kind: "version", query: [] },
  { methods: ["GET"], pattern: /^\/images\/([A-Za-z0-9._/:@-]+)\/json$/, kind: "image", query: [] },
  { methods: ["GET"], pattern: /^\/containers\/json$/, kind: "list", query: ["all", "limit", "size"] },
  { methods: ["POST"], pattern: /^\/containers\/create$/, kind: "create", query: ["name"] },
  { methods: ["GET"], pattern: /^\/containers\/([^/]+)\/json$/, kind: "container", query: ["size"], gateway: true },
  { methods: ["GET"], pattern: /^\/containers\/([^/]+)\/logs$/, kind: "container", query: ["follow", "stdout", "stderr", "since", "until", "timestamps", "tail"] },
  { methods: ["POST"], pattern: /^\/containers\/([^/]+)\/(start|restart)$/, kind: "container", query: ["t", "signal"], recheck: true },
  { methods: ["POST"], pattern: /^\/containers\/([^/]+)\/(stop)$/, kind: "container", query: ["t", "signal"] },
  { methods: ["POST"], pattern: /^\/containers\/([^/]+)\/kill$/, kind: "container", query: ["signal"] },
  { methods: ["POST"], pattern: /^\/containers\/([^/]+)\/(pause|unpause)$/, kind: "container", query: [] },
  { methods: ["POST"], pattern: /^\/containers\/([^/]+)\/wait$/, kind: "container", query: ["condition"] },
  { methods: ["POST"], pattern: /^\/containers\/([^/]+)\/resize$/, kind: "container", query: ["h", "w"] },
  { methods: ["POST"], pattern: /^\/containers\/([^/]+)\/attach$/, kind: "container", query: ["stream", "stdin", "stdout", "stderr", "logs", "detachKeys"], upgrade: true },
  { methods: ["GET", "HEAD"], pattern: /^\/containers\/([^/]+)\/archive$/, kind: "container", query: ["path"] },
  { methods: ["PUT"], pattern: /^\/containers\/([^/]+)\/archive$/, kind: "container", query: ["path", "noOverwriteDirNonDir", "copyUIDGID"], stream: true },
  { methods: ["DELETE"], pattern: /^\/containers\/([^/]+)$/, kind: "container", query: ["force", "v"] },
  { methods: ["POST"], pattern: /^\/containers\/([^/]+)\/exec$/, kind: "exec-create", query: [], gateway: true },
  { methods: ["POST"], pattern: /^\/exec\/([^/]+)\/start$/, kind: "exec", query: [], upgrade: true },
  { methods: ["POST"], pattern: /^\/exec\/([^/]+)\/resize$/, kind: "exec", query: ["h", "w"] },
  { methods: ["GET"], pattern: /^\/exec\/([^/]+)\/json$/, kind: "exec", query: [] },
];

/** @param {string} a @param {string} b */
const versionAtLeast = (a, b) => {
  const [x = 0, y = 0] = a.split(".").map(Number); const [p = 0, q = 0] = b.split(".").map(Number);
  return x > p || (x === p && y >= q);
};

/**
 * @param {Policy} policy @param {string} method @param {string} url
 * @returns {{ route: Route | "ping", version: string, id?: string, path: string, query: URLSearchParams }}
 */
function matchRoute(policy, method, url) {
  if (!url.startsWith("/")) refuse("only origin-form request targets are allowed");
  const q = url.indexOf("?");
  const rawPath = q === -1 ? url : url.slice(0, q);
  const query = new URLSearchParams(q === -1 ? "" : url.slice(q + 1));
  if (!SAFE_PATH.test(rawPath) || rawPath.includes("..") || rawPath.includes("//")) refuse("the path has characters or segments that are not allowed");
  const m = /^\/v([0-9]{1,2}\.[0-9]{1,3})(\/.*)$/.exec(rawPath);
  if (!m) {
    if (rawPath === "/_ping" && (method === "GET" || method === "HEAD")) return { route: "ping", version: "", path: rawPath, query };
    refuse("an API version prefix is required");
  }
  const [, version = "", p = ""] = m;
  if (!versionAtLeast(version, policy.minApiVersion)) refuse(`API version ${version} is below the minimum ${policy.minApiVersion}`);
  if (p === "/_ping" && (method === "GET" || method === "HEAD")) return { route: "ping", version, path: p, query };
  for (const route of ROUTES) {
    const r = route.pattern.exec(p);
    if (!r) continue;
    if (!route.methods.includes(method)) continue;
    const seen = new Set();
    for (const key of query.keys()) {
      if (!route.query.includes(key) || seen.has(key)) refuse(`query parameter ${key} is not allowed here`);
      seen.add(key);
    }
    return { route, version, id: r[1], path: p, query };
  }
  refuse(`${method} ${p} is not allowed`);
}

// ---------------------------------------------------------------- the proxy

/**
 * The body of an upgrade request: `declared` bytes from `head` and the socket, no more.
 * @param {import("node:stream").Duplex} socket @param {Buffer} head @param {number} declared @returns {Promise<Buffer>}
 */
function readUpgradeBody(socket, head, declared) {
  return new Promise((resolve, reject) => {
    const chunks = /** @type {Buffer[]} */ ([head]);
    let received = head.length;
    const done = (/** @type {Error | undefined} */ err) => {
      clearTimeout(timer); socket.off("data", onData); socket.off("close", onClose); socket.pause();
      if (err) reject(err);
      else if (received > declared) reject(new Refused(403, "no data may follow an upgrade request before the daemon answers"));
      else resolve(Buffer.concat(chunks));
    };
    const onData = (/** @type {Buffer} */ c) => { chunks.push(c); received += c.length; if (received >= declared) done(undefined); };
    const onClose = () => done(new Error("client closed"));
    const timer = setTimeout(() => done(new Refused(408, "request body too slow")), BODY_TIMEOUT_MS);
    if (received >= declared) { done(undefined); return; }
    socket.on("data", onData);
    socket.on("close", onClose);
    socket.resume();
  });
}

/**
 * @param {Policy} policy @param {Instance} inst
 * @returns {http.Server}
 */
function createListener(policy, inst) {
  /** exec id -> container id, for execs created through this listener */
  const execs = new Map();

  /** A request to the daemon; the caller decides whether to stream or buffer the response. */
  /** @param {string} method @param {string} p @param {Record<string, string>} headers */
  const upstreamRequest = (method, p, headers = {}) => http.request({ socketPath: policy.upstreamSocket, method, path: p, headers, agent: false });

  /** @param {string} method @param {string} p @param {unknown=} body @returns {Promise<{status: number, headers: http.IncomingHttpHeaders, body: Buffer}>} */
  const daemon = (method, p, body) => new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = upstreamRequest(method, p, data === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(data)) });
    req.on("response", (res) => {
      const chunks = /** @type {Buffer[]} */ ([]);
      let size = 0;
      res.on("data", (c) => { size += c.length; if (size > MAX_BUFFERED_RESPONSE) { res.destroy(); reject(new Refused(502, "daemon response too large")); } else chunks.push(c); });
      res.on("end", () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(data);
  });

  /**
   * Resolves a caller's container reference (name, id or id prefix) on the daemon.
   * @param {string} ref @param {boolean} gatewayAllowed
   * @returns {Promise<{ id: string, gateway: boolean, info: any }>}
   */
  async function resolveContainer(ref, gatewayAllowed) {
    if (!REF.test(ref)) refuse(`container reference ${ref} is not allowed`);
    const res = await daemon("GET", `/containers/${ref}/json`);
    if (res.status !== 200) refuse(`container ${ref} is not one of this instance's sandboxes`);
    const info = JSON.parse(res.body.toString("utf8"));
    const name = String(info?.Name ?? "").replace(/^\//, "");
    const lbl = info?.Config?.Labels ?? {};
    if (lbl[SANDBOX_LABEL] === "1" && lbl[INSTANCE_LABEL] === inst.name && name.startsWith(inst.sandboxNamePrefix)) return { id: info.Id, gateway: false, info };
    if (gatewayAllowed && await isOwnGateway(info, name)) return { id: info.Id, gateway: true, info };
    refuse(`container ${ref} is not one of this instance's sandboxes`);
  }

  /**
   * Is this container the instance's own gateway? A container: the daemon's name for it. A Swarm task
   * (named <service>.<slot>.<task id>): the manager's task record must name this very container as a
   * running task of the gateway's service. Labels alone prove nothing: anyone who creates a container
   * can set `com.docker.swarm.*` labels on it; the manager's record cannot be written that way.
   * @param {any} info the daemon's inspect @param {string} name
   */
  async function isOwnGateway(info, name) {
    if (inst.gatewayService === null) return name === inst.gatewayContainer;
    const taskId = info?.Config?.Labels?.["com.docker.swarm.task.id"];
    if (typeof taskId !== "string" || !/^[a-z0-9]{25}$/.test(taskId)) return false;
    const task = await daemon("GET", `/tasks/${taskId}`);
    if (task.status !== 200) return false;
    const t = JSON.parse(task.body.toString("utf8"));
    if (t?.Status?.ContainerStatus?.ContainerID !== info.Id || t?.DesiredState !== "running" || typeof t?.ServiceID !== "string" || !REF.test(t.ServiceID)) return false;
    const service = await daemon("GET", `/services/${t.ServiceID}`);
    return service.status === 200 && JSON.parse(service.body.toString("utf8"))?.Spec?.Name === inst.gatewayService;
  }

  /** @param {http.IncomingMessage} req @returns {Promise<Buffer>} */
  const readBody = (req) => new Promise((resolve, reject) => {
    const chunks = /** @type {Buffer[]} */ ([]);
    let size = 0;
    const timer = setTimeout(() => { reject(new Refused(408, "request body too slow")); }, BODY_TIMEOUT_MS);
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_JSON_BODY) { clearTimeout(timer); req.pause(); reject(new Refused(413, "request body too large")); } else chunks.push(c);
    });
    req.on("end", () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
    req.on("error", (e) => { clearTimeout(timer); reject(e); });
  });
  /** @param {Buffer} raw */
  const parseJson = (raw) => { try { return JSON.parse(raw.toString("utf8") || "null"); } catch { throw new Refused(400, "body is not JSON"); } };
  /** @param {Buffer} raw */
  const requireNoBody = (raw) => { const t = raw.toString("utf8").trim(); if (t !== "" && t !== "{}" && t !== "null") refuse("this request takes no body"); };

  /** @param {URLSearchParams} query @param {Route} route */
  const rebuildQuery = (query, route) => {
    const out = new URLSearchParams();
    for (const key of route.query) { const v = query.get(key); if (v !== null) { if (!/^[^\0-\x1f\x7f]{0,4096}$/.test(v)) refuse(`query parameter ${key} has a value that is not allowed`); out.set(key, v); } }
    const s = out.toString();
    return s ? `?${s}` : "";
  };

  /** Re-checks a sandbox's binds just before the daemon mounts them (start, restart). @param {any} info */
  const recheckBinds = (info) => { bindList(inst)(info?.HostConfig?.Binds ?? [], "HostConfig.Binds"); };

  /**
   * Authorizes one request. Returns what to send upstream.
   * @param {http.IncomingMessage} req @param {boolean} upgrade
   * @returns {Promise<{ path: string, body?: unknown, stream?: boolean, filter?: (b: Buffer) => Buffer, exec?: string, onCreated?: (b: Buffer) => void }>}
   */
  async function authorize(req, upgrade) {
    const method = req.method ?? "";
    const match = matchRoute(policy, method, req.url ?? "");
    if (match.route === "ping") { if (upgrade) refuse("Upgrade is not allowed here"); return { path: "/_ping" }; }
    const { route, version, id = "", query } = match;
    if (upgrade && !route.upgrade) refuse("Upgrade is not allowed here");
    const prefix = `/v${version}`;
    const raw = route.stream || upgrade ? Buffer.alloc(0) : await readBody(req);
    switch (route.kind) {
      case "version": requireNoBody(raw); return { path: `${prefix}/version` };
      case "image":
        requireNoBody(raw);
        if (!inst.images.includes(id)) refuse(`image ${id} is not a sandbox image`);
        return { path: `${prefix}/images/${id}/json` };
      case "list":
        requireNoBody(raw);
        return {
          path: `${prefix}/containers/json${rebuildQuery(query, route)}`,
          filter: (b) => Buffer.from(JSON.stringify(JSON.parse(b.toString("utf8")).filter((/** @type {any} */ c) => c?.Labels?.[INSTANCE_LABEL] === inst.name && c?.Labels?.[SANDBOX_LABEL] === "1"))),
        };
      case "create": {
        const name = query.get("name") ?? "";
        if (!name.startsWith(inst.sandboxNamePrefix) || !REF.test(name) || name.length > 63) refuse(`container name must start with ${inst.sandboxNamePrefix}`);
        return { path: `${prefix}/containers/create?name=${name}`, body: checkCreate(inst, policy.logConfig, parseJson(raw)) };
      }
      case "container": {
        const target = await resolveContainer(id, route.gateway === true);
        const action = match.path.split("/")[3] ?? "";
        if (route.recheck) recheckBinds(target.info);
        if (!route.stream) requireNoBody(raw);
        const base = `${prefix}/containers/${target.id}${action === "" ? "" : `/${action}`}${rebuildQuery(query, route)}`;
        if (target.gateway) {
          // The gateway identifies itself (OpenClaw's sandbox bind-source discovery): id, mounts, tmpfs only.
          return { path: base, filter: (b) => { const i = JSON.parse(b.toString("utf8")); return Buffer.from(JSON.stringify({ Id: i.Id, Name: i.Name, Mounts: i.Mounts, HostConfig: { Tmpfs: i.HostConfig?.Tmpfs ?? null }, Config: { Labels: {} } })); } };
        }
        return { path: base, stream: route.stream };
      }
      case "exec-create": {
        const target = await resolveContainer(id, true);
        const body = execCreate(target.gateway)(parseJson(raw), "");
        if (!body) refuse("body must be a JSON object");
        return {
          path: `${prefix}/containers/${target.id}/exec`, body,
          onCreated: (b) => {
            const execId = JSON.parse(b.toString("utf8")).Id;
            if (typeof execId === "string") { execs.set(execId, target.id); if (execs.size > MAX_EXECS) execs.delete(execs.keys().next().value); }
          },
        };
      }
      case "exec": {
        if (!execs.has(id)) refuse(`exec ${id} was not created through this proxy`);
        const action = match.path.split("/")[3] ?? "";
        if (action === "start") {
          if (upgrade) return { path: `${prefix}/exec/${id}/start`, exec: id };
          const body = execStart(parseJson(raw), "");
          return { path: `${prefix}/exec/${id}/start`, body: body ?? {} };
        }
        requireNoBody(raw);
        return { path: `${prefix}/exec/${id}/${action}${rebuildQuery(query, route)}` };
      }
      default: return refuse(`${route.kind} is not routed`);
    }
  }

  /** @param {http.ServerResponse} res @param {unknown} err */
  function fail(res, err) {
    const status = err instanceof Refused ? err.status : 502;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`socket-proxy[${inst.name}]: ${status} ${message}\n`);
    if (res.headersSent) { res.destroy(); return; }
    const body = JSON.stringify({ message: `socket-proxy: ${message}` });
    res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), connection: "close" });
    res.end(body);
  }

  const server = http.createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 0, headersTimeout: 30_000 }, (req, res) => {
    req.on("error", () => res.destroy());
    res.on("error", () => req.destroy());
    authorize(req, false).then((plan) => {
      const headers = /** @type {Record<string, string>} */ ({});
      let data;
      if (plan.body !== undefined) { data = JSON.stringify(plan.body); headers["content-type"] = "application/json"; headers["content-length"] = String(Buffer.byteLength(data)); }
      if (plan.stream) {
        headers["content-type"] = "application/x-tar";
        const cl = req.headers["content-length"];
        if (cl !== undefined) headers["content-length"] = cl;
      }
      const up = upstreamRequest(req.method ?? "GET", plan.path, headers);
      up.on("error", (e) => fail(res, new Refused(502, `daemon: ${e.message}`)));
      res.on("close", () => up.destroy());
      up.on("response", (ures) => {
        ures.on("error", () => res.destroy());
        if (plan.filter || plan.onCreated) {
          const chunks = /** @type {Buffer[]} */ ([]);
          let size = 0;
          ures.on("data", (c) => { size += c.length; if (size > MAX_BUFFERED_RESPONSE) { ures.destroy(); res.destroy(); } else chunks.push(c); });
          ures.on("end", () => {
            let out = /** @type {Buffer} */ (Buffer.concat(chunks));
            try {
              if (ures.statusCode === 200 && plan.filter) out = plan.filter(out);
              if (ures.statusCode === 201 && plan.onCreated) plan.onCreated(out);
            } catch { fail(res, new Refused(502, "daemon answered something unexpected")); return; }
            res.writeHead(ures.statusCode ?? 502, { "content-type": ures.headers["content-type"] ?? "application/json", "content-length": String(out.length) });
            res.end(out);
          });
          return;
        }
        const out = { ...ures.headers };
        delete out["connection"]; delete out["keep-alive"];
        res.writeHead(ures.statusCode ?? 502, out);
        res.flushHeaders();
        ures.pipe(res);
      });
      if (plan.stream) req.pipe(up); else up.end(data);
    }).catch((err) => fail(res, err));
  });

  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    socket.pause();
    const deny = (/** @type {unknown} */ err) => {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`socket-proxy[${inst.name}]: refused upgrade: ${message}\n`);
      const body = JSON.stringify({ message: `socket-proxy: ${message}` });
      socket.end(`HTTP/1.1 ${err instanceof Refused ? err.status : 502} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    };
    authorize(req, true).then(async (plan) => {
      const declared = Number(req.headers["content-length"] ?? 0);
      if (req.headers["transfer-encoding"] !== undefined || !Number.isSafeInteger(declared) || declared < 0 || declared > MAX_JSON_BODY) refuse("an upgrade request needs a small Content-Length body");
      const raw = await readUpgradeBody(socket, head, declared);
      let body = "";
      if (plan.exec) body = JSON.stringify(execStart(parseJson(raw), "") ?? {});
      else requireNoBody(raw);
      const up = net.createConnection(policy.upstreamSocket);
      up.on("error", () => socket.destroy());
      socket.on("close", () => up.destroy());
      up.on("close", () => socket.destroy());
      const lines = [`${req.method} ${plan.path} HTTP/1.1`, "Host: docker", "Connection: Upgrade", "Upgrade: tcp"];
      if (body) lines.push("Content-Type: application/json", `Content-Length: ${Buffer.byteLength(body)}`);
      up.write(lines.join("\r\n") + "\r\n\r\n" + body);
      // Read the daemon's answer head; splice the client's bytes only after a 101.
      let reply = Buffer.alloc(0);
      const onData = (/** @type {Buffer} */ c) => {
        reply = Buffer.concat([reply, c]);
        if (reply.indexOf("\r\n\r\n") === -1) { if (reply.length > MAX_UPGRADE_HEAD) { up.destroy(); socket.destroy(); } return; }
        up.off("data", onData);
        socket.write(reply);
        up.pipe(socket);
        if (/^HTTP\/1\.[01] 101 /.test(reply.toString("latin1", 0, 16))) { socket.pipe(up); socket.resume(); }
      };
      up.on("data", onData);
    }).catch(deny);
  });

  server.on("clientError", (err, socket) => {
    const status = /** @type {{code?: string}} */ (err).code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : "400 Bad Request";
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    else socket.destroy();
  });
  // With the limits above: at most 32 x (256 KiB body + 1 MiB buffered answer) held per listener.
  server.maxConnections = 32;
  return server;
}

/** @param {Policy} policy */
function start(policy) {
  return policy.instances.map((inst) => {
    const server = createListener(policy, inst);
    fs.mkdirSync(path.dirname(inst.listen), { recursive: true, mode: 0o755 });
    try { fs.unlinkSync(inst.listen); } catch { /* no stale socket */ }
    server.listen(inst.listen, () => {
      // Only this instance's gateway has the socket's directory mounted: the directory is the access control.
      fs.chmodSync(inst.listen, 0o666);
      process.stderr.write(`socket-proxy[${inst.name}]: listening on ${inst.listen}\n`);
    });
    return server;
  });
}

if (require.main === module) {
  const policyFile = process.argv[2];
  if (!policyFile) { process.stderr.write("usage: server.js POLICY.json\n"); process.exit(2); }
  start(JSON.parse(fs.readFileSync(policyFile, "utf8")));
}

module.exports = { start, checkCreate, matchRoute };
