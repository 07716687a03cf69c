/**
 * Task IAM role credentials, held in memory only: ACS delivers them in PayloadMessages and
 * IAMRoleCredentialsMessages (fact sheet 2.4, 2.6); the credentials endpoint (`/v2/credentials/{id}`, 5.3)
 * serves them to a task's containers and the images loop takes the execution role's for ECR pulls.
 *
 * They are never written to the store and never logged: a restart loses them, as upstream (its state file
 * keeps only the credentials ID), and ACS sends fresh ones with the next payload or refresh. The entries live
 * in private fields, so even logging the manager by mistake (util.inspect) shows no secret.
 *
 * A task may be pointed at a new credentials ID by a refresh; the IDs it had before stay served until the task
 * is removed, because containers already started carry the old ID in AWS_CONTAINER_CREDENTIALS_RELATIVE_URI.
 */
import { InternalError } from '../errors.js';

export const ROLE_TYPES = ['TaskApplication', 'TaskExecution'] as const;
export type RoleType = (typeof ROLE_TYPES)[number];

export interface TaskCredentials {
  taskArn: string;
  roleType: RoleType;
  credentialsId: string;
  roleArn: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** As ACS sent it (RFC 3339); served back unchanged. */
  expiration: string;
}

export function isRoleType(value: unknown): value is RoleType {
  return typeof value === 'string' && (ROLE_TYPES as readonly string[]).includes(value);
}

export class CredentialsManager {
  readonly #byId = new Map<string, Readonly<TaskCredentials>>();
  /** Per task: the current credentials ID of each role type. */
  readonly #current = new Map<string, Map<RoleType, string>>();
  /** Per task: every credentials ID it was ever given (removed together with the task). */
  readonly #owned = new Map<string, Set<string>>();

  /** Stores (or refreshes) a set of credentials and makes it the task's current one for its role type. */
  set(entry: TaskCredentials): void {
    for (const field of ['taskArn', 'credentialsId', 'accessKeyId', 'secretAccessKey'] as const) {
      if (entry[field] === '') {
        throw new InternalError(`task credentials without ${field}`, {
          errorClass: 'terminal',
          context: { taskArn: entry.taskArn, credentialsId: entry.credentialsId },
        });
      }
    }
    if (!isRoleType(entry.roleType)) {
      throw new InternalError(`unknown role type "${String(entry.roleType)}"`, {
        errorClass: 'terminal',
        context: { taskArn: entry.taskArn, credentialsId: entry.credentialsId },
      });
    }
    const previousOwner = this.#byId.get(entry.credentialsId)?.taskArn;
    if (previousOwner !== undefined && previousOwner !== entry.taskArn) {
      // One ID served to two tasks would hand one task's role to the other.
      throw new InternalError(`credentials ID is already held by another task`, {
        errorClass: 'terminal',
        context: { taskArn: entry.taskArn, credentialsId: entry.credentialsId, heldBy: previousOwner },
      });
    }
    this.#byId.set(entry.credentialsId, Object.freeze({ ...entry }));
    let roles = this.#current.get(entry.taskArn);
    if (roles === undefined) {
      roles = new Map();
      this.#current.set(entry.taskArn, roles);
    }
    roles.set(entry.roleType, entry.credentialsId);
    let owned = this.#owned.get(entry.taskArn);
    if (owned === undefined) {
      owned = new Set();
      this.#owned.set(entry.taskArn, owned);
    }
    owned.add(entry.credentialsId);
  }

  get(credentialsId: string): Readonly<TaskCredentials> | undefined {
    return this.#byId.get(credentialsId);
  }

  /** The task's current credentials of that role type. */
  forTask(taskArn: string, roleType: RoleType): Readonly<TaskCredentials> | undefined {
    const id = this.#current.get(taskArn)?.get(roleType);
    return id === undefined ? undefined : this.#byId.get(id);
  }

  /** Forgets every credentials set the task was given (task cleanup). */
  removeTask(taskArn: string): void {
    for (const id of this.#owned.get(taskArn) ?? []) this.#byId.delete(id);
    this.#owned.delete(taskArn);
    this.#current.delete(taskArn);
  }

  /** How many credential sets are held (for tests and introspection; never the values). */
  size(): number {
    return this.#byId.size;
  }
}
