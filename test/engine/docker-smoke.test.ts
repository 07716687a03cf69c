// The set-up script brings a real engine up and builds the test image; the image runs `echo`.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

test('ensure-docker.sh is idempotent and leaves an engine that answers', async (t) => {
  const first = await run('bash', ['scripts/ensure-docker.sh'], { cwd: repoRoot });
  t.regex(first.stderr, /engine answers: \S+ \(API 1\.\d+\)/);
  const second = await run('bash', ['scripts/ensure-docker.sh'], { cwd: repoRoot });
  t.regex(second.stderr, /test image ecsd-test\/busybox:latest ready/);
  t.notRegex(second.stderr, /installing|starting dockerd|building/);
});

test('the test image runs echo', async (t) => {
  const label = `ecsd-test.smoke=${process.pid}`;
  const { stdout } = await run('docker', [
    'run',
    '--rm',
    '--label',
    label,
    'ecsd-test/busybox:latest',
    'echo',
    'hello from ecsd',
  ]);
  t.is(stdout.trim(), 'hello from ecsd');
});
