/**
 * kubelet's sources-ready: nothing is deleted (image cleanup, task cleanup, orphan reaping) until every
 * desired-state source has delivered its desired state once after start. Before that, a container or image
 * that no stored task names may simply belong to a task the source has not written yet.
 */

export interface SourcesReadyGate {
  /** True once every registered source said it delivered its desired state once. */
  allReady(): boolean;
  /** Called once when the gate opens (at once if it is already open). Returns an unsubscribe. */
  onReady(listener: () => void): () => void;
}

export interface SourceRegistration {
  /** The source delivered its complete desired state once; later calls do nothing. */
  markReady(): void;
}

export class SourcesReady implements SourcesReadyGate {
  readonly #pending = new Set<string>();
  readonly #listeners = new Set<() => void>();
  readonly #registered = new Set<string>();

  /** Every source registers before the manager starts; the gate is closed while any is pending. */
  register(name: string): SourceRegistration {
    if (this.#registered.has(name)) throw new Error(`source ${name} is already registered`);
    this.#registered.add(name);
    this.#pending.add(name);
    return {
      markReady: () => {
        if (!this.#pending.delete(name)) return;
        if (this.#pending.size === 0) this.#open();
      },
    };
  }

  allReady(): boolean {
    return this.#registered.size > 0 && this.#pending.size === 0;
  }

  /** Sources still to deliver, for logs and the health of a start that waits. */
  pending(): string[] {
    return [...this.#pending];
  }

  onReady(listener: () => void): () => void {
    if (this.allReady()) {
      listener();
      return () => {};
    }
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #open(): void {
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) listener();
  }
}
