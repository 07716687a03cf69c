/**
 * `ecsd -ecs-attributes` (fact sheet 13): the command over a fake engine (the cgroup rule, an engine that
 * does not answer), then the built binary against the real engine — the attributes on stdout as
 * `name<TAB>value`, exit 0 — and against a socket nobody serves: exit 1, nothing on stdout.
 */
import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import test from 'ava';
import { printEcsAttributes } from '../src/cli/ecs-attributes-command.js';
import type { EngineInfo } from '../src/docker/types.js';
import { DockerApiError } from '../src/errors.js';
import { ecsConfig } from './ecs-fixtures.js';
import { agentNodeFlags, MAIN_JS } from './helpers/agent-process.js';

const execFileAsync = promisify(execFile);

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

function engineWith(info: Partial<EngineInfo>) {
  const full: EngineInfo = {
    serverVersion: '20.10.24',
    apiVersion: '1.41',
    minApiVersion: '1.12',
    negotiatedApiVersion: info.negotiatedApiVersion ?? '1.41',
    cgroupVersion: info.cgroupVersion ?? '1',
    cgroupDriver: 'cgroupfs',
    ncpu: 2,
    memTotalBytes: 4 * 1024 ** 3,
    dockerRootDir: '/var/lib/docker',
  };
  return { negotiate: async () => full.negotiatedApiVersion, info: async () => full };
}

/** The built binary as its shebang runs it (node and its flags), whether or not the build made it executable. */
function runBinary(env: NodeJS.ProcessEnv) {
  return execFileAsync(process.execPath, [...agentNodeFlags(), MAIN_JS, '-ecs-attributes'], { env });
}

async function run(info: Partial<EngineInfo>, cgroupRootUsable: boolean, env: Record<string, string> = {}) {
  const out = capture();
  const err = capture();
  const code = await printEcsAttributes({
    config: ecsConfig(env),
    engine: engineWith(info),
    cgroupRootUsable: () => cgroupRootUsable,
    out: out.stream,
    err: err.stream,
  });
  return { code, stdout: out.text(), stderr: err.text() };
}

test('the attributes follow the negotiated API and the task cgroup rule of agent start', async (t) => {
  const full = await run({ negotiatedApiVersion: '1.41' }, true);
  t.is(full.code, 0);
  t.is(full.stderr, '');
  const names = full.stdout.split('\n').filter(Boolean);
  t.true(
    names.every((line) => /^[a-z][\w.-]*\t$/.test(line)),
    'name<TAB>value, values empty for name-only ones',
  );
  t.true(names.includes('com.amazonaws.ecs.capability.docker-remote-api.1.32\t'));
  t.true(names.includes('ecs.capability.task-cpu-mem-limit\t'));
  t.true(names.includes('ecs.capability.external\t'), 'ECS_EXTERNAL=true in the configuration');

  const older = await run({ negotiatedApiVersion: '1.25' }, true);
  t.false(older.stdout.includes('docker-remote-api.1.28'), 'nothing above the negotiated API');
  t.true(older.stdout.includes('docker-remote-api.1.25\t'));

  for (const [info, usable, env] of [
    [{}, false, {}],
    [{ cgroupVersion: '2' }, true, {}],
    [{}, true, { ECS_ENABLE_TASK_CPU_MEM_LIMIT: 'false' }],
  ] as const) {
    const { stdout } = await run(info, usable, env);
    t.false(stdout.includes('task-cpu-mem-limit'), JSON.stringify({ info, usable, env }));
  }
});

test('an engine that does not answer: exit 1, the reason on stderr, nothing on stdout', async (t) => {
  const out = capture();
  const err = capture();
  const code = await printEcsAttributes({
    config: ecsConfig({ DOCKER_HOST: 'unix:///run/ecsd-test-none.sock' }),
    engine: {
      negotiate: () => Promise.reject(new DockerApiError('connect ENOENT /run/ecsd-test-none.sock')),
      info: () => Promise.reject(new Error('not reached')),
    },
    cgroupRootUsable: () => true,
    out: out.stream,
    err: err.stream,
  });
  t.is(code, 1);
  t.is(out.text(), '');
  t.regex(err.text(), /Docker engine at unix:\/\/\/run\/ecsd-test-none\.sock: .*ENOENT/);
});

/** A clean environment, so the runner's own ECS_* variables cannot change what is printed. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    ECS_EXTERNAL: 'true',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...(process.env['DOCKER_HOST'] ? { DOCKER_HOST: process.env['DOCKER_HOST'] } : {}),
    ...extra,
  };
}

test('the binary prints the attributes from the real engine and exits 0', async (t) => {
  const { stdout, stderr } = await runBinary(cleanEnv());
  t.is(stderr, '');
  const lines = stdout.split('\n');
  t.is(lines.pop(), '', 'every line ends with a newline');
  t.true(lines.length > 0);
  for (const line of lines) t.regex(line, /^[a-z][\w.-]*\t/, line);
  const names = lines.map((line) => line.split('\t')[0]);
  t.true(names.includes('com.amazonaws.ecs.capability.docker-remote-api.1.25'), 'ecsd needs ≥ 1.25, so it is there');
  t.true(names.includes('ecs.capability.external'));
  t.false(names.includes('com.amazonaws.ecs.capability.docker-remote-api.1.26'), 'upstream no longer lists 1.26');
});

test('the binary exits 1 when the engine does not answer, with nothing on stdout', async (t) => {
  const env = cleanEnv({ DOCKER_HOST: 'unix:///run/ecsd-test-no-engine.sock' });
  const error = await t.throwsAsync<Error & { code: number; stdout: string; stderr: string }>(runBinary(env));
  t.is(error?.code, 1);
  t.is(error?.stdout, '');
  t.regex(error?.stderr ?? '', /Docker engine at unix:\/\/\/run\/ecsd-test-no-engine\.sock/);
});
