/**
 * Stack-wide properties of the single-vps render, for the committed stack
 * (Caddy), a Cloudflare Tunnel variant and three partitioned gateways.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { imagePinProblem } from "../infra/images";
import { BIG_HOST, TUNNEL_INGRESS as TUNNEL } from "./support/fixtures";
import { asLines, placementsOf } from "./support/placement";
import { findTool, missingTools, run as runTool } from "./support/tools";
import { RenderRun, runRender, singleVpsConfig, writeStackFile } from "./support/render";

const VARIANTS: Record<string, Record<string, unknown>> = {
  caddy: singleVpsConfig(),
  tunnel: singleVpsConfig({ ingress: TUNNEL }),
  partitioned: singleVpsConfig({ host: BIG_HOST, gateway: { memoryMb: 2048, instances: [{ name: "primary" }, { name: "team" }, { name: "ops" }] } }),
};

const containers = (run: RenderRun) => run.resources.filter((r) => r.type === "docker:index/container:Container");

for (const [variant, config] of Object.entries(VARIANTS)) {
  describe(`single-vps render: ${variant}`, () => {
    let run: RenderRun;
    before(() => {
      run = runRender(["--stack", variant, "--config", writeStackFile(config)]);
      assert.equal(run.status, 0, run.stderr);
    });

    test("only the socket proxy mounts docker.sock, read-only", () => {
      for (const c of containers(run)) {
        const sock = (c.inputs["volumes"] as { hostPath?: string; readOnly: boolean }[]).filter((v) => v.hostPath?.includes("docker.sock"));
        assert.deepEqual(sock.map((v) => v.readOnly), c.inputs["name"] === "openclaw-docker-proxy" ? [true] : [], c.name);
      }
    });

    test("every container: memory limit, healthcheck, restart policy, no-new-privileges, pinned image", () => {
      assert.ok(containers(run).length >= 5);
      for (const c of containers(run)) {
        assert.ok(c.inputs["memory"] > 0, `${c.name} memory`);
        assert.ok(c.inputs["healthcheck"]?.["tests"]?.length > 1, `${c.name} healthcheck`);
        assert.equal(c.inputs["restart"], "on-failure", `${c.name} restart`);
        assert.deepEqual(c.inputs["securityOpts"], ["no-new-privileges:true"], c.name);
        assert.equal(imagePinProblem(c.inputs["image"]), undefined, `${c.name}: ${c.inputs["image"]}`);
      }
    });

    test("no container's environment holds a secret", () => {
      for (const c of containers(run)) {
        const env = (c.inputs["envs"] ?? []) as string[];
        assert.equal(JSON.stringify(env).includes("[secret]"), false, c.name);
        for (const entry of env) assert.doesNotMatch(entry.split("=")[0]!, /TOKEN|SECRET|PASSWORD|KEY/, `${c.name}: ${entry}`);
      }
    });

    test("files.json is exactly the files the resources place (path, mode, owner, content), and nothing else writes files", () => {
      const { placements, writersOutsidePlacement } = placementsOf(run.resources, "vps");
      const listed = run.files.map((f) => ({ target: f.target, path: f.path, mode: f.mode, owner: f.owner, content: readFileSync(join(run.dir, f.file), "utf8") }));
      assert.ok(listed.length >= 36, `${listed.length} files`);
      assert.deepEqual(asLines(placements), asLines(listed));
      assert.deepEqual(writersOutsidePlacement, []);
    });

    test("the watchdog watches every container on the host, backups hold every gateway's volume and workspace", () => {
      const watchdog = run.fileContent("/usr/local/sbin/openclaw-watchdog");
      const names = containers(run).map((c) => c.inputs["name"] as string).sort();
      assert.deepEqual(/^readonly CONTAINERS=\((.*)\)$/m.exec(watchdog)![1]!.split(" ").sort(), names);
      const backup = run.fileContent("/usr/local/sbin/openclaw-backup");
      const gatewayNames = names.filter((n) => /^openclaw-(primary|team|ops)$/.test(n));
      for (const g of gatewayNames) {
        assert.match(backup, new RegExp(`"/var/lib/docker/volumes/${g}-data/_data"`));
        assert.match(backup, new RegExp(`"/srv/openclaw/${g.replace("openclaw-", "")}/workspace"`));
      }
      const tokenAge = run.fileContent("/usr/local/sbin/openclaw-token-age");
      assert.equal((tokenAge.match(/run\/secrets\/openclaw-gateway-token/g) ?? []).length, gatewayNames.length);
    });

    test("networks have the configured subnets; openclaw-net is internal", () => {
      const nets = Object.fromEntries(run.resources.filter((r) => r.type === "docker:index/network:Network").map((r) => [r.inputs["name"], r.inputs]));
      assert.deepEqual(nets["openclaw-net"]!["ipamConfigs"], [{ subnet: "172.30.10.0/24" }]);
      assert.equal(nets["openclaw-net"]!["internal"], true);
      assert.equal(nets["proxy-net"]!["internal"], variant === "tunnel", "proxy-net is internal only with a tunnel");
      assert.equal(nets["egress-net"]!["internal"], false);
    });

    test("every docker resource is registered with the host's explicit provider", () => {
      const dockerResources = run.resources.filter((x) => x.type.startsWith("docker:index/"));
      assert.ok(dockerResources.length >= 9);
      for (const r of dockerResources) assert.equal(r.provider, "vps-docker", `${r.name} registered with ${r.provider}`);
      assert.equal(run.resources.filter((r) => r.type === "pulumi:providers:docker").map((r) => r.name).join(), "vps-docker");
    });

    test("every docker resource and every workload file waits for the applied firewall and the hardened sshd", () => {
      const onHost = run.resources.filter((x) => x.type.startsWith("docker:index/") || x.name.includes("-run-secrets-") || x.name.endsWith("-dirs"));
      assert.ok(onHost.length >= 15);
      // A dependency on a component is recorded as its children: the firewall's apply and the baseline's activations.
      for (const r of onHost) {
        for (const ready of ["vps-firewall-apply", "vps-baseline-sshd-activate"]) assert.ok(r.dependsOn.includes(ready), `${r.name} does not wait for ${ready}: ${r.dependsOn.join(", ")}`);
      }
    });

    test("the rendered squid.conf parses with no ERROR or WARNING", { skip: missingTools("squid -k parse on the render", ["squid"]) }, () => {
      const file = join(mkdtempSync(join(tmpdir(), "squidconf-")), "squid.conf");
      writeFileSync(file, run.fileContent("/etc/squid/squid.conf"));
      const parse = runTool(findTool("squid")!, ["-k", "parse", "-f", file]);
      assert.equal(parse.status, 0, parse.stderr);
      assert.doesNotMatch(parse.stdout + parse.stderr, /ERROR|WARNING|FATAL/);
    });

    test("the squid.conf admits exactly the internal subnet and the configured domains", () => {
      const squid = run.fileContent("/etc/squid/squid.conf");
      assert.match(squid, /^acl localnet src 172\.30\.10\.0\/24$/m);
      // The model's provider, extraDomains, and Telegram's Bot API because the instance has a bot token.
      assert.match(squid, /^acl allowlist dstdomain -n \.anthropic\.com \.voyageai\.com api\.telegram\.org$/m);
    });

    test("each gateway trusts exactly the proxy network and has its own volume, token and dirs", () => {
      const gatewayContainers = containers(run).filter((c) => c.name.match(/^openclaw-(primary|team|ops)-container$/));
      const configs = run.filesEnding("/etc/openclaw/openclaw.json");
      assert.equal(configs.length, gatewayContainers.length);
      for (const entry of configs) {
        const config = JSON.parse(run.fileContent(entry.path));
        assert.deepEqual(config.gateway.trustedProxies, ["172.30.11.0/24"]);
      }
      const volumes = gatewayContainers.map((c) => (c.inputs["volumes"] as { volumeName?: string }[]).find((v) => v.volumeName)!.volumeName);
      assert.equal(new Set(volumes).size, gatewayContainers.length);
      const tokens = run.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword" && r.name.endsWith("-token"));
      assert.equal(tokens.length, gatewayContainers.length);
    });
  });
}

describe("egress follows the channels", () => {
  test("without a bot token, Telegram's API is not on the allowlist", () => {
    const run = runRender(["--stack", "nochannel", "--config", writeStackFile(singleVpsConfig({ channelTokens: undefined }))]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.fileContent("/etc/squid/squid.conf"), /^acl allowlist dstdomain -n \.anthropic\.com \.voyageai\.com$/m);
  });
});

describe("growth", () => {
  test("each partitioned gateway adds the same number of resources", () => {
    const count = (n: number) => runRender(["--stack", `n${n}`, "--config", writeStackFile(singleVpsConfig({
      host: { ...BIG_HOST, memoryMb: 65536 }, channelTokens: undefined,
      gateway: { memoryMb: 2048, instances: Array.from({ length: n }, (_, i) => ({ name: `gw${i + 1}` })) },
    }))]).resources.length;
    const [one, two, five] = [count(1), count(2), count(5)];
    assert.ok(two > one);
    assert.equal(five - one, 4 * (two - one));
  });
});

describe("capacity", () => {
  test("a stack that does not fit the host's RAM is refused with the numbers", () => {
    const run = runRender(["--stack", "big", "--config", writeStackFile(singleVpsConfig({ gateway: { instances: [{ name: "primary" }, { name: "team" }] } }))]);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /invalid stack config \(1 problem\):\n\s+- openclaw:host\.memoryMb: host vps needs 12672 MiB but has 7168 MiB \(8192 RAM - 1024 reserve\)/);
    assert.match(run.stderr, /sandboxes 2 gateway\(s\) x 3 concurrent x 512 = 3072/);
  });
  test("the seed's 8 GB host fits the default stack", () => {
    assert.equal(runRender(["--stack", "single-vps"]).status, 0);
  });
});
