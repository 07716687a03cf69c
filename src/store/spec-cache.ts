/**
 * Parsed task specs, one per task. A task's spec never changes after insert — `putDesiredTask` for a known
 * ARN only raises the desired status, and no patch carries a spec — yet every `getTask`/`listTasks` would
 * parse the `spec` column again, and the containers loop reads its task several times per reconcile. So the
 * store parses a spec once and hands every reader the same object.
 *
 * Sharing is only safe if nobody writes to it: the cached spec is deep-frozen, so a caller that tries gets a
 * TypeError (ESM is strict mode) instead of silently changing what every later reader sees. Each read still
 * compares the stored text with the text the cached object came from (cheap next to a parse), so a row
 * rewritten by any path — a migration, a hand edit, a re-inserted ARN — is parsed afresh.
 */
import type { TaskSpec } from '../model/task.js';

export class TaskSpecCache {
  readonly #byArn = new Map<string, { text: string; spec: TaskSpec }>();
  readonly #parse: (text: string, arn: string) => TaskSpec;

  /** `parse` turns stored text into a spec and throws (StoreCorruptError) when it cannot; failures are not cached. */
  constructor(parse: (text: string, arn: string) => TaskSpec) {
    this.#parse = parse;
  }

  /** The spec stored as `text` for task `arn`, parsed once per text. */
  get(arn: string, text: string): TaskSpec {
    const cached = this.#byArn.get(arn);
    if (cached !== undefined && cached.text === text) return cached.spec;
    const spec = deepFreeze(this.#parse(text, arn));
    this.#byArn.set(arn, { text, spec });
    return spec;
  }

  forget(arn: string): void {
    this.#byArn.delete(arn);
  }

  /** Specs held (one per task read since it was inserted, until deleted). */
  get size(): number {
    return this.#byArn.size;
  }
}

/** Freezes `value` and everything reachable from it (JSON data: plain objects and arrays, no cycles). */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
