/** The public surface of src/docker/: the engine, the shared container view, and the contract types. */
export { type ContainerView, type ContainerViewOptions, createContainerView } from './container-view.js';
export { createDockerEngine, type DockerEngineOptions } from './engine.js';
export { JsonObjectSplitter } from './event-stream.js';
export { matchesLabelFilter, parseDockerTimeMs, sameObservation, toObservedContainer } from './inspect-map.js';
export * from './types.js';
