/**
 * A registry that stops sending blob bytes mid-pull (the shared stalling proxy): `ecsd tasks` shows the pull
 * with its byte counts while it hangs, the inactivity timeout (ECS_IMAGE_PULL_INACTIVITY_TIMEOUT, at its
 * 1-minute minimum) aborts the stalled stream instead of waiting on it, and the retry then pulls the image.
 * Slow by nature (over a minute): the timeout cannot be set lower.
 */
import test from 'ava';
import { normalizeImageRef } from '../../src/docker/informer-images.js';
import { openStoreReadOnly } from '../../src/store/index.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { removeLocalImage } from '../helpers/images-registry.js';
import { startRegistry } from '../helpers/registry.js';
import { startStallingProxy } from '../helpers/stalling-proxy.js';

test('a stalled pull shows its progress, is aborted by the inactivity timeout, and the retry pulls', async (t) => {
  const registry = await startRegistry();
  t.teardown(() => registry.stop());
  const pushed = await registry.pushTestImage('stall', 'latest', { payloadBytes: 3 * 1024 * 1024 });
  const proxy = await startStallingProxy({ port: registry.port }, { stallBlobsAfterBytes: 64 * 1024 });
  t.teardown(() => proxy.stop());
  const image = pushed.replace(registry.host, proxy.host);
  t.teardown(() => removeLocalImage(image));
  const agent = new AgentProcess({
    env: { ECS_IMAGE_PULL_BEHAVIOR: 'default', ECS_IMAGE_PULL_INACTIVITY_TIMEOUT: '1m' },
  });
  t.teardown(() => agent.cleanup());
  await agent.start();
  agent.writeTaskDefinition('stall.json', {
    family: 'stall',
    memory: '64',
    containerDefinitions: [{ name: 'app', image, essential: true, command: ['sleep', '3600'] }],
  });
  await proxy.stalled();
  const waiting = await agent.waitForTask('stall', (task) => /of \d+ MiB$/.test(task.WaitingFor ?? ''));
  t.regex(waiting.WaitingFor ?? '', new RegExp(`^pulling ${image.replace(/[.]/g, '\\.')}: \\d+ of \\d+ MiB$`));
  await agent.waitFor(() => /made no progress/.test(agent.logs()), 120_000, 'the inactivity timeout');
  proxy.resume();
  await agent.waitForTask('stall', (task) => task.KnownStatus === 'RUNNING', 60_000);
  const store = openStoreReadOnly({ dataDir: agent.dataDir });
  const pull = store?.getImagePull(normalizeImageRef(image));
  store?.close();
  t.is(pull?.state, 'succeeded');
  // At least the stalled attempt and the one that pulled; on a loaded machine a retry can start before the
  // proxy is resumed and stall (and time out) too, so the exact count is not the point.
  t.true((pull?.attempts ?? 0) >= 2, `attempts: ${pull?.attempts}`);
});
