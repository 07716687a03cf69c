/**
 * The informer's volumes and networks.
 *
 * Volumes: those carrying the agent's labels, plus any volume a loop asked about (ensureTracked), by name.
 * Docker's volume events carry the driver, not the volume's labels, so a `create` is inspected to learn
 * whether the volume is ours; mount/unmount change nothing the cache holds and are ignored.
 *
 * Networks: all of them (a host has few), by ID and by name. The engine has no network inspect, so an event
 * (coalesced) lists the networks again.
 */
import { KindStore, type PartContext } from './informer-cache.js';
import { createInspectQueue } from './informer-inspect.js';
import { matchesLabelFilter } from './inspect-map.js';
import type { DockerEventHint, ObservedNetwork, ObservedVolume } from './types.js';

export interface VolumeIndex {
  get(name: string): ObservedVolume | undefined;
  all(): ObservedVolume[];
  /** Inspects now and updates the cache; removes the volume (and notifies) if it is gone. */
  refresh(name: string): Promise<ObservedVolume | undefined>;
  /**
   * Keeps `name` cached from now on even without the agent's labels (a shared volume someone else made),
   * current through events and relists; inspects it at once.
   */
  ensureTracked(name: string): Promise<ObservedVolume | undefined>;
}

export interface NetworkIndex {
  /** By ID or by name. */
  get(idOrName: string): ObservedNetwork | undefined;
  all(): ObservedNetwork[];
  /** Lists the networks now. */
  refresh(): Promise<void>;
}

export interface ObjectsPart<I> {
  index: I;
  onEvent(event: DockerEventHint): void;
  relist(): Promise<void>;
  stop(): void;
}

const sameRecord = (a: Record<string, string>, b: Record<string, string>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((key) => a[key] === b[key]);

export function createVolumesPart(context: PartContext & { labelFilter: readonly string[] }): ObjectsPart<VolumeIndex> {
  const { engine, signal, labelFilter } = context;
  const requested = new Set<string>();
  const store = new KindStore<ObservedVolume>({
    kind: 'volume',
    keyOf: (volume) => volume.name,
    same: (a, b) =>
      a.name === b.name && a.driver === b.driver && a.mountpoint === b.mountpoint && sameRecord(a.labels, b.labels),
    changeKeys: (volume) => ({ volumeName: volume.name }),
    notify: context.notify,
  });
  const tracked = (volume: ObservedVolume): boolean =>
    requested.has(volume.name) || matchesLabelFilter(volume.labels, labelFilter);

  const inspect = async (name: string): Promise<ObservedVolume | undefined> => {
    const op = context.nextOp();
    const volume = await engine.inspectVolume(name, { signal });
    if (context.isStopped()) return volume;
    if (volume !== undefined && tracked(volume)) store.put(volume, op);
    else store.remove(name, op);
    return volume;
  };
  const queue = createInspectQueue({
    clock: context.clock,
    coalesceMs: context.coalesceMs,
    inspect,
    logger: context.logger,
  });

  return {
    index: {
      get: (name) => store.get(name),
      all: () => store.all(),
      refresh: (name) => queue.refresh(name),
      ensureTracked(name) {
        requested.add(name);
        return queue.refresh(name);
      },
    },
    onEvent(event) {
      if (event.id === '') return;
      if (
        event.action === 'create' ||
        ((event.action === 'destroy' || event.action === 'remove') && store.has(event.id))
      ) {
        queue.hint(event.id);
      }
    },
    async relist() {
      const listOp = context.nextOp();
      const volumes = await engine.listVolumes([...labelFilter], { signal });
      if (context.isStopped()) return;
      const listed = new Set<string>();
      for (const volume of volumes) {
        listed.add(volume.name);
        store.put(volume, listOp);
      }
      // Volumes tracked on request are not in the labelled list: each is inspected instead.
      const unlisted = [...requested].filter((name) => !listed.has(name));
      store.prune(listed, listOp, (name) => requested.has(name));
      await Promise.all(unlisted.map((name) => queue.refresh(name).catch(() => undefined)));
    },
    stop: () => queue.stop(),
  };
}

/** The one key of the networks' queue: any network event means "list the networks again". */
const ALL_NETWORKS = '*';

export function createNetworksPart(context: PartContext): ObjectsPart<NetworkIndex> {
  const { engine, signal } = context;
  const store = new KindStore<ObservedNetwork>({
    kind: 'network',
    keyOf: (network) => network.id,
    same: (a, b) => a.id === b.id && a.name === b.name && a.driver === b.driver && sameRecord(a.labels, b.labels),
    changeKeys: () => ({}),
    indexes: { name: (network) => [network.name] },
    notify: context.notify,
  });

  const list = async (): Promise<void> => {
    const listOp = context.nextOp();
    const networks = await engine.listNetworks({ signal });
    if (context.isStopped()) return;
    for (const network of networks) store.put(network, listOp);
    store.prune(new Set(networks.map((network) => network.id)), listOp);
  };
  const queue = createInspectQueue({
    clock: context.clock,
    coalesceMs: context.coalesceMs,
    inspect: list,
    logger: context.logger,
  });

  return {
    index: {
      get: (idOrName) => store.get(idOrName) ?? store.byIndex('name', idOrName)[0],
      all: () => store.all(),
      refresh: () => queue.refresh(ALL_NETWORKS),
    },
    onEvent(event) {
      // connect/disconnect change which containers are attached, which the cache does not hold.
      if (event.action === 'create' || event.action === 'destroy' || event.action === 'remove') {
        queue.hint(ALL_NETWORKS);
      }
    },
    relist: () => queue.refresh(ALL_NETWORKS),
    stop: () => queue.stop(),
  };
}
