/**
 * The memory budget of one host: container limits plus the worst case of
 * concurrent sandboxes must fit in RAM minus a reserve for the OS and the
 * Docker daemon. Seed 002 does this sum by hand in a comment; here it runs
 * at render and preview time and fails with the numbers.
 */

export interface CapacityInput {
  host: string;
  hostMemoryMb: number;
  reserveMb: number;
  containers: { name: string; memoryMb: number }[];
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
    throw new Error(`capacity: host ${input.host} needs ${report.totalMb} MiB but has ${report.availableMb} MiB ` +
      `(${input.hostMemoryMb} RAM - ${input.reserveMb} reserve): containers ${parts} = ${report.containersMb}; ` +
      `sandboxes ${instances} gateway(s) x ${maxConcurrent} concurrent x ${memoryMb} = ${report.sandboxesMb}. ` +
      "Lower limits or sandbox caps (openclaw:gateway.sandbox), or raise openclaw:host.memoryMb.");
  }
  return report;
}
