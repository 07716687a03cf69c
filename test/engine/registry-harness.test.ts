// The real-registry harness against the real engine: `docker pull` from a local Distribution registry with
// and without htpasswd auth, and through the stalling proxy, which must hold a blob mid-transfer.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { startRegistry } from '../helpers/registry.js';
import { startStallingProxy } from '../helpers/stalling-proxy.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);

async function pull(reference: string, dockerConfig: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run('docker', ['pull', reference], {
      env: { ...process.env, DOCKER_CONFIG: dockerConfig },
    });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

async function imagePresent(reference: string): Promise<boolean> {
  try {
    await run('docker', ['image', 'inspect', reference]);
    return true;
  } catch {
    return false;
  }
}

async function removeImage(reference: string): Promise<void> {
  await run('docker', ['rmi', '--force', reference]).catch(() => undefined);
}

test('an anonymous registry: a pushed image is gone locally and a pull downloads it', async (t) => {
  const registry = await startRegistry();
  t.teardown(() => registry.stop());
  const reference = await registry.pushTestImage('harness/anon', 'v1');
  t.teardown(() => removeImage(reference));
  t.is(reference, `${registry.host}/harness/anon:v1`);
  t.false(await imagePresent(reference), 'pushTestImage removes its image locally');

  const result = await pull(reference, await registry.dockerConfigFor());
  t.true(result.ok, result.output);
  // The unique layer is really downloaded, not found locally.
  t.regex(result.output, /Pull complete/);
  t.true(await imagePresent(reference));
});

test('htpasswd auth: right credentials pull, wrong and missing credentials are refused', async (t) => {
  const registry = await startRegistry({ auth: { username: 'ecsd', password: 's3cret-pass' } });
  t.teardown(() => registry.stop());
  const reference = await registry.pushTestImage('harness/private');
  t.teardown(() => removeImage(reference));

  const anonymous = await pull(reference, await registry.dockerConfigFor(null));
  t.false(anonymous.ok, anonymous.output);
  t.regex(anonymous.output, /no basic auth credentials|unauthorized/i);

  const wrong = await pull(reference, await registry.dockerConfigFor({ username: 'ecsd', password: 'wrong' }));
  t.false(wrong.ok, wrong.output);
  t.regex(wrong.output, /unauthorized|authentication required/i);
  t.false(await imagePresent(reference));

  const authorised = await pull(reference, await registry.dockerConfigFor());
  t.true(authorised.ok, authorised.output);
  t.true(await imagePresent(reference));
});

test('the stalling proxy holds a blob mid-transfer until resumed', async (t) => {
  const registry = await startRegistry();
  t.teardown(() => registry.stop());
  // 1 MiB of random data: the blob is far larger than the bytes let through before the stall.
  const pushed = await registry.pushTestImage('harness/stall', 'v1', { payloadBytes: 1024 * 1024 });
  const proxy = await startStallingProxy({ port: registry.port }, { stallBlobsAfterBytes: 64 * 1024 });
  t.teardown(() => proxy.stop());
  const reference = pushed.replace(registry.host, proxy.host);
  t.teardown(() => removeImage(reference));

  const child: ChildProcess = spawn('docker', ['pull', reference], {
    env: { ...process.env, DOCKER_CONFIG: await registry.dockerConfigFor() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  await proxy.stalled();
  t.true(proxy.isStalled);
  t.is(proxy.blobBytesForwarded, 64 * 1024);
  // Stalled, not failed: the pull is still waiting and the image is not there.
  t.is(child.exitCode, null, output);
  t.false(await imagePresent(reference));
  const heldAt = proxy.blobBytesForwarded;
  // Whatever the engine does while stalled, not one more blob byte reaches it.
  await waitFor('the pull to report a download in progress', () => /Downloading|Waiting|Pulling fs layer/.test(output));
  t.is(proxy.blobBytesForwarded, heldAt);

  proxy.resume();
  t.is(await exited, 0, output);
  t.true(proxy.blobBytesForwarded > 1024 * 1024);
  t.true(await imagePresent(reference));
});
