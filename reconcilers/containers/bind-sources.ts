/**
 * Creating the missing host directories of a container's bind mounts before its create. Docker created a
 * missing `Binds` source itself (MkdirAll, 0755, as root) and upstream ECS relies on that; a bind in
 * `HostConfig.Mounts` — which the agent uses so no mount options can be injected — is refused instead
 * ("bind source path does not exist"), and `BindOptions.CreateMountpoint` needs API 1.42 (Docker 23).
 * So the agent does what Docker did, with the same mode. Which paths: `bindMountSources` (create-body.ts).
 */
import { mkdirSync, statSync } from 'node:fs';
import { CannotCreateContainerError, errorMessage } from '../../src/errors.js';

/** Docker's mode for a bind source it creates (daemon/volumes: `os.MkdirAll(path, 0755)`, umask applies). */
export const BIND_SOURCE_DIR_MODE = 0o755;

/** The file-system calls this needs, so tests can see what would be made without touching the host. */
export interface BindSourceFs {
  exists(path: string): boolean;
  mkdirp(path: string, mode: number): void;
}

export const nodeBindSourceFs: BindSourceFs = {
  exists: (path) => {
    try {
      statSync(path);
      return true;
    } catch {
      return false;
    }
  },
  mkdirp: (path, mode) => {
    mkdirSync(path, { recursive: true, mode });
  },
};

/**
 * Creates each missing path as a directory (with its parents). Returns the paths it created. Throws a
 * CannotCreateContainerError naming the path when one cannot be made, which is what Docker's create
 * failed with for Binds.
 */
export function ensureBindMountSources(paths: readonly string[], fs: BindSourceFs = nodeBindSourceFs): string[] {
  const created: string[] = [];
  for (const path of paths) {
    if (fs.exists(path)) continue;
    try {
      fs.mkdirp(path, BIND_SOURCE_DIR_MODE);
    } catch (error) {
      throw new CannotCreateContainerError(`error while creating mount source path '${path}': ${errorMessage(error)}`, {
        cause: error,
        context: { path },
      });
    }
    created.push(path);
  }
  return created;
}
