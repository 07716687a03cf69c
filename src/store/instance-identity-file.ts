/**
 * The container instance identity, mirrored outside the database (`<dataDir>/ecsd-instance.json`) so that a
 * quarantined database does not cost the instance its ARN: upstream re-uses the saved ARN on restart when the
 * cluster and EC2 instance ID match (fact sheet 4.10, 10), and registering a second instance for the same host
 * would leave a ghost in the cluster. Only identity fields are kept (not the registration inputs, which are
 * rebuilt on every start), and never credentials.
 *
 * Written atomically: a temp file in the same directory, fsync, rename, so a crash leaves the old or the new
 * file, never half of one.
 */
import { closeSync, fchmodSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, StoreError } from '../errors.js';
import type { Logger } from '../logging/types.js';
import type { InstanceRecord } from './records.js';

export const INSTANCE_IDENTITY_FILE_NAME = 'ecsd-instance.json';
const FORMAT_VERSION = 1;

export type InstanceIdentity = Pick<
  InstanceRecord,
  'cluster' | 'containerInstanceArn' | 'ec2InstanceId' | 'availabilityZone' | 'agentVersion'
>;

const OPTIONAL_FIELDS = ['containerInstanceArn', 'ec2InstanceId', 'availabilityZone', 'agentVersion'] as const;

export function identityOf(instance: InstanceRecord): InstanceIdentity {
  const identity: InstanceIdentity = { cluster: instance.cluster };
  for (const field of OPTIONAL_FIELDS) {
    const value = instance[field];
    if (value !== undefined) identity[field] = value;
  }
  return identity;
}

export class InstanceIdentityFile {
  readonly path: string;
  readonly #logger: Logger;

  constructor(dataDir: string, logger: Logger) {
    this.path = join(dataDir, INSTANCE_IDENTITY_FILE_NAME);
    this.#logger = logger;
  }

  /** The saved identity, or undefined when there is none or it cannot be read (logged, file left in place). */
  read(): InstanceIdentity | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      this.#logger.warn('store: cannot read the instance identity file', {
        path: this.path,
        error: errorMessage(error),
      });
      return undefined;
    }
    const identity = parseIdentity(text);
    if (identity === undefined) {
      this.#logger.warn('store: ignoring a malformed instance identity file', { path: this.path });
    }
    return identity;
  }

  write(instance: InstanceRecord): void {
    const body = `${JSON.stringify({ version: FORMAT_VERSION, instance: identityOf(instance) }, null, 2)}\n`;
    const tempPath = `${this.path}.tmp-${process.pid}`;
    try {
      const fd = openSync(tempPath, 'w', 0o600);
      try {
        // A temp file left by a crash keeps its old mode through open(); set it explicitly.
        fchmodSync(fd, 0o600);
        writeSync(fd, body);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tempPath, this.path);
    } catch (error) {
      try {
        unlinkSync(tempPath);
      } catch {
        // Nothing to clean up.
      }
      throw new StoreError('cannot write the instance identity file', {
        cause: error,
        context: { path: this.path },
      });
    }
  }
}

function parseIdentity(text: string): InstanceIdentity | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const instance = (parsed as { instance?: unknown }).instance;
  if (typeof instance !== 'object' || instance === null) return undefined;
  const fields = instance as Record<string, unknown>;
  if (typeof fields.cluster !== 'string') return undefined;
  const identity: InstanceIdentity = { cluster: fields.cluster };
  for (const field of OPTIONAL_FIELDS) {
    const value = fields[field];
    if (typeof value === 'string') identity[field] = value;
    else if (value !== undefined) return undefined;
  }
  return identity;
}
