/**
 * The import graph, as the TypeScript compiler resolves it: imports point
 * only down the layers (infra ← components ← stacks ← render ← tests) and
 * no files import each other in a circle.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, test } from "node:test";
import ts from "typescript";
import { PROJECT_ROOT } from "./support/tools";

/** Bottom first: a file may import its own layer or one below. */
const LAYERS = ["infra", "components", "stacks", "render", "tests"] as const;

type Graph = Map<string, string[]>;

/** Every project source file (tsconfig's include) → the project files it imports, resolved by the compiler. */
function importGraph(): Graph {
  const configFile = ts.readConfigFile(join(PROJECT_ROOT, "tsconfig.json"), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, PROJECT_ROOT);
  const graph: Graph = new Map();
  for (const file of parsed.fileNames) {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const targets = info.importedFiles.flatMap(({ fileName }) => {
      const resolved = ts.resolveModuleName(fileName, file, parsed.options, ts.sys).resolvedModule;
      if (!resolved || resolved.isExternalLibraryImport) return [];
      return [relative(PROJECT_ROOT, resolved.resolvedFileName)];
    });
    graph.set(relative(PROJECT_ROOT, file), [...new Set(targets)]);
  }
  return graph;
}

function layerOf(file: string): number {
  return LAYERS.indexOf(file.split("/")[0] as (typeof LAYERS)[number]);
}

/** Imports that point up a layer, or out of every layer. */
export function upwardImports(graph: Graph): string[] {
  const bad: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      if (layerOf(from) === -1 || layerOf(to) === -1 || layerOf(to) > layerOf(from)) bad.push(`${from} → ${to}`);
    }
  }
  return bad;
}

/** The import circles (strongly connected components of more than one file, or a file importing itself). */
export function circles(graph: Graph): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indices.get(w)!));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return found;
}

describe("the checks are live", () => {
  const bad: Graph = new Map([
    ["infra/a.ts", ["stacks/b.ts"]],
    ["stacks/b.ts", ["components/c.ts"]],
    ["components/c.ts", ["infra/a.ts"]],
    ["infra/d.ts", []],
  ]);
  test("an import up a layer is found", () => assert.deepEqual(upwardImports(bad), ["infra/a.ts → stacks/b.ts"]));
  test("a circle is found", () => assert.deepEqual(circles(bad), [["components/c.ts", "infra/a.ts", "stacks/b.ts"]]));
});

describe("the project's import graph (TypeScript's module resolution)", () => {
  const graph = importGraph();
  test("covers every layer, the render tool's dynamic import of the program and the JSON pins", () => {
    for (const layer of LAYERS) assert.ok([...graph.keys()].some((f) => f.startsWith(`${layer}/`)), `no file in ${layer}/`);
    assert.ok(graph.get("render/cli.ts")?.includes("stacks/index.ts"), "render/cli.ts → stacks/index.ts");
    assert.ok(graph.get("infra/versions.ts")?.includes("infra/versions.json"), "infra/versions.ts → infra/versions.json");
    assert.ok([...graph.values()].reduce((n, t) => n + t.length, 0) > 100);
  });
  test("imports point only down the layers", () => assert.deepEqual(upwardImports(graph), []));
  test("no import circles", () => assert.deepEqual(circles(graph), []));
});
