/**
 * The host's task policy as a pure function over TaskSpec (src/model/task-policy.ts): sensitive bind
 * mounts, container paths that could carry mount options, ECS_DISABLE_PRIVILEGED, task-level pid/ipc
 * namespaces and the environment bound — and the config variable that relaxes the mount rule.
 */
import test from 'ava';
import { ConfigError, loadConfig } from '../src/config/index.js';
import type { TaskSpec, VolumeSpec } from '../src/model/task.js';
import { checkTaskPolicy, ENVIRONMENT_MAX_BYTES, type TaskPolicy } from '../src/model/task-policy.js';
import { containerSpec, taskSpecWith } from './helpers/specs.js';

const ARN = 'arn:aws:ecs:local:000000000000:task/default/0123456789abcdef0123456789abcdef';
const POLICY: TaskPolicy = { disablePrivileged: false, allowSensitiveHostMounts: false, dataDir: '/var/lib/ecsd/' };

function withHostVolume(sourcePath: string, containerPath = '/mnt'): TaskSpec {
  const volumes: VolumeSpec[] = [{ name: 'v', type: 'host', sourcePath }];
  const container = containerSpec('app', { mountPoints: [{ sourceVolume: 'v', containerPath, readOnly: false }] });
  return taskSpecWith(ARN, [container], { volumes });
}

function messages(spec: TaskSpec, policy: TaskPolicy = POLICY): string[] {
  return checkTaskPolicy(spec, policy).map((issue) => `${issue.path}: ${issue.message}`);
}

test('an ordinary task passes the policy', (t) => {
  t.deepEqual(messages(withHostVolume('/srv/www', '/usr/share/www')), []);
  t.deepEqual(messages(taskSpecWith(ARN, [containerSpec('app')], { pidMode: 'host', ipcMode: 'none' })), []);
});

const sensitiveMounts: Array<[string, string]> = [
  ['the host root', '/'],
  ['the host root spelled oddly', '//./'],
  ['the data directory', '/var/lib/ecsd'],
  ['a path inside the data directory', '/var/lib/ecsd/db'],
  ['a parent of the data directory', '/var/lib'],
  ['a parent through ..', '/var/lib/other/..'],
];
for (const [name, sourcePath] of sensitiveMounts) {
  test(`a bind mount of ${name} is refused unless allowed`, (t) => {
    const spec = withHostVolume(sourcePath);
    const [message, ...rest] = messages(spec);
    t.deepEqual(rest, []);
    t.regex(message ?? '', /^volumes\[0\]\.host\.sourcePath: .*ECSD_ALLOW_SENSITIVE_HOST_MOUNTS=true/);
    t.deepEqual(messages(spec, { ...POLICY, allowSensitiveHostMounts: true }), []);
  });
}

test('a sibling of the data directory that only shares a prefix is not sensitive', (t) => {
  t.deepEqual(messages(withHostVolume('/var/lib/ecsd-backup')), []);
});

test('without a data directory only the host root is sensitive', (t) => {
  const policy = { disablePrivileged: false, allowSensitiveHostMounts: false };
  t.deepEqual(messages(withHostVolume('/var/lib'), policy), []);
  t.is(messages(withHostVolume('/'), policy).length, 1);
});

test('a containerPath must be absolute and carry no mount options', (t) => {
  t.deepEqual(messages(withHostVolume('/srv', '/data:z')), [
    'containerDefinitions[0].mountPoints[0].containerPath: must not contain ":" (mount options such as ":z" or ":rshared" cannot be given in a path)',
  ]);
  t.is(messages(withHostVolume('/srv', '/mnt:rshared')).length, 1);
  t.deepEqual(messages(withHostVolume('/srv', 'data')), [
    'containerDefinitions[0].mountPoints[0].containerPath: must be an absolute path (start with "/")',
  ]);
});

test('a host sourcePath must be absolute and carry no ":"', (t) => {
  t.regex(messages(withHostVolume('srv'))[0] ?? '', /sourcePath: must be an absolute host path/);
  t.regex(messages(withHostVolume('/srv:/etc'))[0] ?? '', /sourcePath: must not contain ":"/);
});

test('ECS_DISABLE_PRIVILEGED refuses a privileged container, matching the field name as Docker does', (t) => {
  const privileged = taskSpecWith(ARN, [
    containerSpec('ok'),
    containerSpec('root', { dockerConfig: { hostConfig: JSON.stringify({ privileged: true }) } }),
  ]);
  t.deepEqual(messages(privileged), [], 'allowed when not disabled');
  t.deepEqual(messages(privileged, { ...POLICY, disablePrivileged: true }), [
    'containerDefinitions[1].privileged: privileged containers are disabled on this host (ECS_DISABLE_PRIVILEGED=true)',
  ]);
  const notPrivileged = taskSpecWith(ARN, [
    containerSpec('x', { dockerConfig: { hostConfig: JSON.stringify({ Privileged: false }) } }),
  ]);
  t.deepEqual(messages(notPrivileged, { ...POLICY, disablePrivileged: true }), []);
});

test('pidMode and ipcMode "task" are refused with the reason, never ignored', (t) => {
  t.deepEqual(messages(taskSpecWith(ARN, [containerSpec('app')], { pidMode: 'task', ipcMode: 'task' })), [
    'pidMode: "task" is refused: task-level pid/ipc namespaces are not supported yet (use "host" or leave it unset)',
    'ipcMode: "task" is refused: task-level pid/ipc namespaces are not supported yet (use "host" or leave it unset)',
  ]);
});

test('an ACS-style Binds overlay of a sensitive path is refused too', (t) => {
  const spec = taskSpecWith(ARN, [
    containerSpec('app', { dockerConfig: { hostConfig: JSON.stringify({ Binds: ['/:/host', '/srv:/srv:ro'] }) } }),
  ]);
  t.deepEqual(
    messages(spec).map((m) => m.split(':')[0]),
    ['containerDefinitions[0].dockerConfig.hostConfig.Binds[0]'],
  );
});

test('a container environment over the limit is refused', (t) => {
  const value = 'x'.repeat(ENVIRONMENT_MAX_BYTES);
  const spec = taskSpecWith(ARN, [containerSpec('app', { environment: { BIG: value } })]);
  t.deepEqual(messages(spec), [
    `containerDefinitions[0].environment: ${ENVIRONMENT_MAX_BYTES + 4} bytes of NAME=value exceeds the ${ENVIRONMENT_MAX_BYTES}-byte limit per container`,
  ]);
  const fits = taskSpecWith(ARN, [containerSpec('app', { environment: { BIG: value.slice(4) } })]);
  t.deepEqual(messages(fits), []);
});

test('ECSD_ALLOW_SENSITIVE_HOST_MOUNTS is a bool, false by default', (t) => {
  const load = (env: Record<string, string>) => loadConfig({ env, readFile: () => undefined });
  t.false(load({}).config.allowSensitiveHostMounts);
  t.true(load({ ECSD_ALLOW_SENSITIVE_HOST_MOUNTS: 'true' }).config.allowSensitiveHostMounts);
  t.throws(() => load({ ECSD_ALLOW_SENSITIVE_HOST_MOUNTS: 'maybe' }), { instanceOf: ConfigError });
});
