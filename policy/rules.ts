/**
 * The stack invariants as plain functions over one resource's inputs. The
 * policy pack (./index.ts) hands them to the Pulumi engine; policy/check.ts
 * runs the same functions over an offline render's resources.json; tests call
 * them directly. A rule returns the problems it found, each a sentence.
 *
 * Roles come from the `openclaw.role` label every workload carries
 * (infra/workload.ts callers): `socket-proxy` may mount the Docker socket,
 * `ingress` may publish 80/443.
 */
import { posix } from "node:path";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { imagePinProblem } from "../infra/images";
import { SECRET_PLACEHOLDER } from "../render/offlineRender";
import { looksLikeSecretName } from "../infra/secrets";

/** One resource as a policy sees it: its inputs and the provider it is registered with. */
export interface CheckedResource {
  type: string;
  urn: string;
  name: string;
  props: Record<string, any>;
  /** URN of the resource's provider; undefined when none was given (the engine's default provider). */
  provider?: string;
}

export interface Rule {
  /** The policy name the engine reports. */
  name: string;
  description: string;
  remediation: string;
  check(resource: CheckedResource): string[];
}

export interface Violation {
  policy: string;
  urn: string;
  message: string;
}

const CONTAINER = "docker:index/container:Container";
const SERVICE = "docker:index/service:Service";
const NETWORK = "docker:index/network:Network";
const COMMAND_TYPES = ["command:remote:Command", "command:local:Command"];

const ROLE_LABEL = "openclaw.role";
const SOCKET_PATHS = ["/var/run/docker.sock", "/run/docker.sock"];
const INGRESS_PORTS = [80, 443];
/** Docker API (plain, TLS) and Swarm management: never reachable from the internet. */
const DOCKER_API_PORTS = [2375, 2376, 2377];

/** A value the engine does not know yet (a preview before create): nothing to judge. */
const isUnknown = (value: unknown) => value === unknownValue;
const isWorkload = (r: CheckedResource) => r.type === CONTAINER || r.type === SERVICE;
const containerSpec = (r: CheckedResource): Record<string, any> => r.props["taskSpec"]?.["containerSpec"] ?? {};
const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);

function labels(r: CheckedResource): Record<string, string> {
  const pairs = [...list<{ label: string; value: string }>(r.props["labels"]), ...list<{ label: string; value: string }>(containerSpec(r)["labels"])];
  return Object.fromEntries(pairs.map((p) => [p.label, p.value]));
}
const role = (r: CheckedResource) => labels(r)[ROLE_LABEL];

/** Host paths bound into a workload, with their read-only flag. */
function binds(r: CheckedResource): { hostPath: string; readOnly: boolean }[] {
  if (r.type === CONTAINER) {
    return list<{ hostPath?: string; readOnly?: boolean }>(r.props["volumes"])
      .filter((v) => typeof v.hostPath === "string")
      .map((v) => ({ hostPath: v.hostPath!, readOnly: v.readOnly === true }));
  }
  return list<{ type?: string; source?: string; readOnly?: boolean }>(containerSpec(r)["mounts"])
    .filter((m) => m.type === "bind" && typeof m.source === "string")
    .map((m) => ({ hostPath: m.source!, readOnly: m.readOnly === true }));
}

/** True when binding `hostPath` puts the Docker socket in the container (the socket or a directory above it). */
export function exposesDockerSocket(hostPath: string): boolean {
  const path = posix.normalize(hostPath).replace(/(.)\/$/, "$1");
  return path.endsWith("/docker.sock") || SOCKET_PATHS.some((socket) => path === "/" || socket.startsWith(`${path}/`));
}

/** Secret formats worth recognising on sight: provider keys, bot tokens, private keys, credentials in URLs. */
const SECRET_VALUE_PATTERNS = [
  /\bsk-[A-Za-z0-9_-]{16,}/, // OpenAI / Anthropic style API keys
  /\btskey-[A-Za-z0-9-]{10,}/, // Tailscale auth keys
  /\b(?:ghp|gho|ghs|github_pat)_[A-Za-z0-9_]{20,}/,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/,
  /\bAKIA[0-9A-Z]{16}\b/,
  /\b\d{6,}:[A-Za-z0-9_-]{30,}\b/, // Telegram bot tokens
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i, // scheme://user:password@host
];

export function looksLikeSecretValue(value: string): boolean {
  return value === SECRET_PLACEHOLDER || SECRET_VALUE_PATTERNS.some((p) => p.test(value));
}

/** Environment entries of a workload as [name, value]. */
function environment(r: CheckedResource): [string, unknown][] {
  if (r.type === CONTAINER) {
    return list<unknown>(r.props["envs"]).map((e) => {
      const text = String(e);
      const eq = text.indexOf("=");
      return eq < 0 ? [text, ""] : [text.slice(0, eq), text.slice(eq + 1)];
    });
  }
  return Object.entries(containerSpec(r)["env"] ?? {});
}

/**
 * Secrets written into a shell command line (visible in `ps`, shell history
 * and Pulumi state): `NAME=literal` with a secret-looking NAME, `--token x`
 * style flags with a literal, or a value that looks like a secret. References
 * (`$VAR`, `$(cat file)`) and paths (`*_FILE=/path`) are fine.
 */
export function commandLineSecretProblems(line: string): string[] {
  const problems: string[] = [];
  if (line === SECRET_PLACEHOLDER) return ["the command line interpolates a secret; pass it on stdin"];
  // A variable, a path, or a file: reference (tailscale --auth-key=file:PATH) names where the secret is, not the secret.
  const literal = (v: string) => v !== "" && !/^["']?(?:[$/]|file:)/.test(v) && !/^["']{2}$/.test(v);
  for (const m of line.matchAll(/(?:^|[\s;&|(])(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=([^\s;&|)]*)/g)) {
    const [, name = "", value = ""] = m;
    if (looksLikeSecretName(name) && !name.endsWith("_FILE") && literal(value)) problems.push(`${name}= is set to a literal on the command line`);
  }
  for (const m of line.matchAll(/--(password|passwd|token|secret|api-key|apikey|auth-?key)(?:=|\s+)([^\s;&|)]+)/gi)) {
    if (literal(m[2] ?? "")) problems.push(`--${m[1]} is given a literal on the command line`);
  }
  if (SECRET_VALUE_PATTERNS.some((p) => p.test(line))) problems.push("the command line contains a value formatted like a secret");
  return problems;
}

/** Ports a ufw/iptables port spec covers, limited to the Docker API ports. */
function dockerApiPortsIn(spec: string): number[] {
  return DOCKER_API_PORTS.filter((port) => spec.split(",").some((part) => {
    const [low = "", high = low] = part.replace(/\/\w+$/, "").split(":");
    return Number(low) <= port && port <= Number(high);
  }));
}

const WORLD = new Set(["any", "0.0.0.0/0", "::/0"]);

/**
 * Firewall rules in a script that admit the Docker API ports from anywhere:
 * ufw `allow`/`limit` rules with no source address (or `any`) and no
 * interface, and iptables ACCEPT rules with neither `-s` nor `-i`.
 */
export function worldOpenDockerPorts(script: string): string[] {
  const problems: string[] = [];
  for (const raw of script.split("\n")) {
    const line = raw.trim();
    const ufw = /\bufw\s+(?:--force\s+)?(?:route\s+)?(?:allow|limit)\b(?!\s+out\b)(.*)$/.exec(line);
    if (ufw) {
      const rest = ufw[1] ?? "";
      const from = /\bfrom\s+(\S+)/.exec(rest)?.[1];
      if ((from !== undefined && !WORLD.has(from)) || /\bin\s+on\s+\S+/.test(rest)) continue;
      const spec = /\bport\s+(\S+)/.exec(rest)?.[1] ?? /^\s*(?:in\s+)?(\d[\d,:]*(?:\/\w+)?)\s*$/.exec(rest)?.[1];
      const ports = spec === undefined ? DOCKER_API_PORTS : dockerApiPortsIn(spec);
      if (ports.length > 0) problems.push(`"${line}" opens ${ports.join(",")} to the world`);
      continue;
    }
    if (/\biptables\b|^-A\s/.test(line) && /-j\s+ACCEPT\b/.test(line) && !/\s-s\s|\s-i\s/.test(` ${line} `)) {
      const spec = /--dports?\s+(\S+)/.exec(line)?.[1];
      const ports = spec === undefined ? [] : dockerApiPortsIn(spec);
      if (ports.length > 0) problems.push(`"${line}" opens ${ports.join(",")} to the world`);
    }
  }
  return problems;
}

const commandTexts = (r: CheckedResource): string[] =>
  COMMAND_TYPES.includes(r.type) ? ["create", "update", "delete"].map((k) => r.props[k]).filter((v): v is string => typeof v === "string" && !isUnknown(v)) : [];

export const RULES: Rule[] = [
  {
    name: "docker-socket-proxy-only",
    description: "Only the socket proxy mounts the Docker socket, and only read-only.",
    remediation: "Give the workload DOCKER_HOST=tcp://openclaw-docker-proxy:2375 instead of the socket; only the workload labelled openclaw.role=socket-proxy binds /var/run/docker.sock itself, with readOnly: true.",
    check(r) {
      if (!isWorkload(r)) return [];
      const proxy = role(r) === "socket-proxy";
      return binds(r).filter((b) => exposesDockerSocket(b.hostPath)).flatMap((b) => {
        if (!proxy) return [`mounts ${b.hostPath}, which exposes the Docker socket, but is not the socket proxy`];
        if (!SOCKET_PATHS.includes(posix.normalize(b.hostPath))) return [`the socket proxy mounts ${b.hostPath} instead of the socket itself`];
        return b.readOnly ? [] : [`the socket proxy mounts ${b.hostPath} read-write`];
      });
    },
  },
  {
    name: "workload-memory-limit",
    description: "Every container and service has a memory limit.",
    remediation: "Set memoryMb in the workload's spec (docker.Container memory, Service taskSpec.resources.limits.memoryBytes).",
    check(r) {
      if (r.type === CONTAINER) return Number(r.props["memory"]) > 0 ? [] : ["has no memory limit"];
      if (r.type === SERVICE) return Number(r.props["taskSpec"]?.["resources"]?.["limits"]?.["memoryBytes"]) > 0 ? [] : ["has no memory limit"];
      return [];
    },
  },
  {
    name: "workload-healthcheck",
    description: "Every container and service has a healthcheck.",
    remediation: "Give the workload a healthcheck (infra/workload.ts Healthcheck; nodeHttpHealthcheck for Node images).",
    check(r) {
      if (!isWorkload(r)) return [];
      const tests = list<string>((r.type === CONTAINER ? r.props : containerSpec(r))["healthcheck"]?.["tests"]);
      return tests.length > 0 && tests[0] !== "NONE" ? [] : ["has no healthcheck"];
    },
  },
  {
    name: "workload-restart-policy",
    description: "Every container restarts on failure with a retry cap (CIS 5.15); every service has a restart condition.",
    remediation: "Containers: restart \"on-failure\" with maxRetryCount > 0 (a crash loop stops and the watchdog alerts). Services: taskSpec.restartPolicy.condition \"on-failure\" or \"any\".",
    check(r) {
      if (r.type === CONTAINER) {
        return r.props["restart"] === "on-failure" && Number(r.props["maxRetryCount"]) > 0 ? [] : [`restart is ${JSON.stringify(r.props["restart"] ?? "no")} with maxRetryCount ${r.props["maxRetryCount"] ?? 0}`];
      }
      if (r.type === SERVICE) {
        const condition = r.props["taskSpec"]?.["restartPolicy"]?.["condition"];
        return ["on-failure", "any"].includes(condition) ? [] : [`restart condition is ${JSON.stringify(condition ?? "unset")}`];
      }
      return [];
    },
  },
  {
    name: "workload-no-new-privileges",
    description: "Containers run with no-new-privileges; every daemon.json the stack writes makes it the daemon default (which also covers Swarm services, whose provider has no such field).",
    remediation: "Containers: securityOpts [\"no-new-privileges:true\"]. daemon.json: \"no-new-privileges\": true (components/hostBaseline.ts renderDaemonJson).",
    check(r) {
      if (r.type === CONTAINER) {
        const opts = list<string>(r.props["securityOpts"]);
        return opts.some((o) => /^no-new-privileges(:true)?$/.test(o)) && !opts.includes("no-new-privileges:false") ? [] : ["runs without no-new-privileges"];
      }
      const stdin = r.props["stdin"];
      if (!commandTexts(r).some((t) => t.includes("/etc/docker/daemon.json")) || typeof stdin !== "string") return [];
      let daemon: unknown;
      try {
        daemon = JSON.parse(stdin);
      } catch {
        return [];
      }
      return (daemon as Record<string, unknown>)["no-new-privileges"] === true ? [] : ["writes a daemon.json without \"no-new-privileges\": true"];
    },
  },
  {
    name: "workload-drop-capabilities",
    description: "Every container and service drops all capabilities (adding back only what it needs) and is never privileged.",
    remediation: "Containers: capabilities { drops: [\"ALL\"] }, privileged false. Services: containerSpec.capDrops [\"ALL\"]. Add back single capabilities with capAdd.",
    check(r) {
      if (r.type === CONTAINER) {
        const problems = list<string>(r.props["capabilities"]?.["drops"]).includes("ALL") ? [] : ["does not drop ALL capabilities"];
        return r.props["privileged"] === true ? [...problems, "is privileged"] : problems;
      }
      if (r.type === SERVICE) return list<string>(containerSpec(r)["capDrops"]).includes("ALL") ? [] : ["does not drop ALL capabilities"];
      return [];
    },
  },
  {
    name: "workload-pinned-image",
    description: "Every container and service runs a pinned image: a release tag, or a digest.",
    remediation: "Pin the image in openclaw:images.<role> with a versioned tag and, for a reviewed deploy, its digest (name:1.2.3@sha256:...).",
    check(r) {
      if (!isWorkload(r)) return [];
      const image = r.type === CONTAINER ? r.props["image"] : containerSpec(r)["image"];
      if (isUnknown(image)) return [];
      const problem = typeof image === "string" ? imagePinProblem(image) : "has no image";
      return problem === undefined ? [] : [problem];
    },
  },
  {
    name: "workload-env-no-secrets",
    description: "No container or service environment holds a secret (the Docker API and `docker inspect` show env).",
    remediation: "Deliver the value as a secret file (WorkloadFile { secret: true }) and point the program at it (e.g. *_FILE).",
    check(r) {
      if (!isWorkload(r)) return [];
      return environment(r).flatMap(([name, value]) => {
        if (looksLikeSecretName(name) && !name.endsWith("_FILE")) return [`env ${name} looks like a secret`];
        return typeof value === "string" && !isUnknown(value) && looksLikeSecretValue(value) ? [`env ${name} holds a secret-looking value`] : [];
      });
    },
  },
  {
    name: "published-ports-ingress-only",
    description: "Only the ingress publishes ports, and only 80/443; no workload uses the host's network.",
    remediation: "Reach the workload through the ingress (Caddy route or tunnel) over a Docker network; remove ports/networkMode host. Only the workload labelled openclaw.role=ingress publishes 80 and 443.",
    check(r) {
      if (!isWorkload(r)) return [];
      const published = r.type === CONTAINER
        ? list<{ external?: number; internal: number }>(r.props["ports"]).map((p) => p.external ?? p.internal)
        : list<{ publishedPort?: number; targetPort: number }>(r.props["endpointSpec"]?.["ports"]).map((p) => p.publishedPort ?? p.targetPort);
      const problems = r.props["networkMode"] === "host" ? ["uses the host's network, which publishes every port it listens on"] : [];
      if (published.length === 0) return problems;
      if (role(r) !== "ingress") return [...problems, `publishes ${published.join(",")} but is not the ingress`];
      const other = published.filter((p) => !INGRESS_PORTS.includes(p));
      return other.length > 0 ? [...problems, `the ingress publishes ${other.join(",")} (only ${INGRESS_PORTS.join(",")})`] : problems;
    },
  },
  {
    name: "docker-explicit-provider",
    description: "Every Docker resource names its host's provider; none falls back to the default provider (the DOCKER_HOST of whoever runs pulumi).",
    remediation: "Pass { provider: host.docker } (infra/hosts.ts connectHost) and keep pulumi:disable-default-providers [docker] in Pulumi.yaml.",
    check(r) {
      if (!r.type.startsWith("docker:")) return [];
      const providerName = r.provider?.split("::").pop();
      return providerName === undefined || providerName.startsWith("default") ? ["uses the default Docker provider"] : [];
    },
  },
  {
    name: "swarm-overlay-encrypted",
    description: "Swarm overlay networks are encrypted and not attachable.",
    remediation: "Create overlays with options { encrypted: \"true\" } and attachable false, so traffic between nodes is IPsec-protected and no standalone container can join.",
    check(r) {
      if (r.type !== NETWORK || r.props["driver"] !== "overlay") return [];
      const options = (r.props["options"] ?? {}) as Record<string, string>;
      const problems = "encrypted" in options && options["encrypted"] !== "false" ? [] : ["is an overlay without encryption"];
      return r.props["attachable"] === true ? [...problems, "is an attachable overlay"] : problems;
    },
  },
  {
    name: "remote-command-no-secrets",
    description: "Commands never carry a secret in their command line (ps, shell history, state); secrets travel on stdin.",
    remediation: "Move the secret to stdin (a secret Output) and read it there; set logging \"none\" and additionalSecretOutputs [\"stdout\",\"stderr\"] when output may carry it (infra/remoteFile.ts).",
    check(r) {
      return commandTexts(r).flatMap(commandLineSecretProblems);
    },
  },
  {
    name: "firewall-no-docker-api-ports",
    description: "No firewall rule opens the Docker API or Swarm management ports (2375, 2376, 2377) to the world.",
    remediation: "Admit 2377 only from the swarm peers (FirewallRules swarmPeers); never open 2375/2376: the Docker API is reached over SSH.",
    check(r) {
      if (!COMMAND_TYPES.includes(r.type)) return [];
      const stdin = typeof r.props["stdin"] === "string" && !isUnknown(r.props["stdin"]) ? [r.props["stdin"] as string] : [];
      return [...commandTexts(r), ...stdin].flatMap(worldOpenDockerPorts);
    },
  },
];

/** The message the engine shows: the problem, the resource's URN and the fix. */
export function violationMessage(rule: Rule, urn: string, problem: string): string {
  return `${problem}\n  resource: ${urn}\n  remediation: ${rule.remediation}`;
}

export function checkResources(resources: CheckedResource[], rules: Rule[] = RULES): Violation[] {
  return resources.flatMap((r) => rules.flatMap((rule) => rule.check(r).map((problem) => ({ policy: rule.name, urn: r.urn, message: violationMessage(rule, r.urn, problem) }))));
}

/** An entry of the offline render's resources.json. */
export interface RenderedResourceEntry {
  type: string;
  name: string;
  urn: string;
  custom: boolean;
  inputs: Record<string, any>;
  provider?: string | null;
}

/** The render's resources as the engine would hand them to the policies (custom resources only). */
export function fromRender(entries: RenderedResourceEntry[]): CheckedResource[] {
  return entries.filter((e) => e.custom).map((e) => ({ type: e.type, urn: e.urn, name: e.name, props: e.inputs, provider: e.provider ?? undefined }));
}
