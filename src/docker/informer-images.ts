/**
 * The informer's images: every local image (the image loops need the whole set, and it is small), by ID and
 * by every reference it is known by, tags and digests alike. A reference names one image at a time, so an
 * image that takes a reference (a newer pull of `:latest`) takes it away from the one that held it.
 */
import { KindStore, type PartContext } from './informer-cache.js';
import { createInspectQueue } from './informer-inspect.js';
import type { DockerEventHint, ObservedImage } from './types.js';

export interface ImageIndex {
  /** By ID (`sha256:…`, the prefix optional) or by any reference, in any spelling Docker accepts. */
  get(idOrRef: string): ObservedImage | undefined;
  all(): ObservedImage[];
  /** Inspects now and updates the cache (removes the image, or the reference, if it is gone). */
  refresh(idOrRef: string): Promise<ObservedImage | undefined>;
}

export interface ImagesPart {
  index: ImageIndex;
  onEvent(event: DockerEventHint): void;
  relist(): Promise<void>;
  stop(): void;
}

const REF_INDEX = 'ref';
const DEFAULT_DOMAIN = 'docker.io';

/**
 * One spelling per reference, as Docker resolves it: `busybox`, `busybox:latest`, `library/busybox` and
 * `docker.io/library/busybox:latest` are one image. A reference without tag or digest means `:latest`; one
 * with a digest is found by the digest alone (Docker ignores the tag then).
 */
export function normalizeImageRef(ref: string): string {
  let name = ref.trim();
  let suffix = '';
  const at = name.indexOf('@');
  if (at >= 0) {
    suffix = name.slice(at);
    name = name.slice(0, at);
  }
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) {
    if (suffix === '') suffix = name.slice(colon);
    name = name.slice(0, colon);
  }
  if (suffix === '') suffix = ':latest';
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  // Docker's rule: the first component is a registry only if it looks like a host (a dot, a port, localhost).
  const hasDomain = first.includes('.') || first.includes(':') || first === 'localhost';
  let domain = hasDomain ? first : DEFAULT_DOMAIN;
  let path = hasDomain ? name.slice(slash + 1) : name;
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  return `${domain}/${path}${suffix}`;
}

function refsOf(image: ObservedImage): string[] {
  return [...new Set([...image.repoTags, ...image.repoDigests].map(normalizeImageRef))];
}

function withoutRef(image: ObservedImage, normalizedRef: string): ObservedImage {
  return {
    ...image,
    repoTags: image.repoTags.filter((tag) => normalizeImageRef(tag) !== normalizedRef),
    repoDigests: image.repoDigests.filter((digest) => normalizeImageRef(digest) !== normalizedRef),
  };
}

function sameImage(a: ObservedImage, b: ObservedImage): boolean {
  return (
    a.id === b.id &&
    a.sizeBytes === b.sizeBytes &&
    a.createdAtMs === b.createdAtMs &&
    a.repoTags.join('\n') === b.repoTags.join('\n') &&
    a.repoDigests.join('\n') === b.repoDigests.join('\n')
  );
}

export function createImagesPart(context: PartContext): ImagesPart {
  const { engine, signal, logger } = context;
  const store = new KindStore<ObservedImage>({
    kind: 'image',
    keyOf: (image) => image.id,
    same: sameImage,
    changeKeys: (image) => ({ imageRefs: [...image.repoTags, ...image.repoDigests] }),
    indexes: { [REF_INDEX]: refsOf },
    notify: context.notify,
  });

  const put = (image: ObservedImage, op: number): void => {
    // Docker lists tags in no fixed order; sorted, two observations of one image compare equal.
    const sorted = { ...image, repoTags: [...image.repoTags].sort(), repoDigests: [...image.repoDigests].sort() };
    if (!store.put(sorted, op)) return;
    for (const ref of refsOf(sorted)) {
      for (const holder of store.byIndex(REF_INDEX, ref)) {
        if (holder.id !== sorted.id) store.put(withoutRef(holder, ref), op);
      }
    }
  };

  const lookup = (idOrRef: string): ObservedImage | undefined =>
    store.get(idOrRef) ?? store.get(`sha256:${idOrRef}`) ?? store.byIndex(REF_INDEX, normalizeImageRef(idOrRef))[0];

  const inspect = async (key: string): Promise<ObservedImage | undefined> => {
    const op = context.nextOp();
    const image = await engine.inspectImage(key, { signal });
    if (context.isStopped()) return image;
    if (image !== undefined) {
      put(image, op);
      return image;
    }
    const cached = store.get(key) ?? store.get(`sha256:${key}`);
    if (cached !== undefined) {
      store.remove(cached.id, op);
    } else {
      // No image answers to this reference any more (untagged or deleted): whoever held it lost it.
      const ref = normalizeImageRef(key);
      for (const holder of store.byIndex(REF_INDEX, ref)) store.put(withoutRef(holder, ref), op);
    }
    return undefined;
  };

  const queue = createInspectQueue({ clock: context.clock, coalesceMs: context.coalesceMs, inspect, logger });

  return {
    index: { get: lookup, all: () => store.all(), refresh: (idOrRef) => queue.refresh(idOrRef) },
    onEvent(event) {
      // pull names the reference; tag, untag, delete, import and load name the image ID. Either is inspectable.
      if (event.id !== '') queue.hint(event.id);
    },
    async relist() {
      const listOp = context.nextOp();
      const images = await engine.listImages({ signal });
      if (context.isStopped()) return;
      for (const image of images) put(image, listOp);
      store.prune(new Set(images.map((image) => image.id)), listOp);
    },
    stop: () => queue.stop(),
  };
}
