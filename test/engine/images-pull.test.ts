/**
 * Pulls through a real `ecsd` against the real engine and a real registry on 127.0.0.1 (fact sheet 7.1,
 * 4.6): each ECS_IMAGE_PULL_BEHAVIOR, the fall-back to a cached image when the registry is down (default),
 * the task stopped with the registry's reason when it is down under `always`, and the `ecsd tasks` waiting
 * text while a pull runs.
 *
 * Serial: each test runs an agent, a registry and docker commit/push; five at once on a 2-core machine kept
 * agents from becoming ready within their 30 s.
 */
import test from 'ava';
import { normalizeImageRef } from '../../src/docker/informer-images.js';
import { openStoreReadOnly } from '../../src/store/index.js';
import { AgentProcess, docker } from '../helpers/agent-process.js';
import {
  freePort,
  HoldingProxy,
  ImagesRegistry,
  localImageExists,
  removeLocalImage,
} from '../helpers/images-registry.js';

async function agentWith(t: { teardown(fn: () => Promise<void>): void }, behavior: string): Promise<AgentProcess> {
  const agent = new AgentProcess({ env: { ECS_IMAGE_PULL_BEHAVIOR: behavior } });
  t.teardown(() => agent.cleanup());
  await agent.start();
  return agent;
}

async function registryWithImage(t: { teardown(fn: () => Promise<void>): void }): Promise<{
  registry: ImagesRegistry;
  image: string;
}> {
  const registry = new ImagesRegistry();
  t.teardown(() => registry.cleanup());
  await registry.start();
  return { registry, image: await registry.pushDistinctImage() };
}

function runTask(agent: AgentProcess, family: string, image: string): void {
  agent.writeTaskDefinition(`${family}.json`, {
    family,
    memory: '64',
    containerDefinitions: [{ name: 'app', image, essential: true, command: ['sleep', '3600'] }],
  });
}

function pullRecord(agent: AgentProcess, image: string) {
  const store = openStoreReadOnly({ dataDir: agent.dataDir });
  try {
    return store?.getImagePull(normalizeImageRef(image));
  } finally {
    store?.close();
  }
}

test.serial('default: the image is pulled through ecsd, and `ecsd tasks` shows the pull while it runs', async (t) => {
  const { registry, image } = await registryWithImage(t);
  // The task names the image through a proxy that can hold blob downloads: the pull is seen in flight.
  const proxy = new HoldingProxy(registry.host);
  t.teardown(() => proxy.close());
  await proxy.start();
  const viaProxy = image.replace(registry.host, proxy.host);
  t.teardown(() => removeLocalImage(viaProxy));
  proxy.hold();
  const agent = await agentWith(t, 'default');
  runTask(agent, 'pulled', viaProxy);
  const waiting = await agent.waitForTask('pulled', (task) => task.WaitingFor?.startsWith('pulling ') === true);
  t.true(waiting.WaitingFor?.startsWith(`pulling ${viaProxy}`), waiting.WaitingFor);
  t.is(waiting.KnownStatus, 'PENDING');
  proxy.release();
  const running = await agent.waitForTask('pulled', (task) => task.KnownStatus === 'RUNNING');
  t.is(running.WaitingFor, undefined);
  t.true(await localImageExists(viaProxy));
  const record = pullRecord(agent, viaProxy);
  t.is(record?.state, 'succeeded');
  t.truthy(record?.imageId);
  t.regex(agent.logs(), /image pull progress/, 'layer milestones are logged');
});

test.serial('default: with the registry down, a cached image is used', async (t) => {
  const { registry, image } = await registryWithImage(t);
  await docker('pull', image);
  await registry.stop();
  const agent = await agentWith(t, 'default');
  runTask(agent, 'cached', image);
  const running = await agent.waitForTask('cached', (task) => task.KnownStatus === 'RUNNING');
  t.is(running.Containers[0]?.Reason, undefined);
  const record = pullRecord(agent, image);
  t.is(record?.state, 'failed');
  t.is(record?.failure, 'network');
  t.is(record?.attempts, 1, 'no retries when the cached image stands in');
});

test.serial(
  'always: with the registry down, the task stops with CannotPullContainerError and the registry message',
  async (t) => {
    const image = `127.0.0.1:${await freePort()}/ecsd-it-nowhere:1`;
    const agent = await agentWith(t, 'always');
    runTask(agent, 'unreachable', image);
    const stopped = await agent.waitForTask('unreachable', (task) => task.KnownStatus === 'STOPPED', 60_000);
    const reason = stopped.Containers[0]?.Reason ?? '';
    t.true(reason.startsWith('CannotPullContainerError: '), reason);
    t.regex(reason, /connection refused/);
    t.is(pullRecord(agent, image)?.attempts, 5, 'a network failure is retried 5 times');
    // The agent is fine: a local task still runs.
    runTask(agent, 'after', 'ecsd-test/busybox:latest');
    await agent.waitForTask('after', (task) => task.KnownStatus === 'STOPPED' || task.KnownStatus === 'RUNNING');
    t.is(agent.taskByFamily('after')?.KnownStatus, 'STOPPED', 'the local-only image cannot be pulled under always');
  },
);

test.serial('once: pulled by the first task, not again for the next even with the registry down', async (t) => {
  const { registry, image } = await registryWithImage(t);
  t.teardown(() => removeLocalImage(image));
  const agent = await agentWith(t, 'once');
  runTask(agent, 'first', image);
  await agent.waitForTask('first', (task) => task.KnownStatus === 'RUNNING');
  const first = pullRecord(agent, image);
  t.is(first?.state, 'succeeded');
  await registry.stop();
  runTask(agent, 'second', image);
  await agent.waitForTask('second', (task) => task.KnownStatus === 'RUNNING');
  t.deepEqual(pullRecord(agent, image), first, 'no second pull');
});

test.serial('prefer-cached: a cached image is used without a pull; a missing one is pulled', async (t) => {
  const { image } = await registryWithImage(t);
  t.teardown(() => removeLocalImage(image));
  const agent = await agentWith(t, 'prefer-cached');
  runTask(agent, 'local', 'ecsd-test/busybox:latest');
  await agent.waitForTask('local', (task) => task.KnownStatus === 'RUNNING');
  t.is(pullRecord(agent, 'ecsd-test/busybox:latest'), undefined, 'no pull of a cached image');
  runTask(agent, 'remote', image);
  await agent.waitForTask('remote', (task) => task.KnownStatus === 'RUNNING');
  t.is(pullRecord(agent, image)?.state, 'succeeded');
});
