/**
 * Pulls through ecsd from a registry on 127.0.0.1 that requires htpasswd basic auth (the shared harness,
 * test/helpers/registry.ts), with ECS_ENGINE_AUTH_TYPE `docker` and `dockercfg` (fact sheet 7.2): right
 * credentials pull; wrong ones stop the task with the registry's auth error, tried once, and the agent goes on.
 * Serial: one agent and one registry at a time on a 2-core machine.
 */
import test from 'ava';
import { normalizeImageRef } from '../../src/docker/informer-images.js';
import { openStoreReadOnly } from '../../src/store/index.js';
import { AgentProcess, TEST_IMAGE } from '../helpers/agent-process.js';
import { removeLocalImage } from '../helpers/images-registry.js';
import { type LocalRegistry, startRegistry } from '../helpers/registry.js';

const USER = { username: 'ecsd', password: 'right-horse-battery' };

async function authRegistry(t: { teardown(fn: () => Promise<void>): void }): Promise<LocalRegistry> {
  const registry = await startRegistry({ auth: USER });
  t.teardown(() => registry.stop());
  return registry;
}

async function agentWith(t: { teardown(fn: () => Promise<void>): void }, env: Record<string, string>) {
  const agent = new AgentProcess({ env: { ECS_IMAGE_PULL_BEHAVIOR: 'default', ...env } });
  t.teardown(() => agent.cleanup());
  await agent.start();
  return agent;
}

function runTask(agent: AgentProcess, family: string, image: string): void {
  agent.writeTaskDefinition(`${family}.json`, {
    family,
    memory: '64',
    containerDefinitions: [{ name: 'app', image, essential: true, command: ['sleep', '3600'] }],
  });
}

function pullOf(agent: AgentProcess, image: string) {
  const store = openStoreReadOnly({ dataDir: agent.dataDir });
  try {
    return store?.getImagePull(normalizeImageRef(image));
  } finally {
    store?.close();
  }
}

test.serial('ECS_ENGINE_AUTH_TYPE=docker: the right credentials pull, and the password is never logged', async (t) => {
  const registry = await authRegistry(t);
  const image = await registry.pushTestImage('auth-docker');
  t.teardown(() => removeLocalImage(image));
  const agent = await agentWith(t, {
    ECS_ENGINE_AUTH_TYPE: 'docker',
    ECS_ENGINE_AUTH_DATA: JSON.stringify({ [`http://${registry.host}`]: { ...USER, email: 'e@example.com' } }),
  });
  runTask(agent, 'authed', image);
  await agent.waitForTask('authed', (task) => task.KnownStatus === 'RUNNING');
  t.is(pullOf(agent, image)?.state, 'succeeded');
  t.false(agent.logs().includes(USER.password));
});

test.serial('ECS_ENGINE_AUTH_TYPE=dockercfg: base64 user:password pulls', async (t) => {
  const registry = await authRegistry(t);
  const image = await registry.pushTestImage('auth-dockercfg');
  t.teardown(() => removeLocalImage(image));
  const auth = Buffer.from(`${USER.username}:${USER.password}`).toString('base64');
  const agent = await agentWith(t, {
    ECS_ENGINE_AUTH_TYPE: 'dockercfg',
    ECS_ENGINE_AUTH_DATA: JSON.stringify({ [registry.host]: { auth } }),
  });
  runTask(agent, 'cfg', image);
  await agent.waitForTask('cfg', (task) => task.KnownStatus === 'RUNNING');
  t.is(pullOf(agent, image)?.state, 'succeeded');
  t.false(agent.logs().includes(auth));
});

test.serial('wrong credentials: the task stops with the auth error after one attempt; the agent runs on', async (t) => {
  const registry = await authRegistry(t);
  const image = await registry.pushTestImage('auth-wrong');
  const agent = await agentWith(t, {
    ECS_ENGINE_AUTH_TYPE: 'docker',
    ECS_ENGINE_AUTH_DATA: JSON.stringify({ [registry.host]: { username: USER.username, password: 'wrong' } }),
  });
  runTask(agent, 'denied', image);
  const stopped = await agent.waitForTask('denied', (task) => task.KnownStatus === 'STOPPED');
  const reason = stopped.Containers[0]?.Reason ?? '';
  t.true(reason.startsWith('CannotPullContainerError: '), reason);
  const pull = pullOf(agent, image);
  t.is(pull?.failure, 'auth', reason);
  t.is(pull?.attempts, 1, 'an auth failure is not retried');
  runTask(agent, 'local', TEST_IMAGE);
  await agent.waitForTask('local', (task) => task.KnownStatus === 'RUNNING');
  t.false(agent.logs().includes('"wrong"'));
});
