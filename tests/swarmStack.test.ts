/**
 * The swarm-nyc stack through the offline render (`npm run render`), for the
 * committed stack (CapRover ingress, adopt), a Cloudflare Tunnel variant and
 * the failover variant (trustedNode: sfo). Asserts the properties the issue
 * names on the provider inputs; the rendered squid.conf and openclaw.json go
 * through the real tools; known plaintext secrets appear nowhere.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { TRUSTED_CONSTRAINT } from "../components/swarmCluster";
import { imagePinProblem } from "../infra/images";
import { looksLikeSecretName } from "../infra/secrets";
import { checkOpenclawConfig, describeFindings } from "./support/openclaw";
import { RenderedResourceJson, RenderRun, runRender, writeStackFile } from "./support/render";
import { findTool, missingTools, OTELCOL_VERSION, PROJECT_ROOT, run as runTool } from "./support/tools";

const KNOWN = { anthropic: "sk-ant-KNOWN-PLAINTEXT-swarm-7f3e", telegram: "7003:KNOWN-PLAINTEXT-swarm-telegram" };

/** The committed swarm-nyc config with overrides (keys without the namespace), secrets as known plaintext. */
function swarmConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base = (parseYaml(readFileSync(join(PROJECT_ROOT, "Pulumi.swarm-nyc.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
  const merged: Record<string, unknown> = { ...base, "openclaw:providerApiKeys": { anthropic: KNOWN.anthropic }, "openclaw:channelTokens": { primary: KNOWN.telegram } };
  for (const [key, value] of Object.entries(overrides)) merged[`openclaw:${key}`] = value;
  return merged;
}

function withoutLitellm(config: Record<string, unknown>): Record<string, unknown> {
  const { "openclaw:litellm": _litellm, ...rest } = config;
  return rest;
}

/** Seed 001's collector exports here, through the egress proxy only. */
const OTLP_BACKEND = "https://otlp.backend.example.net/otlp";
const TUNNEL = { mode: "cloudflare-tunnel", cloudflareAccountId: "fedcba9876543210fedcba9876543210" };
const VARIANTS: Record<string, Record<string, unknown>> = {
  caprover: swarmConfig(),
  tunnel: swarmConfig({ ingress: TUNNEL }),
  failover: swarmConfig({ trustedNode: "sfo", standbyNode: "nyc" }),
  otel: swarmConfig({ otel: { exporterEndpoint: OTLP_BACKEND } }),
  // The seeds' swarm: no LiteLLM, the gateway calls the provider itself (openclaw:models).
  direct: withoutLitellm(swarmConfig({ models: [{ provider: "anthropic", model: "claude-opus-4-6" }, { provider: "anthropic", model: "claude-sonnet-4-5-20250929" }] })),
};
const ADDRESS: Record<string, string> = { nyc: "10.0.0.10", sfo: "10.0.0.11", ams: "10.0.0.12", fra: "10.0.0.13" };

const ofType = (run: RenderRun, type: string) => run.resources.filter((r) => r.type === `docker:index/${type}`);
const byName = (run: RenderRun, name: string): RenderedResourceJson => {
  const found = run.resources.find((r) => r.name === name);
  if (!found) throw new Error(`no resource ${name}`);
  return found;
};
function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? allFiles(path) : [path];
  });
}

const runs: Record<string, RenderRun> = {};
function renderOf(variant: string): RenderRun {
  runs[variant] ??= runRender(["--stack", `swarm-${variant}`, "--config", writeStackFile(VARIANTS[variant]!)]);
  assert.equal(runs[variant]!.status, 0, runs[variant]!.stderr);
  return runs[variant]!;
}

for (const variant of Object.keys(VARIANTS)) {
  describe(`swarm render: ${variant}`, () => {
    let run: RenderRun;
    before(() => { run = renderOf(variant); });

    test("every service: pinned to the trusted label, limits and reservations, capped restarts, healthcheck, rollback, pinned image", () => {
      const services = ofType(run, "service:Service");
      assert.equal(services.length, variant === "tunnel" || variant === "otel" ? 5 : variant === "direct" ? 3 : 4);
      for (const s of services) {
        const task = s.inputs["taskSpec"];
        assert.deepEqual(task["placement"], { constraints: [TRUSTED_CONSTRAINT], maxReplicas: 1 }, s.name);
        assert.ok(task["resources"]["limits"]["memoryBytes"] > 0 && task["resources"]["limits"]["nanoCpus"] > 0, s.name);
        assert.equal(task["resources"]["reservation"]["memoryBytes"], task["resources"]["limits"]["memoryBytes"], s.name);
        assert.deepEqual(task["restartPolicy"], { condition: "on-failure", maxAttempts: 5, delay: "10s", window: "120s" }, s.name);
        // The collector's published image has nothing inside that could probe it (components/otelCollector.ts).
        if (s.inputs["name"] === "openclaw-otel-collector") assert.deepEqual(task["containerSpec"]["healthcheck"]["tests"], ["NONE"]);
        else assert.ok(task["containerSpec"]["healthcheck"]["tests"].length > 1, `${s.name} healthcheck`);
        assert.equal(s.inputs["updateConfig"]["failureAction"], "rollback", s.name);
        assert.equal(s.inputs["updateConfig"]["order"], "stop-first", s.name);
        assert.ok(s.inputs["rollbackConfig"], s.name);
        assert.ok(s.inputs["convergeConfig"]["timeout"], `${s.name}: pulumi up must report a task that cannot be placed`);
        assert.equal(imagePinProblem(task["containerSpec"]["image"]), undefined, s.name);
        assert.deepEqual(task["containerSpec"]["capDrops"], ["ALL"], s.name);
      }
    });

    test("each gateway keeps one hostname across tasks (OpenClaw reclaims a dead owner's state lease only on the same hostname)", () => {
      for (const s of ofType(run, "service:Service").filter((x) => x.inputs["taskSpec"]["containerSpec"]["labels"]?.some((l: { value: string }) => l.value === "gateway"))) {
        assert.equal(s.inputs["taskSpec"]["containerSpec"]["hostname"], s.inputs["name"], s.name);
      }
    });

    test("no service's environment holds a secret", () => {
      for (const s of ofType(run, "service:Service")) {
        const env = (s.inputs["taskSpec"]["containerSpec"]["env"] ?? {}) as Record<string, string>;
        for (const [key, value] of Object.entries(env)) {
          assert.equal(looksLikeSecretName(key), false, `${s.name}: ${key}`);
          assert.notEqual(value, "[secret]", `${s.name}: ${key}`);
        }
      }
    });

    test("Swarm configs and secrets carry a content hash in their names", () => {
      const objects = [...ofType(run, "serviceConfig:ServiceConfig"), ...ofType(run, "secret:Secret")];
      // Each service's configs and secrets (LiteLLM alone brings three).
      assert.ok(objects.length >= (variant === "direct" ? 8 : 10), String(objects.length));
      for (const o of objects) {
        assert.match(String(o.inputs["name"]), /-[0-9a-f]{12}$/, o.name);
        // The daemon's own rule (a longer name was refused on a real swarm: tests/swarm.failover.test.ts).
        assert.match(String(o.inputs["name"]), /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}[a-zA-Z0-9]$/, o.name);
      }
      assert.equal(new Set(objects.map((o) => o.inputs["name"])).size, objects.length, "names are unique");
    });

    test("overlays: encrypted, not attachable; CapRover's overlay only attached, and only to gateways behind its nginx", () => {
      const networks = ofType(run, "network:Network");
      assert.deepEqual(networks.map((n) => n.inputs["name"]).sort(), variant === "tunnel" ? ["openclaw-egress-net", "openclaw-net", "openclaw-proxy-net"] : ["openclaw-egress-net", "openclaw-net"]);
      for (const n of networks) {
        assert.equal(n.inputs["driver"], "overlay");
        assert.equal(n.inputs["attachable"], false, n.name);
        assert.deepEqual(n.inputs["options"], { encrypted: "true" }, n.name);
      }
      assert.equal(networks.find((n) => n.inputs["name"] === "openclaw-net")!.inputs["internal"], true);
      for (const s of ofType(run, "service:Service")) {
        const attached = (s.inputs["taskSpec"]["networksAdvanceds"] as { name: string }[]).map((n) => n.name);
        const gateway = s.inputs["name"] === "openclaw-primary";
        assert.equal(attached.includes("captain-overlay-network"), gateway && variant !== "tunnel", `${s.name}: ${attached.join(", ")}`);
      }
    });

    test("swarm objects go through the trusted node's daemon; every host has its own provider", () => {
      const providers = run.resources.filter((r) => r.type === "pulumi:providers:docker");
      assert.deepEqual(providers.map((p) => p.name).sort(), ["ams-docker", "fra-docker", "nyc-docker", "sfo-docker", "swarm-api-docker"]);
      const trusted = variant === "failover" ? "sfo" : "nyc";
      assert.equal(byName(run, "swarm-api-docker").inputs["host"], `ssh://deploy@${ADDRESS[trusted]}:9922`);
    });

    test("the label table puts openclaw.trusted on the trusted node only", () => {
      const reconcile = String(byName(run, "swarm-nodes").inputs["create"]);
      const trusted = variant === "failover" ? "sfo" : "nyc";
      const table = /readonly NODES='([^']*)'/.exec(reconcile.replace(/'\\''/g, "'"))![1]!.split("\n");
      assert.equal(table.length, 4);
      for (const row of table) {
        const [address, , labels] = row.split("|");
        assert.equal(labels!.includes("openclaw.trusted=true"), address === ADDRESS[trusted], row);
      }
    });

    test("firewall per node: peers only on Swarm ports and ESP, NFS only from its clients, web only where the label can be", () => {
      const script = (node: string) => run.files.filter((f) => f.target === node && f.path === "/usr/local/sbin/openclaw-firewall")
        .map((f) => readFileSync(join(run.dir, f.file), "utf8"))[0]!;
      for (const node of Object.keys(ADDRESS)) {
        const rules = script(node);
        for (const [peer, address] of Object.entries(ADDRESS)) {
          assert.equal(rules.includes(`ufw allow from ${address} to any port 2377,7946 proto tcp`), peer !== node, `${node} <- ${peer}`);
          assert.equal(rules.includes(`ufw allow from ${address} proto esp`), peer !== node, `${node} ESP <- ${peer}`);
          assert.equal(rules.includes(`ufw allow from ${address} to any port 2049 proto tcp`), node === "nyc" && (peer === "sfo" || peer === "ams"), `${node} NFS <- ${peer}`);
        }
        const web = variant !== "tunnel" && (node === "nyc" || node === "sfo");
        assert.equal(rules.includes("to any port 80,443 proto tcp"), web, `${node} web`);
      }
    });

    test("NFS: exported to exactly the manager clients with the stated reason; mounted on those clients only", () => {
      const exports = run.fileContent("/etc/exports.d/openclaw.exports");
      assert.match(exports, /^\/captain\/data 10\.0\.0\.11\(rw,sync,secure,no_subtree_check,sec=sys,no_root_squash\) 10\.0\.0\.12\(rw,sync,secure,no_subtree_check,sec=sys,no_root_squash\)$/m);
      assert.match(exports, /^# no_root_squash: CapRover's captain container runs as root/m);
      const mounts = run.resources.filter((r) => r.name.startsWith("captain-data-mount-")).map((r) => r.name).sort();
      assert.deepEqual(mounts, ["captain-data-mount-ams", "captain-data-mount-sfo"]);
    });

    test("the socket proxy knows each gateway as a Swarm service (its task containers are not named after it)", () => {
      const policy = JSON.parse(run.fileContent("/etc/socket-proxy/policy.json")) as { instances: Record<string, unknown>[] };
      assert.deepEqual(policy.instances.map((i) => [i["gatewayService"], i["gatewayContainer"]]), [["openclaw-primary", null]]);
    });

    test("daemon.json on every node is swarm-safe (no live-restore)", () => {
      const files = run.files.filter((f) => f.path === "/etc/docker/daemon.json");
      assert.equal(files.length, 4);
      for (const f of files) assert.equal("live-restore" in JSON.parse(readFileSync(join(run.dir, f.file), "utf8")), false, f.target);
    });

    test("join tokens only on stdin as secrets; no token, unlock key or known plaintext anywhere in the render", () => {
      for (const join of run.resources.filter((r) => r.name.startsWith("swarm-join-"))) assert.equal(join.inputs["stdin"], "[secret]", join.name);
      assert.equal(byName(run, "swarm-credentials").inputs["logging"], "none");
      assert.equal(run.outputs["swarmUnlockKey"], "[secret]");
      for (const file of allFiles(run.dir)) {
        const text = readFileSync(file, "utf8");
        for (const needle of [...Object.values(KNOWN), "SWMTKN-1-0", "SWMKEY-1-", "mock-"]) assert.equal(text.includes(needle), false, `${needle} in ${file}`);
      }
    });

    test("outputs: nodes with roles, trusted node, services, networks, gateway URL", () => {
      assert.deepEqual(run.outputs["nodeRoles"], { nyc: "manager", sfo: "manager", ams: "manager", fra: "worker" });
      assert.equal(run.outputs["trustedNode"], variant === "failover" ? "sfo" : "nyc");
      const services = run.outputs["serviceNames"] as string[];
      assert.ok(services.includes("openclaw-primary") && services.includes("openclaw-egress"));
      assert.deepEqual(run.outputs["gatewayUrls"], ["https://openclaw.example.com"]);
    });

    test("the rendered squid.conf parses with no ERROR or WARNING", { skip: missingTools("squid -k parse on the swarm render", ["squid"]) }, () => {
      const file = join(mkdtempSync(join(tmpdir(), "squidconf-")), "squid.conf");
      writeFileSync(file, run.fileContent("/etc/squid/squid.conf"));
      const parse = runTool(findTool("squid")!, ["-k", "parse", "-f", file]);
      assert.equal(parse.status, 0, parse.stderr);
      assert.doesNotMatch(parse.stdout + parse.stderr, /ERROR|WARNING|FATAL/);
      assert.match(readFileSync(file, "utf8"), /^acl localnet src 10\.20\.0\.0\/24$/m);
    });

    test("the rendered openclaw.json passes the real OpenClaw CLI: valid, audit 0 critical 0 warn", { skip: missingTools("openclaw oracle on the swarm render", ["node24", "openclaw"]) }, async () => {
      const config = run.fileContent("/etc/openclaw/openclaw.json");
      assert.deepEqual(JSON.parse(config).gateway.trustedProxies, [variant === "tunnel" ? "10.20.2.0/24" : "10.0.1.0/24"]);
      const result = await checkOpenclawConfig(config, String(run.outputs["openclawVersion"]));
      assert.equal(result.valid, true, result.validateOutput);
      assert.deepEqual([result.summary?.critical, result.summary?.warn], [0, 0], describeFindings(result));
      // The one warning allowed: the exporter plugin, which the gateway image must carry, is not in the oracle's install.
      const warnings = (JSON.parse(/\{[\s\S]*\}/.exec(result.validateOutput)![0]) as { warnings: { path: string }[] }).warnings.map((w) => w.path);
      assert.deepEqual(warnings, variant === "otel" ? ["plugins.entries.diagnostics-otel"] : [], result.validateOutput);
    });
  });
}

describe("the OpenTelemetry collector (seed 001)", () => {
  test("pinned beside the gateway on the internal network only, with no route of its own out", () => {
    const collector = byName(renderOf("otel"), "openclaw-otel-collector-service");
    const task = collector.inputs["taskSpec"];
    assert.deepEqual(task["placement"]["constraints"], [TRUSTED_CONSTRAINT]);
    assert.deepEqual((task["networksAdvanceds"] as { name: string }[]).map((n) => n.name), ["openclaw-net"]);
    assert.equal(task["containerSpec"]["readOnly"], true);
    assert.equal(imagePinProblem(task["containerSpec"]["image"]), undefined);
    assert.ok(renderOf("otel").outputs["serviceNames"] && (renderOf("otel").outputs["serviceNames"] as string[]).includes("openclaw-otel-collector"));
  });
  test("its exporter goes to the configured backend through the egress proxy; the allowlist gains that host only", () => {
    const run = renderOf("otel");
    const config = parseYaml(run.fileContent("/etc/otelcol-contrib/config.yaml"));
    assert.deepEqual(config.exporters, { otlphttp: { endpoint: OTLP_BACKEND, proxy_url: "http://openclaw-egress:3128" } });
    assert.equal(config.receivers.otlp.protocols.http.endpoint, "0.0.0.0:4318");
    const squid = (variant: string) => renderOf(variant).fileContent("/etc/squid/squid.conf").split("\n");
    const added = squid("otel").filter((l) => !squid("caprover").includes(l));
    assert.deepEqual(added, [
      // (api.telegram.org is there in both: the committed stack has a bot token.)
      "acl allowlist dstdomain -n .anthropic.com api.telegram.org otlp.backend.example.net",
      // OpenClaw's proxy client tunnels even http:// URLs (CONNECT), so its calls to the collector arrive here either way.
      "acl internal_host_1 dstdomain -n openclaw-otel-collector",
      "acl internal_port_1 port 4318",
      "http_access allow internal_host_1 internal_port_1",
    ]);
  });
  test("the gateway's diagnostics.otel points at the collector: traces and metrics, never content", () => {
    const oc = JSON.parse(renderOf("otel").fileContent("/etc/openclaw/openclaw.json"));
    assert.deepEqual(oc.diagnostics.otel, {
      enabled: true, endpoint: "http://openclaw-otel-collector:4318", protocol: "http/protobuf", serviceName: "openclaw-primary",
      traces: true, metrics: true, logs: false, captureContent: false,
    });
    assert.deepEqual(oc.plugins, { allow: ["telegram", "diagnostics-otel"], entries: { "diagnostics-otel": { enabled: true } } });
    assert.equal(JSON.parse(renderOf("caprover").fileContent("/etc/openclaw/openclaw.json")).diagnostics, undefined);
  });
  describe("the real collector (scripts/build-otelcol.sh) takes the rendered config", { skip: missingTools("otelcol validate on the swarm render", ["otelcol"]) }, () => {
    const validate = (config: string) => {
      const file = join(mkdtempSync(join(tmpdir(), "otelcol-")), "config.yaml");
      writeFileSync(file, config);
      return runTool(findTool("otelcol")!, ["validate", `--config=${file}`]);
    };
    const rendered = () => renderOf("otel").fileContent("/etc/otelcol-contrib/config.yaml");

    test("`otelcol validate` accepts the render's collector config", () => {
      const result = validate(rendered());
      assert.equal(result.status, 0, result.stderr);
    });
    test("and refuses one whose exporter it does not have: the check can fail", () => {
      const config = parseYaml(rendered());
      config.exporters = { otlp: config.exporters.otlphttp };
      for (const pipeline of Object.values(config.service.pipelines) as { exporters: string[] }[]) pipeline.exporters = ["otlp"];
      const result = validate(stringifyYaml(config));
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /'exporters' unknown type: "otlp"/);
    });
    test("the binary is the pinned release and holds exactly the components the render uses", () => {
      const components = parseYaml(runTool(findTool("otelcol")!, ["components"]).stdout);
      assert.equal(components.buildinfo.version, OTELCOL_VERSION);
      const config = parseYaml(rendered());
      const names = (list: { name: string }[]) => list.map((c) => c.name).sort();
      for (const kind of ["receivers", "processors", "exporters"]) assert.deepEqual(names(components[kind]), Object.keys(config[kind]).sort(), kind);
      assert.deepEqual([components.connectors, components.extensions], [[], []]);
    });
  });
  test("an endpoint the egress proxy cannot carry is refused naming the key", () => {
    for (const [endpoint, why] of [["http://otlp.example.net", /expected https/], ["https://otlp.example.net:4318", /port 443/], ["https://203.0.113.9/otlp", /DNS name/], ["https://u:p@otlp.example.net", /credentials/]] as const) {
      const run = runRender(["--stack", "otel-bad", "--config", writeStackFile(swarmConfig({ otel: { exporterEndpoint: endpoint } }))]);
      assert.notEqual(run.status, 0, endpoint);
      assert.match(run.stderr, /openclaw:otel\.exporterEndpoint: /, endpoint);
      assert.match(run.stderr, why, endpoint);
    }
  });
});

describe("without LiteLLM (the seeds' swarm has none): the gateway calls the providers itself", () => {
  test("no LiteLLM service or key; the gateway's own providers, each key a Swarm secret file; Squid admits the providers, no LiteLLM", () => {
    const run = renderOf("direct");
    assert.deepEqual((run.outputs["serviceNames"] as string[]).sort(), ["openclaw-docker-proxy", "openclaw-egress", "openclaw-primary"]);
    assert.equal(run.resources.some((r) => r.name.includes("litellm")), false);
    const oc = JSON.parse(run.fileContent("/etc/openclaw/openclaw.json"));
    assert.deepEqual(Object.keys(oc.models.providers), ["anthropic"]);
    assert.equal(oc.models.providers.anthropic.baseUrl, "https://api.anthropic.com");
    assert.deepEqual(oc.models.providers.anthropic.models.map((m: { id: string }) => m.id), ["claude-opus-4-6", "claude-sonnet-4-5-20250929"]);
    assert.deepEqual(oc.agents.defaults.model, { primary: "anthropic/claude-opus-4-6", fallbacks: ["anthropic/claude-sonnet-4-5-20250929"] });
    const keyRef = JSON.stringify(oc.models.providers.anthropic.apiKey);
    const keyFile = Object.values(oc.secrets.providers as Record<string, { path: string }>).map((p) => p.path).find((p) => p.endsWith("/anthropic-api-key"));
    assert.ok(keyFile && keyRef.includes("file"), `${keyRef} ${keyFile}`);
    const secrets = ofType(run, "secret:Secret").map((r) => String(r.inputs["name"]));
    assert.ok(secrets.some((n) => n.includes("anthropic-api-key")), secrets.join(" "));
    const squid = run.fileContent("/etc/squid/squid.conf");
    assert.match(squid, /^acl allowlist dstdomain -n \.anthropic\.com api\.telegram\.org$/m);
    assert.doesNotMatch(squid, /litellm|internal_host/);
  });
  test("LiteLLM and direct models together, or neither, are refused naming the key", () => {
    const both = runRender(["--stack", "both", "--config", writeStackFile(swarmConfig({ models: [{ provider: "anthropic", model: "claude-opus-4-6" }] }))]);
    assert.notEqual(both.status, 0);
    assert.match(both.stderr, /openclaw:models: remove it, or remove openclaw:litellm/);
    const neither = runRender(["--stack", "neither", "--config", writeStackFile(withoutLitellm(swarmConfig()))]);
    assert.notEqual(neither.status, 0);
    assert.match(neither.stderr, /openclaw:litellm: required key is missing: set openclaw:litellm .* or openclaw:models/);
    const keyless = runRender(["--stack", "keyless", "--config", writeStackFile(withoutLitellm(swarmConfig({ models: [{ provider: "openai", model: "gpt-5" }] })))]);
    assert.notEqual(keyless.status, 0);
    assert.match(keyless.stderr, /openclaw:providerApiKeys\.openai: required key is missing/);
  });
});

describe("bind sources under /run survive a reboot of the trusted node", () => {
  test("tmpfiles.d creates the socket proxy's listener directories; systemd-tmpfiles makes them as rendered", { skip: missingTools("systemd-tmpfiles", ["systemd-tmpfiles"]) }, () => {
    const run = renderOf("caprover");
    const placed = run.files.filter((f) => f.path === "/etc/tmpfiles.d/openclaw-swarm.conf");
    assert.deepEqual(placed.map((f) => f.target), ["nyc"]);
    const root = mkdtempSync(join(tmpdir(), "tmpfiles-"));
    const conf = join(root, "openclaw-swarm.conf");
    writeFileSync(conf, run.fileContent("/etc/tmpfiles.d/openclaw-swarm.conf"));
    const created = runTool(findTool("systemd-tmpfiles")!, ["--create", `--root=${root}`, conf]);
    assert.equal(created.status, 0, created.stderr);
    assert.equal((statSync(join(root, "run/openclaw/docker-proxy")).mode & 0o7777).toString(8), "711");
    assert.equal((statSync(join(root, "run/openclaw/docker-proxy/primary")).mode & 0o7777).toString(8), "755");
    assert.match(String(byName(run, "trusted-dirs").inputs["create"]), /systemd-tmpfiles --create \/etc\/tmpfiles.d\/openclaw-swarm.conf/);
  });
});

describe("failover is a change, not a rebuild", () => {
  test("moving the trusted node keeps every resource name: Pulumi updates in place, nothing on the old node is deleted", () => {
    const names = (variant: string) => renderOf(variant).resources.map((r) => `${r.type} ${r.name}`).sort();
    assert.deepEqual(names("failover"), names("caprover"));
  });
  test("the DNS record follows the trusted node", () => {
    for (const [variant, node] of [["caprover", "nyc"], ["failover", "sfo"]] as const) {
      assert.equal(byName(renderOf(variant), "openclaw-dns").inputs["content"], ADDRESS[node]);
    }
  });
});

describe("refusals at render time", () => {
  test("two managers are refused with the quorum arithmetic, naming openclaw:nodes", () => {
    const nodes = (VARIANTS["caprover"]!["openclaw:nodes"] as { name: string; role: string }[]).map((n) => (n.name === "ams" ? { ...n, role: "worker" } : n));
    const run = runRender(["--stack", "two", "--config", writeStackFile(swarmConfig({ nodes, nfs: { server: "nyc", clients: ["sfo"] } }))]);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /openclaw:nodes: 2 managers \(nyc, sfo\): quorum is floor\(2\/2\)\+1 = 2 of 2/);
  });
});
