/** The public surface of src/docker/: the engine, the one informer, and the contract types. */
export { type ContainerView, type ContainerViewOptions, createContainerView } from './container-view.js';
export { createDockerEngine, type DockerEngineOptions } from './engine.js';
export { JsonObjectSplitter } from './event-stream.js';
export { createInformer, type Informer, type InformerOptions } from './informer.js';
export { type ImageIndex, normalizeImageRef } from './informer-images.js';
export type { NetworkIndex, VolumeIndex } from './informer-volumes.js';
export { matchesLabelFilter, parseDockerTimeMs, sameObservation, toObservedContainer } from './inspect-map.js';
export * from './types.js';
