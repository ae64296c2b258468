/**
 * Image references: what counts as pinned. A moving tag (`latest`,
 * `main-stable`, `2-alpine`, no tag at all) lets a registry push change what a
 * later `pulumi up` runs without any diff in review, so config refuses it.
 */

const DIGEST = /@sha256:[0-9a-f]{64}$/;
// A tag pins a release when it carries at least major.minor (`2026.1.2`, `6.6-24.04_edge`, `v1.77.5-stable`).
const VERSIONED_TAG = /\d+\.\d+/;

export interface ParsedImage {
  repository: string;
  tag?: string;
  digest?: string;
}

export function parseImageRef(ref: string): ParsedImage {
  const digestMatch = DIGEST.exec(ref);
  const withoutDigest = digestMatch ? ref.slice(0, digestMatch.index) : ref;
  const lastSlash = withoutDigest.lastIndexOf("/");
  const lastColon = withoutDigest.lastIndexOf(":");
  const hasTag = lastColon > lastSlash;
  return {
    repository: hasTag ? withoutDigest.slice(0, lastColon) : withoutDigest,
    tag: hasTag ? withoutDigest.slice(lastColon + 1) : undefined,
    digest: digestMatch ? digestMatch[0].slice(1) : undefined,
  };
}

/** Why an image reference is not pinned, or undefined when it is. */
export function imagePinProblem(ref: string): string | undefined {
  if (!/^[a-z0-9][a-z0-9._\-/:@]*$/.test(ref)) {
    return `"${ref}" is not an image reference`;
  }
  const { tag, digest } = parseImageRef(ref);
  if (digest) return undefined;
  if (!tag) return `"${ref}" has no tag: pin a release tag (e.g. name:1.2.3) or a digest (@sha256:...)`;
  if (!VERSIONED_TAG.test(tag)) {
    return `"${ref}" uses the moving tag "${tag}": pin a release tag with a version (e.g. 1.2.3) or a digest`;
  }
  return undefined;
}
