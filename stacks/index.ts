/** Dispatches a validated config to the module that builds its topology. */
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../infra/config";
import { singleVps } from "./singleVps";
import { tailscaleHost } from "./tailscaleHost";

export class TopologyNotBuiltError extends Error {
  constructor(topology: string) {
    super(`the ${topology} topology has a config model but its stack is not built yet`);
    this.name = "TopologyNotBuiltError";
  }
}

export type StackOutputs = Record<string, pulumi.Input<unknown>>;

export function buildStack(config: StackConfig): StackOutputs {
  switch (config.topology) {
    case "single-vps":
      return singleVps(config);
    case "tailscale-host":
      return tailscaleHost(config);
    case "swarm":
      throw new TopologyNotBuiltError(config.topology);
  }
}
