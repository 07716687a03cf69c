/**
 * The one polling wait every test uses: resolves with the first truthy value `probe` returns, or rejects
 * after `timeoutMs` naming what was awaited (and, through `describe`, what was last seen).
 */
import type { DockerEngine, ObservedContainer } from '../../src/docker/types.js';

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Appended to the timeout error, e.g. the agent's log tail. */
  describe?: () => string;
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  options: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) {
      const detail = options.describe?.();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? `\n${detail}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Polls `docker inspect` of `id` until `predicate` holds; resolves with that observation. */
export function waitForContainerState(
  engine: Pick<DockerEngine, 'inspectContainer'>,
  id: string,
  predicate: (container: ObservedContainer) => boolean,
  options: WaitForOptions = {},
): Promise<ObservedContainer> {
  return waitFor(
    `container ${id} in the expected state`,
    async () => {
      const observed = await engine.inspectContainer(id);
      return observed !== undefined && predicate(observed) ? observed : undefined;
    },
    options,
  );
}
