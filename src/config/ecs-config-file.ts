/**
 * The `ecs.config` file (default /etc/ecs/ecs.config). ecs-init reads it and hands it to the agent as
 * environment (fact sheet 10); ecsd reads it itself, under the real environment.
 */
import { readFileSync } from 'node:fs';

export const DEFAULT_ECS_CONFIG_PATH = '/etc/ecs/ecs.config';

/**
 * `KEY=VALUE` lines: each line trimmed, split at the first `=`, key and value trimmed, lines without `=`
 * ignored, no quote handling — as ecs-init (fact sheet 10). Extension: lines starting with `#` are
 * comments. A later line for the same key wins.
 */
export function parseEcsConfigFile(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line.startsWith('#')) continue;
    const equals = line.indexOf('=');
    if (equals < 0) continue;
    const key = line.slice(0, equals).trim();
    if (key === '') continue;
    values.set(key, line.slice(equals + 1).trim());
  }
  return values;
}

/** Reads a file as UTF-8; a missing file is `undefined` (no ecs.config is normal), other errors throw. */
export function readFileIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
