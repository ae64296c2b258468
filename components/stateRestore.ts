/**
 * StateRestore: on failover, the gateway state (a local Docker volume on the
 * trusted node) is restored on the new trusted node from the latest restic
 * snapshot, before the trust label moves and the gateway starts there.
 * Restore, not re-attach: the state volume is node-local (no live SQLite
 * files on NFS, whose server is often the very node that failed), so the
 * recovery point is the last backup (RPO = the backup interval).
 *
 * Safety rules, in the script: a repository or snapshot that does not exist
 * yet means fresh state (first deploy); a volume holding files newer than the
 * snapshot is kept as is (restoring would lose data, e.g. failing back to a
 * node that kept running); whatever a restore replaces is moved aside, never
 * deleted; `restic restore --verify` checks every restored byte.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Host } from "../infra/hosts";
import { asRoot } from "../infra/remoteFile";

export const BACKUP_TAG = "openclaw";

/** Where the local driver keeps a volume's data: the path the backup script saves. */
export const volumeDataPath = (volume: string) => `/var/lib/docker/volumes/${volume}/_data`;

const plainPath = (v: string) => {
  if (!/^\/[A-Za-z0-9._/-]+$/.test(v)) throw new Error(`restore: ${v} is not a plain absolute path`);
  return v;
};

export function renderRestoreScript(o: { repository: string; passwordFile: string; volumes: string[] }): string {
  for (const v of o.volumes) if (!/^[a-z][a-z0-9_.-]*$/.test(v)) throw new Error(`restore: ${v} is not a volume name`);
  return `#!/usr/bin/env bash
# Rendered by openclaw-infra (components/stateRestore.ts): restore gateway state on the new trusted node.
set -euo pipefail
export LC_ALL=C
export RESTIC_REPOSITORY='${plainPath(o.repository)}'
export RESTIC_PASSWORD_FILE='${plainPath(o.passwordFile)}'
readonly VOLUMES=(${o.volumes.join(" ")})
if ! restic cat config >/dev/null 2>&1; then
  echo "restore: no backup repository yet: starting with fresh state"
  exit 0
fi
latest=$(restic snapshots --json --tag ${BACKUP_TAG} | jq -c 'max_by(.time) // empty')
if [[ -z "\${latest}" ]]; then
  echo "restore: no snapshot yet: starting with fresh state"
  exit 0
fi
snapshot=$(jq -r .short_id <<<"\${latest}")
snapshot_time=$(jq -r .time <<<"\${latest}")
snapshot_epoch=$(date -d "\${snapshot_time}" +%s)
restic check >/dev/null
for volume in "\${VOLUMES[@]}"; do
  docker volume create "\${volume}" >/dev/null
  data=$(docker volume inspect --format '{{.Mountpoint}}' "\${volume}")
  # Beside _data, invisible to the container: which snapshot this volume came from.
  marker="$(dirname "\${data}")/openclaw-restored-from"
  if [[ "$(cat "\${marker}" 2>/dev/null)" == "\${snapshot}" ]]; then
    echo "restore: \${volume} already restored from snapshot \${snapshot}"
    continue
  fi
  newest=$(find "\${data}" -mindepth 1 -printf '%T@\\n' | sort -n | tail -n 1 | cut -d. -f1)
  if [[ -n "\${newest}" ]] && ((newest >= snapshot_epoch)); then
    echo "restore: \${volume} holds state newer than snapshot \${snapshot} (\${snapshot_time}): kept"
    continue
  fi
  staging=$(mktemp -d)
  restic restore "\${snapshot}" --target "\${staging}" --include "/var/lib/docker/volumes/\${volume}/_data" --verify >/dev/null
  if [[ ! -d "\${staging}/var/lib/docker/volumes/\${volume}/_data" ]]; then
    echo "restore: snapshot \${snapshot} holds no \${volume}" >&2
    exit 1
  fi
  if [[ -n "\${newest}" ]]; then
    mv "\${data}" "\${data}.pre-restore-$(date +%s)"
  else
    rmdir "\${data}"
  fi
  mv "\${staging}/var/lib/docker/volumes/\${volume}/_data" "\${data}"
  rm -rf "\${staging}"
  printf '%s\\n' "\${snapshot}" >"\${marker}"
  echo "restore: \${volume} restored from snapshot \${snapshot} (\${snapshot_time})"
done
`;
}

export interface StateRestoreArgs {
  /** The trusted node: where the gateway will run. */
  host: Host;
  repository: string;
  passwordFile: string;
  volumes: string[];
  /** Resources the restore needs on the host first (the restic password file). */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

export class StateRestore extends pulumi.ComponentResource {
  readonly command: command.remote.Command;

  constructor(name: string, args: StateRestoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:StateRestore", name, {}, opts);
    const script = renderRestoreScript(args);
    // Runs when created, i.e. whenever the trusted node changes (the trigger),
    // and leaves nothing to delete: a dead old node never blocks a failover.
    this.command = new command.remote.Command(`${name}-restore`, {
      connection: args.host.connection,
      create: asRoot(script),
      triggers: [args.host.name],
    }, { parent: this, dependsOn: args.dependsOn, deleteBeforeReplace: true });
    this.registerOutputs({});
  }
}
