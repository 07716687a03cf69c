/** The public surface of src/docker/: the engine, the one informer, and the contract types. */
export { MAX_DOCKER_API_VERSION, MIN_DOCKER_API_VERSION } from './api-version.js';
export type { DockerTlsOptions } from './client.js';
export { type ContainerView, type ContainerViewOptions, createContainerView } from './container-view.js';
export { createDockerEngine, type DockerEngineOptions, SUBSCRIBED_EVENT_TYPES, SUBSCRIBED_EVENTS } from './engine.js';
export { createInformer, type Informer, type InformerOptions } from './informer.js';
export { type ImageIndex, normalizeImageRef } from './informer-images.js';
export type { NetworkIndex, VolumeIndex } from './informer-volumes.js';
export { matchesLabelFilter, parseDockerTimeMs, sameObservation, toObservedContainer } from './inspect-map.js';
export { NdjsonLineSplitter } from './ndjson.js';
export * from './types.js';
