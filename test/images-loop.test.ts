/**
 * The images loop over a real (in-memory) store with a counting engine: single-flight (ten tasks with one
 * image cause one pull, and a task arriving mid-pull joins it), the pull and image records it writes, and
 * the pull runner's attempts, classification and metrics.
 */
import test from 'ava';
import type { ImagePresence } from '../reconcilers/containers/image-presence.js';
import { createImagesLoop } from '../reconcilers/images/loop.js';
import { classifyPullFailure } from '../reconcilers/images/pull-errors.js';
import { PullProgressTracker } from '../reconcilers/images/pull-progress.js';
import { type PullRunnerDeps, runPull } from '../reconcilers/images/pull-runner.js';
import { createMutationLimiter } from '../reconcilers/runtime/mutation-limiter.js';
import { type Clock, systemClock } from '../src/clock.js';
import type { DockerEngine, ImagePullOptions, ObservedImage } from '../src/docker/types.js';
import { CannotPullContainerError, CannotPullECRContainerError, DockerTimeoutError } from '../src/errors.js';
import { silentLogger } from '../src/logging/types.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import { openStore } from '../src/store/index.js';
import type { DesiredStateStore } from '../src/store/records.js';
import { deferred, fastLoopRuntime } from './helpers/runtime-harness.js';
import { containerSpec, taskSpecWith } from './helpers/specs.js';
import { waitFor } from './helpers/wait-for.js';

const IMAGE = '127.0.0.1:5000/shared:1';
const REF = '127.0.0.1:5000/shared:1';
const OBSERVED: ObservedImage = {
  id: 'sha256:feed',
  repoTags: [IMAGE],
  repoDigests: [],
  sizeBytes: 4_096,
  createdAtMs: 0,
};

function memoryStore(): DesiredStateStore {
  return openStore({ dataDir: '/nonexistent', checkpoint: false, logger: silentLogger }).store;
}

/** A task waiting on the pull of its one container's image, as the containers planner leaves it. */
function addWaitingTask(store: DesiredStateStore, n: number, image = IMAGE): string {
  const arn = `arn:aws:ecs:us-east-1:111122223333:task/demo/${n.toString().padStart(4, '0')}`;
  store.putDesiredTask(taskSpecWith(arn, [containerSpec('app', { image })]));
  store.recordObservation({ taskArn: arn, task: { pullStartedAtMs: Date.now() } });
  return arn;
}

const noPresence: ImagePresence = { present: async () => new Set(), invalidate: () => {} };

function countingEngine(gate?: Promise<void>) {
  const pulls: Array<{ ref: string; options: ImagePullOptions }> = [];
  const engine = {
    async pullImage(ref: string, options: ImagePullOptions) {
      pulls.push({ ref, options });
      options.onProgress?.({ status: 'Pulling fs layer', id: 'l1' });
      options.onProgress?.({ status: 'Downloading', id: 'l1', currentBytes: 10, totalBytes: 20 });
      await gate;
      options.onProgress?.({ status: 'Pull complete', id: 'l1' });
    },
  } as unknown as Pick<DockerEngine, 'pullImage'>;
  return { engine, pulls };
}

function runnerDeps(
  store: DesiredStateStore,
  engine: Pick<DockerEngine, 'pullImage'>,
  clock: Clock = systemClock,
): PullRunnerDeps {
  return {
    engine,
    refreshImage: async () => OBSERVED,
    store,
    invalidatePresence: () => {},
    mutations: createMutationLimiter({ limit: 2 }),
    metrics: createMetricsRegistry().images,
    logger: silentLogger,
    clock,
    pullTimeoutMs: 60_000,
    inactivityTimeoutMs: 60_000,
  };
}

test('ten tasks with one image cause one pull; a task arriving mid-pull joins it', async (t) => {
  const store = memoryStore();
  const gate = deferred();
  const { engine, pulls } = countingEngine(gate.promise);
  const metrics = createMetricsRegistry();
  const loop = createImagesLoop({
    store,
    presence: noPresence,
    settings: { behavior: 'always', dependentContainersUpfront: false },
    nowMs: () => Date.now(),
    runner: { ...runnerDeps(store, engine), metrics: metrics.images },
    runtime: fastLoopRuntime(metrics, 4),
  });
  for (let n = 0; n < 10; n++) addWaitingTask(store, n);
  loop.start();
  try {
    await waitFor('the first pull', () => pulls.length === 1, { timeoutMs: 5_000, intervalMs: 5 });
    t.is(await metrics.sampleValue('ecs_agent_image_pulls_in_flight'), 1);
    addWaitingTask(store, 10);
    // The new waiter wakes the key; its plan sees the pull in flight and asks for nothing more. (syncOnce
    // would wait for the held pull itself.)
    await waitFor('a plan made while the pull runs', () => loop.lastPlans().get(REF)?.actions.length === 0, {
      timeoutMs: 5_000,
      intervalMs: 5,
    });
    t.is(pulls.length, 1, 'one pull for every waiting container, however many tasks');
    t.is(store.getImagePull(REF)?.state, 'pulling');
    gate.resolve();
    await waitFor('the pull to succeed', () => store.getImagePull(REF)?.state === 'succeeded', {
      timeoutMs: 5_000,
      intervalMs: 5,
    });
    await loop.syncOnce();
    t.is(pulls.length, 1, 'the pull that ended serves every task that waited before it ended');
    const record = store.getImagePull(REF);
    t.is(record?.imageId, OBSERVED.id);
    t.is(record?.totalBytes, 20);
    t.deepEqual(store.getImage(OBSERVED.id)?.names, [REF]);
    t.true(store.getImage(OBSERVED.id)?.pullSucceeded);
    t.is(await metrics.sampleValue('ecs_agent_image_pulls_total', { result: 'success' }), 1);
    t.is(await metrics.sampleValue('ecs_agent_image_pulls_in_flight'), 0);
    // A task that starts waiting after that pull ended gets a pull of its own under `always`.
    await new Promise((resolve) => setTimeout(resolve, 5));
    addWaitingTask(store, 11);
    await waitFor('a second pull', () => pulls.length === 2, { timeoutMs: 5_000, intervalMs: 5 });
    t.pass();
  } finally {
    gate.resolve();
    await loop.stop(1_000);
    store.close();
  }
});

test('a task already desired STOPPED asks for no pull', async (t) => {
  const store = memoryStore();
  const { engine, pulls } = countingEngine();
  const metrics = createMetricsRegistry();
  const loop = createImagesLoop({
    store,
    presence: noPresence,
    settings: { behavior: 'always', dependentContainersUpfront: false },
    nowMs: () => Date.now(),
    runner: runnerDeps(store, engine),
    runtime: fastLoopRuntime(metrics, 2),
  });
  const arn = addWaitingTask(store, 1);
  store.raiseTaskDesiredStatus(arn, 'STOPPED');
  await loop.syncOnce();
  t.is(pulls.length, 0);
  await loop.stop(1_000);
  store.close();
});

/** A clock whose sleeps return at once and are remembered, so the backoff schedule is visible. */
function recordingClock(): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return { ...systemClock, sleeps, sleep: async (ms) => void sleeps.push(ms) };
}

function failingEngine(errors: unknown[]) {
  let calls = 0;
  const engine = {
    async pullImage() {
      calls += 1;
      const error = errors.shift();
      if (error !== undefined) throw error;
    },
  } as unknown as Pick<DockerEngine, 'pullImage'>;
  return { engine, calls: () => calls };
}

test('transient failures are retried 5 times with 1.1 s → 5 s backoff, then recorded with the registry message', async (t) => {
  const store = memoryStore();
  const clock = recordingClock();
  const refused = new CannotPullContainerError(
    'Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused',
  );
  const { engine, calls } = failingEngine([refused, refused, refused, refused, refused]);
  const metrics = createMetricsRegistry();
  await runPull(
    { ...runnerDeps(store, engine, clock), metrics: metrics.images },
    { ref: REF, image: IMAGE, retry: true },
    new AbortController().signal,
  );
  t.is(calls(), 5);
  t.deepEqual(clock.sleeps, [1_100, 2_200, 4_400, 5_000]);
  const record = store.getImagePull(REF);
  t.is(record?.state, 'failed');
  t.is(record?.failure, 'network');
  t.is(record?.attempts, 5);
  t.is(record?.reason, `CannotPullContainerError: pull of ${IMAGE} failed: ${refused.message}`);
  t.is(await metrics.sampleValue('ecs_agent_image_pulls_total', { result: 'network' }), 1);
  store.close();
});

test('auth and not-found failures are not retried; neither is anything when retry is off', async (t) => {
  const store = memoryStore();
  const denied = new CannotPullContainerError(
    'Head "http://127.0.0.1:5000/v2/app/manifests/1": no basic auth credentials',
  );
  const first = failingEngine([denied, denied]);
  await runPull(
    runnerDeps(store, first.engine, recordingClock()),
    { ref: REF, image: IMAGE, retry: true },
    new AbortController().signal,
  );
  t.is(first.calls(), 1);
  t.is(store.getImagePull(REF)?.failure, 'auth');
  const dns = new CannotPullContainerError(
    'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host',
  );
  const second = failingEngine([dns, dns]);
  await runPull(
    runnerDeps(store, second.engine, recordingClock()),
    { ref: REF, image: IMAGE, retry: false },
    new AbortController().signal,
  );
  t.is(second.calls(), 1, 'a cached image under default is used at once: one attempt');
  t.is(store.getImagePull(REF)?.failure, 'network');
  store.close();
});

test('a success after transient failures keeps the last success for `once`, and a later failure keeps it too', async (t) => {
  const store = memoryStore();
  const reset = new CannotPullContainerError('read tcp 127.0.0.1:5000: connection reset by peer');
  const flaky = failingEngine([reset]);
  await runPull(
    runnerDeps(store, flaky.engine, recordingClock()),
    { ref: REF, image: IMAGE, retry: true },
    new AbortController().signal,
  );
  t.is(flaky.calls(), 2);
  const ok = store.getImagePull(REF);
  t.is(ok?.state, 'succeeded');
  t.is(ok?.attempts, 2);
  t.truthy(ok?.lastSucceededAtMs);
  const gone = failingEngine([new CannotPullContainerError('manifest unknown')]);
  await runPull(
    runnerDeps(store, gone.engine, recordingClock()),
    { ref: REF, image: IMAGE, retry: true },
    new AbortController().signal,
  );
  t.is(store.getImagePull(REF)?.state, 'failed');
  t.is(store.getImagePull(REF)?.lastSucceededAtMs, ok?.lastSucceededAtMs);
  store.close();
});

test('failures are classified from the registry message', (t) => {
  const cases: Array<[unknown, ReturnType<typeof classifyPullFailure>]> = [
    [
      new CannotPullContainerError('pull access denied for x, repository does not exist or may require docker login'),
      'auth',
    ],
    [new CannotPullContainerError('manifest for 127.0.0.1:5000/app:2 not found: manifest unknown'), 'not_found'],
    [new CannotPullContainerError('toomanyrequests: You have reached your pull rate limit'), 'rate_limited'],
    [new CannotPullContainerError('write /var/lib/docker/tmp/x: no space left on device'), 'disk_full'],
    [new DockerTimeoutError('Docker pull of x made no progress for 60000ms'), 'timeout'],
    [new CannotPullContainerError('dial tcp 127.0.0.1:5999: connect: connection refused'), 'network'],
    [new CannotPullContainerError('unauthorized: authentication required'), 'auth'],
    [new Error('something else entirely'), 'unknown'],
  ];
  for (const [error, kind] of cases) t.is(classifyPullFailure(error), kind, String(error));
});

test('progress sums sized layers and names only milestones', (t) => {
  const tracker = new PullProgressTracker();
  t.is(tracker.add({ status: 'Pulling fs layer', id: 'a' }), 'a: Pulling fs layer');
  t.is(tracker.add({ status: 'Downloading', id: 'a', currentBytes: 5, totalBytes: 10 }), undefined);
  t.is(tracker.add({ status: 'Downloading', id: 'b', currentBytes: 1, totalBytes: 30 }), undefined);
  t.deepEqual(tracker.totals(), { currentBytes: 6, totalBytes: 40 });
  t.is(tracker.add({ status: 'Pull complete', id: 'a' }), 'a: Pull complete');
  t.deepEqual(tracker.totals(), { currentBytes: 11, totalBytes: 40 });
  t.is(tracker.add({ status: 'Digest: sha256:abc' }), undefined);
});

test('a pull asks for credentials with the first waiter’s task and registryAuthentication, and sends them', async (t) => {
  const store = memoryStore();
  const { engine, pulls } = countingEngine();
  const registryAuth = {
    type: 'ecr' as const,
    ecrAuthData: { registryId: '111122223333', region: 'us-east-1', useExecutionRole: true },
  };
  const arn = 'arn:aws:ecs:us-east-1:111122223333:task/demo/ecr';
  store.putDesiredTask(taskSpecWith(arn, [containerSpec('app', { image: IMAGE, registryAuth })]));
  store.recordObservation({ taskArn: arn, task: { pullStartedAtMs: Date.now() } });
  const targets: unknown[] = [];
  const metrics = createMetricsRegistry();
  const loop = createImagesLoop({
    store,
    presence: noPresence,
    settings: { behavior: 'always', dependentContainersUpfront: false },
    nowMs: () => Date.now(),
    runner: {
      ...runnerDeps(store, engine),
      authFor: async (target) => {
        targets.push(target);
        return { username: 'AWS', password: 'token', serveraddress: 'https://ecr.example' };
      },
    },
    runtime: fastLoopRuntime(metrics, 4),
  });
  loop.start();
  try {
    await waitFor('the pull to succeed', () => store.getImagePull(REF)?.state === 'succeeded', {
      timeoutMs: 5_000,
      intervalMs: 5,
    });
    t.deepEqual(targets, [{ ref: REF, image: IMAGE, taskArn: arn, registryAuth }]);
    t.deepEqual(pulls[0]?.options.auth, { username: 'AWS', password: 'token', serveraddress: 'https://ecr.example' });
  } finally {
    await loop.stop(1_000);
    store.close();
  }
});

test('a credentials failure fails the pull with its own reason: a denial once, a network failure retried', async (t) => {
  const store = memoryStore();
  const { engine, pulls } = countingEngine();
  const denied = new CannotPullECRContainerError(
    'GetAuthorizationToken for registry 1 in us-east-1 failed: AccessDeniedException: not authorized',
  );
  let asked = 0;
  await runPull(
    {
      ...runnerDeps(store, engine, recordingClock()),
      authFor: async () => {
        asked++;
        throw denied;
      },
    },
    { ref: REF, image: IMAGE, retry: true },
    new AbortController().signal,
  );
  t.is(asked, 1);
  t.is(pulls.length, 0, 'no pull without the credentials it needs');
  t.like(store.getImagePull(REF), { state: 'failed', failure: 'auth', attempts: 1, reason: denied.toReason() });

  const clock = recordingClock();
  const unreachable = new CannotPullECRContainerError('GetAuthorizationToken failed: ECONNREFUSED', {
    errorClass: 'transient',
  });
  let tries = 0;
  await runPull(
    {
      ...runnerDeps(store, engine, clock),
      authFor: async () => {
        tries++;
        if (tries < 3) throw unreachable;
        return undefined;
      },
    },
    { ref: REF, image: IMAGE, retry: true },
    new AbortController().signal,
  );
  t.is(tries, 3);
  t.deepEqual(clock.sleeps, [1_100, 2_200]);
  t.is(store.getImagePull(REF)?.state, 'succeeded');
  store.close();
});
