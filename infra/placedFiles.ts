/**
 * Every file the program places on a host or into a container/service is
 * declared here as well as delivered by its resource, so the offline render
 * can write each one out and the real-tool tests can check exactly what would
 * be deployed. Declaring is a side effect of constructing the component.
 */
import * as pulumi from "@pulumi/pulumi";

export interface PlacedFile {
  /** Host name from config, or the container/service name. */
  target: string;
  /** Absolute path on the target. */
  path: string;
  /** Octal mode, e.g. "0600". */
  mode: string;
  /** "user:group" (names or numeric ids). */
  owner: string;
  content: pulumi.Input<string>;
}

const placed: PlacedFile[] = [];

export function placeFile(file: PlacedFile): void {
  if (!file.path.startsWith("/")) throw new Error(`placeFile: ${file.target}:${file.path} is not an absolute path`);
  if (!/^0[0-7]{3}$/.test(file.mode)) throw new Error(`placeFile: ${file.target}:${file.path} has mode ${file.mode}, expected e.g. 0600`);
  if (placed.some((f) => f.target === file.target && f.path === file.path)) {
    throw new Error(`placeFile: ${file.target}:${file.path} is placed twice`);
  }
  placed.push(file);
}

/** The files declared so far; the render reads them after the program ran. */
export function placedFiles(): readonly PlacedFile[] {
  return placed;
}

/** Forgets declared files, so one process can render several programs. */
export function resetPlacedFiles(): void {
  placed.length = 0;
}
