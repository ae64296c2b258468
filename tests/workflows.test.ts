/**
 * The GitHub workflows: linted by actionlint (which also runs shellcheck on
 * every run: block), shown to catch a broken workflow, and checked for what
 * the review loop relies on (pure checks, no tool needed).
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { findTool, missingTools, run } from "./support/tools";
import { PROJECT_ROOT } from "./support/tools";

const WORKFLOWS_DIR = join(PROJECT_ROOT, ".github/workflows");
const ACTIONS_DIR = join(PROJECT_ROOT, ".github/actions");

interface Step { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface Job { uses?: string; steps?: Step[]; environment?: string; if?: string; needs?: string | string[] }
interface Workflow { on: Record<string, unknown>; jobs: Record<string, Job> }

const workflowFiles = () => readdirSync(WORKFLOWS_DIR).filter((f) => f.endsWith(".yml"));
const readYaml = <T>(file: string) => parseYaml(readFileSync(file, "utf8")) as T;
const workflow = (name: string) => readYaml<Workflow>(join(WORKFLOWS_DIR, name));
const compositeSteps = () => readYaml<{ runs: { steps: Step[] } }>(join(ACTIONS_DIR, "setup/action.yml")).runs.steps;
const allSteps = (): [string, Step][] => [
  ...workflowFiles().flatMap((f) => Object.values(workflow(f).jobs).flatMap((j) => (j.steps ?? []).map((s): [string, Step] => [f, s]))),
  ...compositeSteps().map((s): [string, Step] => ["actions/setup", s]),
];
const pulumiStep = (file: string, job: string) => workflow(file).jobs[job]!.steps!.find((s) => s.uses?.startsWith("pulumi/actions@"))!;

/** actionlint over every workflow file of `root` (named explicitly: a copy outside git has no project). */
function actionlint(root: string) {
  const files = readdirSync(join(root, ".github/workflows")).filter((f) => f.endsWith(".yml")).map((f) => join(".github/workflows", f));
  return run(findTool("actionlint")!, ["-no-color", "-shellcheck", findTool("shellcheck")!, ...files], { cwd: root });
}

describe("workflows: actionlint", () => {
  const skip = missingTools("actionlint over .github/workflows", ["actionlint", "shellcheck"]);

  test("every workflow passes actionlint, run: blocks included", { skip }, () => {
    const result = actionlint(PROJECT_ROOT);
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  test("actionlint catches a broken workflow (unknown matrix key, unquoted shell variable)", { skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), "actionlint-"));
    cpSync(join(PROJECT_ROOT, ".github"), join(dir, ".github"), { recursive: true });
    const broken = readFileSync(join(WORKFLOWS_DIR, "drift.yml"), "utf8")
      .replace('STACK: ${{ matrix.stack }}', 'STACK: ${{ matrix.stak }}')
      .replace('--stack "${STACK}"', "--stack $STACK");
    writeFileSync(join(dir, ".github/workflows/drift.yml"), broken);
    const result = actionlint(dir);
    assert.equal(result.status, 1);
    assert.match(result.stdout, /property "stak" is not defined/);
    assert.match(result.stdout, /SC2086/);
  });
});

describe("workflows: what the review loop relies on", () => {
  test("every remote action is pinned to a commit, with its version beside it", () => {
    const uses = allSteps().map(([, s]) => s.uses).filter((u): u is string => u !== undefined && !u.startsWith("./"));
    assert.ok(uses.length >= 8);
    for (const ref of uses) assert.match(ref, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, ref);
    for (const file of [...workflowFiles().map((f) => join(WORKFLOWS_DIR, f)), join(ACTIONS_DIR, "setup/action.yml")]) {
      for (const line of readFileSync(file, "utf8").split("\n").filter((l) => /uses: [\w.-]+\/[\w.-]+@/.test(l))) {
        assert.match(line, /@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, `${file}: ${line.trim()}`);
      }
    }
  });

  test("pull requests: preview per stack with the policy pack, commented on the PR, after the offline render + policy check", () => {
    const preview = workflow("preview.yml");
    assert.deepEqual(Object.keys(preview.on), ["pull_request"]);
    assert.equal(preview.jobs["stacks"]!.uses, "./.github/workflows/stacks.yml");
    const step = pulumiStep("preview.yml", "preview");
    assert.equal(step.with!["command"], "preview");
    assert.equal(step.with!["comment-on-pr"], true);
    assert.equal(step.with!["policyPacks"], "policy");
    assert.deepEqual(preview.jobs["preview"]!.needs, ["stacks", "offline"]);
    assert.match(preview.jobs["offline"]!.steps!.map((s) => s.run ?? "").join("\n"), /npm run render -- --stack "\$\{STACK\}"[\s\S]*npm run policy -- "out\/\$\{STACK\}"/);
  });

  test("merge to main: up per stack behind the stack's protected environment, policy pack enforced", () => {
    const deploy = workflow("deploy.yml");
    assert.deepEqual(deploy.on, { push: { branches: ["main"] } });
    assert.equal(deploy.jobs["up"]!.environment, "${{ matrix.stack }}");
    const step = pulumiStep("deploy.yml", "up");
    assert.equal(step.with!["command"], "up");
    assert.equal(step.with!["policyPacks"], "policy");
  });

  test("schedule: drift check refreshes in preview-only mode and fails on any change", () => {
    const drift = workflow("drift.yml");
    assert.ok("schedule" in drift.on);
    const refresh = drift.jobs["refresh"]!.steps!.map((s) => s.run ?? "").join("\n");
    assert.match(refresh, /^pulumi refresh --stack "\$\{STACK\}" --preview-only --expect-no-changes /m);
  });

  test("secrets come from the CI secret store and reach scripts only through env", () => {
    for (const [file, step] of allSteps()) {
      assert.doesNotMatch(step.run ?? "", /\$\{\{/, `${file}: expressions are passed through env, never spliced into a script`);
    }
    const text = workflowFiles().map((f) => readFileSync(join(WORKFLOWS_DIR, f), "utf8")).join("\n");
    for (const name of ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN", "DEPLOY_SSH_KEY"]) assert.match(text, new RegExp(`\\$\\{\\{ secrets\\.${name} \\}\\}`));
    assert.doesNotMatch(text, /passphrase:\s*['"]?\w|BEGIN OPENSSH/i, "no secret value in a workflow file");
  });

  test("the CLI the workflows install is the version of the project's Pulumi SDK", () => {
    const versionStep = compositeSteps().find((s) => s.run?.includes("@pulumi/pulumi"));
    assert.ok(versionStep, "the setup action reads the SDK version from package.json");
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    assert.match(pkg.dependencies["@pulumi/pulumi"]!, /^\d+\.\d+\.\d+$/);
  });
});
