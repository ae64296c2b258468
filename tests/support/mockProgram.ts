/**
 * Runs a small program (components built by a test) under the same mocks
 * and recorder as the offline render, and returns what it registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { Render, renderProgram } from "../../render/offlineRender";

export async function renderComponents(build: () => Record<string, pulumi.Input<unknown>>): Promise<Render> {
  return renderProgram({ stack: "unit", project: "openclaw-infra", config: {}, secretKeys: [] }, async () => async () => build());
}

export function inputsOf(render: Render, name: string): Record<string, any> {
  const resource = render.resources.find((r) => r.name === name);
  if (!resource) throw new Error(`no resource ${name}; have ${render.resources.map((r) => r.name).join(", ")}`);
  return resource.inputs;
}
