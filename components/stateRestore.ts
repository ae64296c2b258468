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
import { asRoot } from "../infra/hosts";

export const BACKUP_TAG = "openclaw";

const plainPath = (v: string) => {
  if (!/^\/[A-Za-z0-9._/-]+$/.test(v)) throw new Error(`restore: ${v} is not a plain absolute path`);
  return v;
};

/**
 * Restores each path (a volume's _data or a host directory) from the latest
 * snapshot. A Docker volume's path gets its volume created first, so the
 * daemon knows it when the gateway's task starts.
 */
export function renderRestoreScript(o: { repository: string; passwordFile: string; paths: string[] }): string {
  return `#!/usr/bin/env bash
# Rendered by openclaw-infra (components/stateRestore.ts): restore gateway state on the new trusted node.
set -euo pipefail
export LC_ALL=C
export RESTIC_REPOSITORY='${plainPath(o.repository)}'
export RESTIC_PASSWORD_FILE='${plainPath(o.passwordFile)}'
readonly PATHS=(${o.paths.map(plainPath).join(" ")})
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
for path in "\${PATHS[@]}"; do
  if [[ "\${path}" =~ ^/var/lib/docker/volumes/([^/]+)/_data$ ]]; then
    docker volume create "\${BASH_REMATCH[1]}" >/dev/null
  fi
  install -d "\${path}"
  # Beside the path (for a volume: outside _data, invisible to the container).
  marker="\${path}.openclaw-restored-from"
  if [[ "$(cat "\${marker}" 2>/dev/null)" == "\${snapshot}" ]]; then
    echo "restore: \${path} already restored from snapshot \${snapshot}"
    continue
  fi
  newest=$(find "\${path}" -mindepth 1 -printf '%T@\\n' | sort -n | tail -n 1 | cut -d. -f1)
  if [[ -n "\${newest}" ]] && ((newest >= snapshot_epoch)); then
    echo "restore: \${path} holds state newer than snapshot \${snapshot} (\${snapshot_time}): kept"
    continue
  fi
  staging=$(mktemp -d)
  restic restore "\${snapshot}" --target "\${staging}" --include "\${path}" --verify >/dev/null
  if [[ ! -d "\${staging}\${path}" ]]; then
    echo "restore: snapshot \${snapshot} holds no \${path}" >&2
    exit 1
  fi
  if [[ -n "\${newest}" ]]; then
    mv "\${path}" "\${path}.pre-restore-$(date +%s)"
  else
    rmdir "\${path}"
  fi
  mv "\${staging}\${path}" "\${path}"
  rm -rf "\${staging}"
  printf '%s\\n' "\${snapshot}" >"\${marker}"
  echo "restore: \${path} restored from snapshot \${snapshot} (\${snapshot_time})"
done
`;
}

export interface StateRestoreArgs {
  /** The trusted node: where the gateway will run. */
  host: Host;
  repository: string;
  passwordFile: string;
  /** What the backups hold (volume data and workspace directories). */
  paths: string[];
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
