/**
 * The memory budget of one host: container limits plus the worst case of
 * concurrent sandboxes must fit in RAM minus a reserve for the OS and the
 * Docker daemon. Seed 002 does this sum by hand in a comment; here a stack
 * runs it on its plan before registering anything, and fails with a
 * ConfigError naming the host's memory key and the numbers.
 */
import { ConfigError } from "./config/parse";
import { DeployedContainer } from "./hosts";

export interface CapacityInput {
  host: string;
  /** The config key of the host's RAM, e.g. `openclaw:host.memoryMb`. */
  memoryKey: string;
  hostMemoryMb: number;
  reserveMb: number;
  containers: DeployedContainer[];
  sandboxes: { instances: number; maxConcurrent: number; memoryMb: number };
}

export interface CapacityReport {
  containersMb: number;
  sandboxesMb: number;
  totalMb: number;
  availableMb: number;
}

export function capacityReport(input: CapacityInput): CapacityReport {
  const containersMb = input.containers.reduce((sum, c) => sum + c.memoryMb, 0);
  const sandboxesMb = input.sandboxes.instances * input.sandboxes.maxConcurrent * input.sandboxes.memoryMb;
  return { containersMb, sandboxesMb, totalMb: containersMb + sandboxesMb, availableMb: input.hostMemoryMb - input.reserveMb };
}

export function checkCapacity(input: CapacityInput): CapacityReport {
  const report = capacityReport(input);
  if (report.totalMb > report.availableMb) {
    const parts = input.containers.map((c) => `${c.name} ${c.memoryMb}`).join(" + ");
    const { instances, maxConcurrent, memoryMb } = input.sandboxes;
    throw new ConfigError([`${input.memoryKey}: host ${input.host} needs ${report.totalMb} MiB but has ${report.availableMb} MiB ` +
      `(${input.hostMemoryMb} RAM - ${input.reserveMb} reserve): containers ${parts} = ${report.containersMb}; ` +
      `sandboxes ${instances} gateway(s) x ${maxConcurrent} concurrent x ${memoryMb} = ${report.sandboxesMb}. ` +
      "Lower limits or sandbox caps (openclaw:gateway.sandbox), or raise the host's memoryMb."]);
  }
  return report;
}

/**
 * After the workloads exist: every container deployed on the host was in the
 * plan the capacity check summed, with the same limit. A mismatch is a bug
 * in a stack, never the user's doing.
 */
export function assertDeployedAsPlanned(host: string, planned: readonly DeployedContainer[], deployed: readonly DeployedContainer[]): void {
  const key = (c: DeployedContainer) => `${c.name} ${c.memoryMb} MiB`;
  const want = planned.map(key).sort().join(", ");
  const have = deployed.map(key).sort().join(", ");
  if (want !== have) throw new Error(`host ${host}: the capacity plan (${want}) is not what was deployed (${have})`);
}
