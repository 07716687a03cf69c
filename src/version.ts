/**
 * Version information. The commit is recorded at build time into dist/build-info.json by the Makefile;
 * a build without it (e.g. plain `tsc`) reports "unknown" rather than guessing.
 */
import { readFileSync } from 'node:fs';

export const AGENT_VERSION = '0.1.0';
/** The upstream agent release whose behaviour ecsd matches (fact sheet 0). */
export const UPSTREAM_COMPATIBLE_VERSION = '1.105.1';

export function buildCommit(): string {
  try {
    const info = JSON.parse(readFileSync(new URL('../build-info.json', import.meta.url), 'utf8')) as {
      commit?: string;
    };
    return info.commit ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Upstream's `-version` output shape, naming ecsd. */
export function versionText(): string {
  return `Amazon ECS Agent (ecsd):\n\tVersion: ${AGENT_VERSION} (compatible with ${UPSTREAM_COMPATIBLE_VERSION})\n\tCommit: ${buildCommit()}\n`;
}
