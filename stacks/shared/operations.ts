/**
 * Operations on a Docker host, derived from what was deployed: the watchdog
 * watches every container on the host, backups hold every gateway's backup
 * sources, the token-age reminder reads every gateway's token file.
 */
import * as pulumi from "@pulumi/pulumi";
import { Gateway } from "../../components/gateway";
import { Operations } from "../../components/operations";
import { assertDeployedAsPlanned } from "../../infra/capacity";
import { Host } from "../../infra/hosts";

export interface HostOperationsArgs {
  /** The containers the capacity check summed: checked against what the host now runs. */
  planned: { name: string; memoryMb: number }[];
  gateways: Gateway[];
  backup: { repository: string; onCalendar: string; keepDaily: number };
  alertWebhookUrl: pulumi.Input<string> | undefined;
  backupPasswordRotation: string;
}

export function hostOperations(host: Host, args: HostOperationsArgs): Operations {
  assertDeployedAsPlanned(host.name, args.planned, host.containers);
  return new Operations(`${host.name}-ops`, {
    host,
    backup: { ...args.backup, sources: args.gateways.flatMap((g) => g.backupSources) },
    watchdog: { containers: host.containers.map((c) => c.name), restartThreshold: 3, diskPercent: 85, memoryPercent: 90, swapPercent: 50 },
    gateways: args.gateways.map((g) => g.hostName),
    tokenFiles: args.gateways.flatMap((g) => (g.tokenFileOnHost === undefined ? [] : [g.tokenFileOnHost])),
    alertWebhookUrl: args.alertWebhookUrl,
    backupPasswordRotation: args.backupPasswordRotation,
  }, { dependsOn: host.ready });
}
