/**
 * The informer's images, volumes and networks against the in-memory engine, on a fake clock: what is cached,
 * the indexes, and how events and relists keep them current.
 */
import test from 'ava';
import { createInformer, type Informer } from '../src/docker/informer.js';
import { normalizeImageRef } from '../src/docker/informer-images.js';
import { DOCKER_OBJECT_KINDS, type InformerChange, LABEL_TASK_ARN } from '../src/docker/types.js';
import { silentLogger } from '../src/logging/types.js';
import { FakeClock, flushAsync } from './helpers/fake-clock.js';
import { FakeDockerEngine } from './helpers/fake-docker-engine.js';

const COALESCE_MS = 10;
const OURS = { [LABEL_TASK_ARN]: 'arn:aws:ecs:us-west-2:123456789012:task/test/abc' };
const BUSYBOX_ID = `sha256:${'b'.repeat(64)}`;
const NEWER_BUSYBOX_ID = `sha256:${'c'.repeat(64)}`;

interface Fixture {
  clock: FakeClock;
  engine: FakeDockerEngine;
  informer: Informer;
  changes: InformerChange[];
}

function setup(): Fixture {
  const clock = new FakeClock();
  const engine = new FakeDockerEngine({ agentNowMs: () => clock.nowMs() });
  const informer = createInformer({
    engine,
    labelFilter: [LABEL_TASK_ARN],
    resyncIntervalMs: 60_000,
    logger: silentLogger,
    clock,
    coalesceMs: COALESCE_MS,
  });
  const changes: InformerChange[] = [];
  for (const kind of DOCKER_OBJECT_KINDS) informer.subscribe(kind, (change) => changes.push(change));
  return { clock, engine, informer, changes };
}

const count = (engine: FakeDockerEngine, op: string): number => engine.callCounts()[op] ?? 0;

for (const [ref, normalized] of [
  ['busybox', 'docker.io/library/busybox:latest'],
  ['busybox:latest', 'docker.io/library/busybox:latest'],
  ['library/busybox', 'docker.io/library/busybox:latest'],
  ['docker.io/library/busybox:latest', 'docker.io/library/busybox:latest'],
  ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest'],
  ['ecsd-test/busybox', 'docker.io/ecsd-test/busybox:latest'],
  ['localhost:5000/app:1.2', 'localhost:5000/app:1.2'],
  ['localhost/app', 'localhost/app:latest'],
  ['registry.example.com/team/app', 'registry.example.com/team/app:latest'],
  ['busybox@sha256:abc', 'docker.io/library/busybox@sha256:abc'],
  ['busybox:1.36@sha256:abc', 'docker.io/library/busybox@sha256:abc'],
] as const) {
  test(`normalizeImageRef(${ref}) is ${normalized}`, (t) => {
    t.is(normalizeImageRef(ref), normalized);
  });
}

test('every image is cached, found by ID and by every reference in any spelling', async (t) => {
  const f = setup();
  f.engine.putImage(
    { id: BUSYBOX_ID, repoTags: ['busybox:latest', 'ecsd-test/busybox:latest'], repoDigests: ['busybox@sha256:d1'] },
    { event: false },
  );
  f.engine.putImage({ id: `sha256:${'d'.repeat(64)}`, repoTags: [] }, { event: false });
  await f.informer.start();
  const images = f.informer.images;
  t.is(images.all().length, 2, 'untagged images too');
  for (const ref of [
    BUSYBOX_ID,
    'b'.repeat(64),
    'busybox',
    'docker.io/library/busybox:latest',
    'ecsd-test/busybox',
    'busybox@sha256:d1',
  ]) {
    t.is(images.get(ref)?.id, BUSYBOX_ID, ref);
  }
  t.is(images.get('busybox:1.36'), undefined);
  t.is(count(f.engine, 'inspectImage'), 0, 'the list carries everything: no inspects');
});

test('a pull that moves a tag to a new image re-indexes both, and the change names the moved reference', async (t) => {
  const f = setup();
  f.engine.putImage({ id: BUSYBOX_ID, repoTags: ['busybox:latest', 'busybox:1.36'] }, { event: false });
  await f.informer.start();
  f.changes.length = 0;
  f.engine.putImage({ id: NEWER_BUSYBOX_ID, repoTags: ['busybox:latest'] });
  await f.clock.advanceAsync(COALESCE_MS);
  t.is(count(f.engine, 'inspectImage'), 1, 'the pull event names the reference, which is inspected');
  t.is(f.informer.images.get('busybox')?.id, NEWER_BUSYBOX_ID);
  t.deepEqual(f.informer.images.get(BUSYBOX_ID)?.repoTags, ['busybox:1.36']);
  t.is(f.informer.images.get('busybox:1.36')?.id, BUSYBOX_ID);
  t.deepEqual(
    f.changes.map((c) => [c.type, c.id, c.imageRefs]),
    [
      ['added', NEWER_BUSYBOX_ID, ['busybox:latest']],
      ['updated', BUSYBOX_ID, ['busybox:1.36', 'busybox:latest']],
    ],
  );

  f.engine.deleteImage(BUSYBOX_ID);
  await f.clock.advanceAsync(COALESCE_MS);
  t.is(f.informer.images.get(BUSYBOX_ID), undefined);
  t.is(f.informer.images.get('busybox:1.36'), undefined);
  t.deepEqual(f.changes.at(-1), { kind: 'image', type: 'deleted', id: BUSYBOX_ID, imageRefs: ['busybox:1.36'] });
});

test('an image removed behind the informer’s back is dropped by the relist', async (t) => {
  const f = setup();
  f.engine.putImage({ id: BUSYBOX_ID, repoTags: ['busybox:latest'] }, { event: false });
  await f.informer.start();
  f.engine.deleteImage(BUSYBOX_ID, { silent: true });
  await f.informer.relist();
  t.deepEqual(f.informer.images.all(), []);
  t.is(f.changes.at(-1)?.type, 'deleted');
});

test('volumes: labelled ones are cached, others only once a loop asks, and removals are noticed', async (t) => {
  const f = setup();
  f.engine.putVolume({ name: 'task-vol', labels: OURS }, { silent: true });
  f.engine.putVolume({ name: 'someone-elses' }, { silent: true });
  await f.informer.start();
  const volumes = f.informer.volumes;
  t.deepEqual(
    volumes.all().map((v) => v.name),
    ['task-vol'],
  );

  // Created later: the event carries no labels, so the create is inspected to find out whether it is ours.
  f.changes.length = 0;
  f.engine.putVolume({ name: 'late-task-vol', labels: OURS });
  f.engine.putVolume({ name: 'late-other' });
  await f.clock.advanceAsync(COALESCE_MS);
  t.truthy(volumes.get('late-task-vol'));
  t.is(volumes.get('late-other'), undefined);
  t.deepEqual(f.changes, [{ kind: 'volume', type: 'added', id: 'late-task-vol', volumeName: 'late-task-vol' }]);

  const shared = await volumes.ensureTracked('someone-elses');
  t.is(shared?.name, 'someone-elses');
  t.truthy(volumes.get('someone-elses'));
  await f.informer.relist();
  t.truthy(volumes.get('someone-elses'), 'a tracked volume survives the labelled relist');

  f.engine.deleteVolume('someone-elses');
  f.engine.deleteVolume('task-vol', { silent: true });
  await f.clock.advanceAsync(COALESCE_MS);
  t.is(volumes.get('someone-elses'), undefined, 'through its destroy event');
  t.truthy(volumes.get('task-vol'), 'not yet: its event was lost');
  await f.informer.relist();
  t.is(volumes.get('task-vol'), undefined, 'through the relist');
  t.is(await volumes.ensureTracked('never-made'), undefined);
});

test('networks: all cached by ID and name; a created one appears through its event, a removed one goes', async (t) => {
  const f = setup();
  const bridge = f.engine.putNetwork({ name: 'bridge' }, { silent: true });
  await f.informer.start();
  t.is(f.informer.networks.get('bridge')?.id, bridge.id);
  t.is(f.informer.networks.get(bridge.id)?.name, 'bridge');
  const lists = count(f.engine, 'listNetworks');
  const created = f.engine.putNetwork({ name: 'ecsd-test-net', labels: { 'ecsd-test.run': 'x' } });
  f.engine.emit({ type: 'network', action: 'connect', id: created.id });
  await f.clock.advanceAsync(COALESCE_MS);
  t.is(count(f.engine, 'listNetworks') - lists, 1, 'one list for the create; connect changes nothing cached');
  t.is(f.informer.networks.get('ecsd-test-net')?.id, created.id);
  f.engine.deleteNetwork(created.id);
  await f.clock.advanceAsync(COALESCE_MS);
  t.is(f.informer.networks.get('ecsd-test-net'), undefined);
  t.deepEqual(
    f.changes.filter((c) => c.kind === 'network' && c.id === created.id).map((c) => c.type),
    ['added', 'deleted'],
  );
});

test('a list answered after a newer inspect neither undoes it nor drops what that inspect found', async (t) => {
  const f = setup();
  f.engine.putImage({ id: BUSYBOX_ID, repoTags: ['busybox:latest'] }, { event: false });
  await f.informer.start();
  const held = f.engine.hold('listImages');
  const relisted = f.informer.relist();
  await flushAsync();
  // While the list (a snapshot without these changes) is on its way, events bring a tag and a new image.
  f.engine.putImage({ id: BUSYBOX_ID, repoTags: ['busybox:latest', 'busybox:1.36'] }, { event: 'tag' });
  f.engine.putImage({ id: NEWER_BUSYBOX_ID, repoTags: ['app:1'] });
  await f.informer.images.refresh(BUSYBOX_ID);
  await f.informer.images.refresh('app:1');
  held.release();
  await relisted;
  t.deepEqual(f.informer.images.get(BUSYBOX_ID)?.repoTags, ['busybox:1.36', 'busybox:latest']);
  t.is(f.informer.images.get('app:1')?.id, NEWER_BUSYBOX_ID);
  await f.informer.relist();
  t.is(f.informer.images.all().length, 2, 'and the next list agrees');
});
