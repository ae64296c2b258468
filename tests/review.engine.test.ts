/**
 * The review loop in the real Pulumi CLI (scripts/build-pulumi-toolchain.sh),
 * offline: a file backend and a passphrase per stack.
 *
 * No Node program runs here: the Go module proxy refuses the Node language
 * host and the providers (docs/engine.md), so neither the policy pack nor
 * examples/consumer can run inside the engine on this machine. What the CLI
 * alone does run is proven: the flags the workflows use, and the engine's own
 * StackReference (a builtin, no plugin) reading the outputs contract of a
 * stack whose state holds the real render's outputs, through the drift check
 * the scheduled workflow runs. The two states are loaded with `pulumi stack
 * import` (stand-ins for an `up` of the stack and of the consumer, which need
 * the language host).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { checkContractVersion, gatewayAllowlist } from "../examples/consumer/allowlist";
import { SECRET_PLACEHOLDER } from "../render/offlineRender";
import { contractProblems } from "./support/contract";
import { runRender, singleVpsConfig, writeStackFile } from "./support/render";
import { missingTools, PROJECT_ROOT, run } from "./support/tools";

const BIN = execFileSync("bash", [join(PROJECT_ROOT, "scripts/build-pulumi-toolchain.sh"), "--bin"], { encoding: "utf8" }).trim();
process.env["PATH"] = `${BIN}:${process.env["PATH"] ?? ""}`;
const skip = missingTools("the review loop in the real Pulumi CLI (scripts/build-pulumi-toolchain.sh cli)", ["pulumi"]);

const PRODUCER = "organization/openclaw-infra/single-vps";
const KNOWN_TOKEN = "KNOWN-PLAINTEXT-gateway-token-7f3a";
const SECRET_SIG = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };

describe("the review loop in the real Pulumi CLI", { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), "review-engine-"));
  const state = join(work, "state");
  mkdirSync(state);
  after(() => rmSync(work, { recursive: true, force: true }));

  /** Runs pulumi in a project directory of its own, on the shared file backend, with that project's passphrase. */
  function pulumi(project: string, passphrase: string, args: string[]) {
    const env = {
      ...process.env, PULUMI_HOME: join(work, "home"), PULUMI_BACKEND_URL: `file://${state}`, PULUMI_CONFIG_PASSPHRASE: passphrase,
      PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    const result = run("pulumi", [...args, "--non-interactive"], { cwd: join(work, project), env });
    return { ...result, output: result.stdout + result.stderr };
  }

  /** Creates the stack and replaces its state's resources (the stand-in for an `up`). */
  function importState(project: string, passphrase: string, stack: string, resources: (stackUrn: string) => object[]) {
    mkdirSync(join(work, project), { recursive: true });
    writeFileSync(join(work, project, "Pulumi.yaml"), `name: ${project}\nruntime: nodejs\n`);
    if (pulumi(project, passphrase, ["stack", "ls"]).stdout.includes(stack) === false) {
      const init = pulumi(project, passphrase, ["stack", "init", stack]);
      assert.equal(init.status, 0, init.output);
    }
    const exported = JSON.parse(pulumi(project, passphrase, ["stack", "export", "--stack", stack]).stdout) as { deployment: Record<string, unknown> };
    exported.deployment["resources"] = resources(`urn:pulumi:${stack}::${project}::pulumi:pulumi:Stack::${project}-${stack}`);
    const file = join(work, `${project}-${stack}.json`);
    writeFileSync(file, JSON.stringify(exported));
    const imported = pulumi(project, passphrase, ["stack", "import", "--stack", stack, "--file", file]);
    assert.equal(imported.status, 0, imported.output);
  }

  /** The producer: the real render's outputs on its root resource, the gateway tokens a secret under its own passphrase. */
  function producerState(outputs: Record<string, unknown>) {
    importState("openclaw-infra", "producer-passphrase", "single-vps", (stackUrn) => [{
      urn: stackUrn, custom: false, type: "pulumi:pulumi:Stack",
      outputs: { ...outputs, gatewayTokens: { ...SECRET_SIG, plaintext: JSON.stringify([KNOWN_TOKEN]) } },
    }]);
  }

  const consumer = (args: string[]) => pulumi("openclaw-consumer", "consumer-passphrase", args);
  const drift = () => consumer(["refresh", "--stack", "dev", "--preview-only", "--expect-no-changes", "--diff"]);
  const referenced = () => {
    const exported = JSON.parse(consumer(["stack", "export", "--stack", "dev"]).stdout) as { deployment: { resources: { type: string; outputs: Record<string, any> }[] } };
    return exported.deployment.resources.find((r) => r.type === "pulumi:pulumi:StackReference")!.outputs;
  };

  let outputs: Record<string, unknown>;
  before(() => {
    const render = runRender(["--stack", "single-vps", "--config", writeStackFile(singleVpsConfig({
      ingress: { mode: "cloudflare-tunnel", domain: "openclaw.example.com", cloudflareZoneId: "0123456789abcdef0123456789abcdef", cloudflareAccountId: "fedcba9876543210fedcba9876543210" },
      host: { name: "vps", address: "198.51.100.10", sshPort: 9922, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm2wI7YMrD5yHzmXPoq0d7d6jgS3VHGUSyRn3xHN9EM", memoryMb: 16384 },
      gateway: { memoryMb: 2048, instances: [{ name: "primary" }, { name: "team" }] },
    }))]);
    assert.equal(render.status, 0, render.stderr);
    outputs = Object.fromEntries(Object.entries(render.outputs).filter(([, v]) => v !== SECRET_PLACEHOLDER));
    producerState(outputs);
    // The consumer's state as its first `up` leaves it before anything was read.
    importState("openclaw-consumer", "consumer-passphrase", "dev", (stackUrn) => [
      { urn: stackUrn, custom: false, type: "pulumi:pulumi:Stack", outputs: {} },
      { urn: `urn:pulumi:dev::openclaw-consumer::pulumi:pulumi:StackReference::${PRODUCER}`, custom: true, id: PRODUCER, type: "pulumi:pulumi:StackReference",
        inputs: { name: PRODUCER }, outputs: { name: PRODUCER, outputs: {}, secretOutputNames: [] }, parent: stackUrn, external: true },
    ]);
  });

  test("the flags the workflows pass exist in the real CLI", () => {
    const help = (command: string) => run("pulumi", [command, "--help"]).stdout;
    assert.match(help("refresh"), /--preview-only\b/);
    assert.match(help("refresh"), /--expect-no-changes\b/);
    for (const command of ["preview", "up"]) assert.match(help(command), /--policy-pack strings/);
    assert.match(help("up"), /--refresh\b/);
  });

  test("the producer's secret output is encrypted at rest under its passphrase", () => {
    const file = readFileSync(join(state, ".pulumi/stacks/openclaw-infra/single-vps.json"), "utf8");
    assert.doesNotMatch(file, new RegExp(KNOWN_TOKEN));
    assert.match(file, /"ciphertext"/);
  });

  test("drift check: the StackReference reads the contract without the producer's passphrase, shows no secret, fails, changes nothing", () => {
    const result = drift();
    assert.notEqual(result.status, 0, result.output);
    assert.match(result.output, /error: no changes were expected for refresh but changes were proposed/);
    assert.match(result.output, /eliding undecryptable secrets for stack reference 'organization\/openclaw-infra\/single-vps'/);
    assert.match(result.output, /\+ gatewayUrls {4}: \[/);
    assert.match(result.output, /gatewayTokens {2}: \[secret\]/);
    assert.doesNotMatch(result.output, new RegExp(KNOWN_TOKEN));
    assert.deepEqual(referenced()["outputs"], {}, "--preview-only left the state alone");
  });

  test("after a refresh the consumer holds the contract (valid, usable, no secret); the drift check passes", () => {
    const refresh = consumer(["refresh", "--stack", "dev", "--yes"]);
    assert.equal(refresh.status, 0, refresh.output);
    const reference = referenced();
    assert.deepEqual(reference["secretOutputNames"], ["gatewayTokens"]);
    const read = Object.fromEntries(Object.entries(reference["outputs"] as Record<string, unknown>).filter(([k]) => k !== "gatewayTokens"));
    assert.deepEqual(read, outputs, "every contract output arrives as the producer published it");
    // The secret the consumer could not decrypt is kept by name only: an empty value, re-encrypted under the consumer's key.
    const shown = JSON.parse(consumer(["stack", "export", "--stack", "dev", "--show-secrets"]).stdout) as { deployment: { resources: { type: string; outputs: Record<string, any> }[] } };
    const elided = shown.deployment.resources.find((r) => r.type === "pulumi:pulumi:StackReference")!.outputs["outputs"]["gatewayTokens"];
    assert.deepEqual(elided, { ...SECRET_SIG, plaintext: "{}" });
    assert.deepEqual(contractProblems(read), []);
    assert.equal(checkContractVersion(read["contractVersion"]), outputs["contractVersion"]);
    assert.deepEqual(gatewayAllowlist(read["gatewayUrls"] as string[]).origins, ["https://openclaw.example.com", "https://team.openclaw.example.com"]);
    assert.doesNotMatch(JSON.stringify(shown), new RegExp(KNOWN_TOKEN));
    const again = drift();
    assert.equal(again.status, 0, again.output);
  });

  test("a changed output of the producer is drift the check reports by key", () => {
    producerState({ ...outputs, gatewayUrls: [...(outputs["gatewayUrls"] as string[]), "https://ops.openclaw.example.com"] });
    const result = drift();
    assert.notEqual(result.status, 0, result.output);
    assert.match(result.output, /\+ \[2\]: "https:\/\/ops\.openclaw\.example\.com"/);
  });
});
