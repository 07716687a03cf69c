/**
 * buildCreateBody / dockerContainerName / the dockerConfig overlay (fact sheet 3.5, 3.6), as table tests
 * of the pure function: what the agent builds, how the overlay JSON lands on it, and what is forced last.
 */

import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ensureBindMountSources } from '../reconcilers/containers/bind-sources.js';
import {
  bindMountSources,
  buildCreateBody,
  type CreateBodyInput,
  dockerContainerName,
  HEALTHCHECK_MISSING_MESSAGE,
} from '../reconcilers/containers/create-body.js';
import { applyDockerConfigOverlay } from '../reconcilers/containers/docker-config-overlay.js';
import {
  LABEL_CLUSTER,
  LABEL_CONTAINER_NAME,
  LABEL_TASK_ARN,
  LABEL_TASK_FAMILY,
  LABEL_TASK_VERSION,
} from '../src/docker/types.js';
import { EcsdError } from '../src/errors.js';
import type { ContainerSpec, TaskSpec } from '../src/model/task.js';
import { containerSpec, sharedDockerVolume, taskSpecWith } from './helpers/specs.js';

const TASK_ARN = 'arn:aws:ecs:us-west-2:123456789012:task/demo/0123456789abcdef0123456789abcdef';

function container(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return containerSpec('app', {
    image: 'ecsd-test/busybox:latest',
    command: ['sleep', '60'],
    environment: { A: '1' },
    cpuUnits: 256,
    memoryMiB: 128,
    ...overrides,
  });
}

function task(overrides: Partial<TaskSpec> = {}, containers: ContainerSpec[] = [container()]): TaskSpec {
  return taskSpecWith(TASK_ARN, containers, { source: 'acs', ...overrides });
}

function input(overrides: Partial<CreateBodyInput> = {}): CreateBodyInput {
  const t = overrides.task ?? task();
  return {
    task: t,
    container: t.containers[0]!,
    cluster: 'demo',
    hostPorts: new Map(),
    volumeNames: new Map(),
    dockerIdsByName: new Map(),
    ...overrides,
  };
}

function hostConfigOf(body: ReturnType<typeof buildCreateBody>): Record<string, unknown> {
  return body.HostConfig as Record<string, unknown>;
}

test('builds Config and HostConfig from the container model', (t) => {
  const c = container({
    entryPoint: ['/bin/sh', '-c'],
    portMappings: [
      { containerPort: 80, hostPort: 0, protocol: 'tcp' },
      { containerPort: 53, hostPort: 5353, protocol: 'udp' },
    ],
  });
  const body = buildCreateBody(input({ task: task({}, [c]), container: c, hostPorts: new Map([['80/tcp', 49153]]) }));
  t.is(body.Image, 'ecsd-test/busybox:latest');
  t.deepEqual(body.Cmd, ['sleep', '60']);
  t.deepEqual(body.Entrypoint, ['/bin/sh', '-c']);
  t.deepEqual(body.Env, ['A=1']);
  t.deepEqual(body.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  const host = hostConfigOf(body);
  t.deepEqual(host['PortBindings'], { '80/tcp': [{ HostPort: '49153' }], '53/udp': [{ HostPort: '5353' }] });
  t.is(host['CpuShares'], 256);
  t.is(host['Memory'], 128 * 1024 * 1024);
  t.is(host['NetworkMode'], 'bridge');
  t.deepEqual(host['Links'], []);
  t.is(host['Binds'], undefined, 'mounts go through HostConfig.Mounts, never Binds strings');
  t.deepEqual(host['Mounts'], []);
  t.deepEqual(host['VolumesFrom'], []);
});

const cpuCases: Array<[number, number]> = [
  [0, 2],
  [1, 2],
  [2, 2],
  [512, 512],
  [262144, 262144],
  [500000, 262144],
];
for (const [cpuUnits, shares] of cpuCases) {
  test(`cpu ${cpuUnits} units → CpuShares ${shares} (clamped to [2, 262144])`, (t) => {
    const c = container({ cpuUnits });
    t.is(hostConfigOf(buildCreateBody(input({ task: task({}, [c]), container: c })))['CpuShares'], shares);
  });
}

const memoryCases: Array<[number, number | undefined]> = [
  [0, undefined],
  [1, 4 * 1024 * 1024],
  [3, 4 * 1024 * 1024],
  [4, 4 * 1024 * 1024],
  [6, 6 * 1024 * 1024],
  [512, 512 * 1024 * 1024],
];
for (const [memoryMiB, bytes] of memoryCases) {
  test(`memory ${memoryMiB} MiB → Memory ${bytes ?? 'unset'} (min 4 MiB when non-zero)`, (t) => {
    const c = container({ memoryMiB });
    t.is(hostConfigOf(buildCreateBody(input({ task: task({}, [c]), container: c })))['Memory'], bytes);
  });
}

test('mounts: host path, read-only, task-scoped and shared docker volumes as HostConfig.Mounts entries', (t) => {
  const c = container({
    mountPoints: [
      { sourceVolume: 'logs', containerPath: '/var/log/app', readOnly: false },
      { sourceVolume: 'conf', containerPath: '/etc/app', readOnly: true },
      { sourceVolume: 'scratch', containerPath: '/scratch', readOnly: false },
      { sourceVolume: 'cache', containerPath: '/cache', readOnly: true },
    ],
  });
  const spec = task(
    {
      volumes: [
        { name: 'logs', type: 'host', sourcePath: '/var/log/web' },
        { name: 'conf', type: 'host', sourcePath: '/etc/web' },
        { name: 'scratch', type: 'host' },
        sharedDockerVolume('cache'),
      ],
    },
    [c],
  );
  const body = buildCreateBody(
    input({ task: spec, container: c, volumeNames: new Map([['scratch', 'ecs-web-3-scratch-aabbccddeeff00112233']]) }),
  );
  t.is(hostConfigOf(body)['Binds'], undefined);
  t.deepEqual(hostConfigOf(body)['Mounts'], [
    { Type: 'bind', Source: '/var/log/web', Target: '/var/log/app', ReadOnly: false },
    { Type: 'bind', Source: '/etc/web', Target: '/etc/app', ReadOnly: true },
    { Type: 'volume', Source: 'ecs-web-3-scratch-aabbccddeeff00112233', Target: '/scratch', ReadOnly: false },
    { Type: 'volume', Source: 'cache', Target: '/cache', ReadOnly: true },
  ]);
  t.deepEqual(bindMountSources(spec, c), ['/var/log/web', '/etc/web']);
});

for (const containerPath of ['/data:z', '/mnt:rshared', '/data:ro,Z', '/x:/y:rw']) {
  test(`mounts: a containerPath ${containerPath} never turns into Docker mount options`, (t) => {
    const c = container({ mountPoints: [{ sourceVolume: 'logs', containerPath, readOnly: false }] });
    const spec = task({ volumes: [{ name: 'logs', type: 'host', sourcePath: '/var/log/web' }] }, [c]);
    const host = hostConfigOf(buildCreateBody(input({ task: spec, container: c })));
    t.is(host['Binds'], undefined, 'no source:target:options string is built');
    // The whole path is the target, literally: Docker parses no options out of a Mounts entry's Target.
    t.deepEqual(host['Mounts'], [{ Type: 'bind', Source: '/var/log/web', Target: containerPath, ReadOnly: false }]);
  });
}

test('mounts: a relative containerPath or host sourcePath fails the create instead of reaching Docker', (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['/var/log/web', 'data', /containerPath "data" is not an absolute path/],
    ['var/log/web', '/data', /sourcePath "var\/log\/web" is not an absolute path/],
  ];
  for (const [sourcePath, containerPath, message] of cases) {
    const c = container({ mountPoints: [{ sourceVolume: 'logs', containerPath, readOnly: false }] });
    const spec = task({ volumes: [{ name: 'logs', type: 'host', sourcePath }] }, [c]);
    const error = t.throws(() => buildCreateBody(input({ task: spec, container: c })));
    t.is((error as EcsdError).code, 'CannotCreateContainerError');
    t.regex(error!.message, message);
  }
});

test('mounts: a Binds list in the hostConfig overlay replaces the task mounts, as upstream; Mounts add to them', (t) => {
  const mounted = (hostConfig?: string) => {
    const c = container({
      mountPoints: [{ sourceVolume: 'logs', containerPath: '/var/log/app', readOnly: false }],
      dockerConfig: hostConfig === undefined ? {} : { hostConfig },
    });
    const spec = task({ volumes: [{ name: 'logs', type: 'host', sourcePath: '/var/log/web' }] }, [c]);
    return {
      host: hostConfigOf(buildCreateBody(input({ task: spec, container: c }))),
      sources: bindMountSources(spec, c),
    };
  };
  const ours = { Type: 'bind', Source: '/var/log/web', Target: '/var/log/app', ReadOnly: false };

  // Upstream decodes the overlay into the HostConfig it built (Go json.Unmarshal): a Binds list replaces
  // the agent's Binds, the task's mount points included, so none of ours remain and no host dir is made.
  const replaced = mounted('{"binds": ["/srv:/srv:ro"]}');
  t.deepEqual(replaced.host['Binds'], ['/srv:/srv:ro']);
  t.deepEqual(replaced.host['Mounts'], []);
  t.deepEqual(replaced.sources, []);
  const cleared = mounted('{"Binds": null}');
  t.is(cleared.host['Binds'], undefined);
  t.deepEqual(cleared.host['Mounts'], []);

  // Upstream's Mounts were a field of their own, next to the agent's Binds: the task's come first.
  const user = { Type: 'tmpfs', Target: '/run/cache' };
  const added = mounted(`{"Mounts": [${JSON.stringify(user)}]}`);
  t.deepEqual(added.host['Mounts'], [ours, user]);
  t.is(added.host['Binds'], undefined);
  t.deepEqual(added.sources, ['/var/log/web']);

  t.deepEqual(mounted('{"Memory": 1048576}').host['Mounts'], [ours]);
});

test('binds: an unresolved task volume, an unknown volume and an unsupported volume fail the create', (t) => {
  const mount = (sourceVolume: string) =>
    container({ mountPoints: [{ sourceVolume, containerPath: '/x', readOnly: false }] });
  const cases: Array<[TaskSpec['volumes'], string, RegExp]> = [
    [[{ name: 'scratch', type: 'host' }], 'scratch', /Unable to resolve volume mounts; invalid path/],
    [[], 'nope', /Invalid volume referenced: nope/],
    [[{ name: 'efs', type: 'unsupported', originalType: 'efs' }], 'efs', /volume efs of type efs is not supported/],
  ];
  for (const [volumes, name, message] of cases) {
    const c = mount(name);
    const error = t.throws(() => buildCreateBody(input({ task: task({ volumes }, [c]), container: c })));
    t.true(error instanceof EcsdError);
    t.is((error as EcsdError).code, 'CannotCreateContainerError');
    t.regex(error!.message, message);
  }
});

test('links use the sibling docker name (or ID) with the alias; volumesFrom adds :ro', (t) => {
  const app = container({
    links: ['db:database', 'cache'],
    volumesFrom: [
      { sourceContainer: 'db', readOnly: true },
      { sourceContainer: 'cache', readOnly: false },
    ],
  });
  const spec = task({}, [app, container({ name: 'db' }), container({ name: 'cache' })]);
  const ids = new Map([
    ['db', 'id-db'],
    ['cache', 'id-cache'],
  ]);
  const byId = hostConfigOf(buildCreateBody(input({ task: spec, container: app, dockerIdsByName: ids })));
  t.deepEqual(byId['Links'], ['id-db:database', 'id-cache:cache']);
  t.deepEqual(byId['VolumesFrom'], ['id-db:ro', 'id-cache']);

  const names = new Map([['db', 'ecs-web-3-db-00']]);
  const byName = hostConfigOf(
    buildCreateBody(input({ task: spec, container: app, dockerIdsByName: ids, dockerNamesByName: names })),
  );
  t.deepEqual(byName['Links'], ['ecs-web-3-db-00:database', 'id-cache:cache']);
});

test('a link or volumesFrom target without a docker container fails with the upstream message', (t) => {
  const linked = container({ links: ['db'] });
  t.throws(() => buildCreateBody(input({ task: task({}, [linked]), container: linked })), {
    message: 'Link target not available: db',
  });
  const from = container({ volumesFrom: [{ sourceContainer: 'db', readOnly: false }] });
  t.throws(() => buildCreateBody(input({ task: task({}, [from]), container: from })), {
    message: 'Volume target not available: db',
  });
});

test('config overlay: keys match case-insensitively, objects merge, arrays replace', (t) => {
  const c = container({
    portMappings: [{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }],
    dockerConfig: {
      config: JSON.stringify({
        user: 'nobody',
        WORKINGDIR: '/srv',
        exposedports: { '9090/tcp': {} },
        Cmd: ['echo', 'replaced'],
        labels: { team: 'a' },
        healthcheck: { test: ['CMD-SHELL', 'true'], interval: 30_000_000_000 },
        NotADockerField: 'dropped',
      }),
    },
  });
  const body = buildCreateBody(input({ task: task({}, [c]), container: c }));
  t.is(body['User'], 'nobody');
  t.is(body['WorkingDir'], '/srv');
  t.false('user' in body);
  t.false('NotADockerField' in body);
  t.deepEqual(body.ExposedPorts, { '80/tcp': {}, '9090/tcp': {} });
  t.deepEqual(body.Cmd, ['echo', 'replaced']);
  t.deepEqual(body['Healthcheck'], { Test: ['CMD-SHELL', 'true'], Interval: 30_000_000_000 });
  t.is(body.Labels?.['team'], 'a');
});

test('an Env key in the overlay replaces the agent-built list, as upstream does', (t) => {
  const c = container({ dockerConfig: { config: '{"Env":["ONLY=this"]}' } });
  t.deepEqual(buildCreateBody(input({ task: task({}, [c]), container: c })).Env, ['ONLY=this']);
});

test('hostConfig overlay: nested structs merge, maps merge key by key, null clears', (t) => {
  const base = { LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } }, Dns: ['1.1.1.1'], ShmSize: 64 };
  const merged = applyDockerConfigOverlay(
    base,
    JSON.stringify({
      logconfig: { config: { 'max-file': '2' } },
      dns: null,
      shmsize: null,
      ulimits: [{ name: 'nofile', soft: 10, hard: 20 }],
    }),
    'hostConfig',
  );
  t.deepEqual(merged, {
    LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } },
    ShmSize: 64,
    Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 20 }],
  });
  t.deepEqual(base.Dns, ['1.1.1.1'], 'the base object is not modified');
});

test('a strslice field accepts one string, as Docker does', (t) => {
  const merged = applyDockerConfigOverlay({}, '{"Entrypoint":"/init","CapAdd":"NET_ADMIN"}', 'config');
  t.deepEqual(merged, { Entrypoint: ['/init'] });
  t.deepEqual(applyDockerConfigOverlay({}, '{"capadd":"NET_ADMIN"}', 'hostConfig'), { CapAdd: ['NET_ADMIN'] });
});

const malformed: Array<[string, 'config' | 'hostConfig', RegExp]> = [
  ['{"User": ', 'config', /^Unable decode given docker config: /],
  ['[1,2]', 'config', /^Unable decode given docker config: json: cannot unmarshal array into Go struct field Config/],
  ['{"Memory":"lots"}', 'hostConfig', /^Unable to decode given host config: .*HostConfig\.Memory of type int64/],
  ['{"Privileged":1}', 'hostConfig', /HostConfig\.Privileged of type bool/],
  ['{"Healthcheck":{"Retries":1.5}}', 'config', /Config\.Healthcheck\.Retries of type int64/],
  ['{"Labels":{"a":1}}', 'config', /Config\.Labels\[a\] of type string/],
];
for (const [json, target, message] of malformed) {
  test(`malformed ${target} overlay ${json} → CannotCreateContainerError`, (t) => {
    const c = container({ dockerConfig: { [target]: json } });
    const error = t.throws(() => buildCreateBody(input({ task: task({}, [c]), container: c })));
    t.true(error instanceof EcsdError);
    t.is((error as EcsdError).code, 'CannotCreateContainerError');
    t.true((error as EcsdError).terminal);
    t.regex(error!.message, message);
  });
}

test('the five com.amazonaws.ecs labels are forced over user labels', (t) => {
  const c = container({
    dockerConfig: {
      config: JSON.stringify({ Labels: { [LABEL_TASK_ARN]: 'spoofed', [LABEL_CLUSTER]: 'other', mine: 'kept' } }),
    },
  });
  const body = buildCreateBody(input({ task: task({}, [c]), container: c, cluster: 'demo' }));
  t.deepEqual(body.Labels, {
    [LABEL_TASK_ARN]: TASK_ARN,
    [LABEL_CLUSTER]: 'demo',
    mine: 'kept',
    [LABEL_CONTAINER_NAME]: 'app',
    [LABEL_TASK_FAMILY]: 'web',
    [LABEL_TASK_VERSION]: '3',
  });
});

test('CgroupParent, NetworkMode and pid/ipc host modes are forced over the overlay', (t) => {
  const c = container({
    dockerConfig: {
      hostConfig: JSON.stringify({
        CgroupParent: '/elsewhere',
        NetworkMode: 'none',
        PidMode: 'private',
        IpcMode: 'shareable',
      }),
    },
  });
  const body = buildCreateBody(
    input({
      task: task({ networkMode: 'host', pidMode: 'host', ipcMode: 'none' }, [c]),
      container: c,
      taskCgroupParent: '/ecs/0123456789abcdef0123456789abcdef',
    }),
  );
  const host = hostConfigOf(body);
  t.is(host['CgroupParent'], '/ecs/0123456789abcdef0123456789abcdef');
  t.is(host['NetworkMode'], 'host');
  t.is(host['PidMode'], 'host');
  t.is(host['IpcMode'], 'none');
});

test('without a task cgroup the overlay CgroupParent stands; pid/ipc "task" emit nothing here', (t) => {
  const c = container({ dockerConfig: { hostConfig: '{"CgroupParent":"/custom"}' } });
  const host = hostConfigOf(
    buildCreateBody(input({ task: task({ pidMode: 'task', ipcMode: 'task' }, [c]), container: c })),
  );
  t.is(host['CgroupParent'], '/custom');
  t.false('PidMode' in host);
  t.false('IpcMode' in host);
});

test('healthCheckType docker without a Healthcheck fails; with one it passes through', (t) => {
  const missing = container({ healthCheckType: 'docker' });
  t.throws(() => buildCreateBody(input({ task: task({}, [missing]), container: missing })), {
    message: HEALTHCHECK_MISSING_MESSAGE,
  });
  const present = container({
    healthCheckType: 'docker',
    dockerConfig: { config: '{"Healthcheck":{"Test":["CMD","true"],"Retries":3}}' },
  });
  const body = buildCreateBody(input({ task: task({}, [present]), container: present }));
  t.deepEqual(body['Healthcheck'], { Test: ['CMD', 'true'], Retries: 3 });
});

test('extraEnv is added without overriding keys the task sets', (t) => {
  const c = container({ environment: { AWS_REGION: 'eu-west-1', A: '1' } });
  const body = buildCreateBody(
    input({
      task: task({}, [c]),
      container: c,
      extraEnv: { AWS_REGION: 'us-east-1', ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/abc' },
    }),
  );
  t.deepEqual(body.Env, ['AWS_REGION=eu-west-1', 'A=1', 'ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/abc']);
});

test('containerPortRange exposes and binds every port of the range', (t) => {
  const c = container({ portMappings: [{ containerPortRange: '7000-7002', protocol: 'udp' }] });
  const body = buildCreateBody(input({ task: task({}, [c]), container: c, hostPorts: new Map([['7001/udp', 40001]]) }));
  t.deepEqual(body.ExposedPorts, { '7000/udp': {}, '7001/udp': {}, '7002/udp': {} });
  t.deepEqual(hostConfigOf(body)['PortBindings'], {
    '7000/udp': [{ HostPort: '' }],
    '7001/udp': [{ HostPort: '40001' }],
    '7002/udp': [{ HostPort: '' }],
  });
});

test('dockerContainerName strips characters Docker names cannot carry', (t) => {
  t.is(
    dockerContainerName({ family: 'web', version: '12' }, 'my_app.v2', '0123456789abcdef0123'),
    'ecs-web-12-myappv2-0123456789abcdef0123',
  );
  t.regex(dockerContainerName({ family: 'f', version: '1' }, 'a-b', 'ff'), /^ecs-f-1-a-b-ff$/);
});

test('bind sources: a missing host directory is created 0755 with its parents, an existing one is left as is', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ecsd-bind-src-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const previousUmask = process.umask(0o022);
  t.teardown(() => process.umask(previousUmask));
  const existing = join(dir, 'existing');
  mkdirSync(existing, { mode: 0o750 });
  const missing = join(dir, 'a', 'b', 'c');
  t.deepEqual(ensureBindMountSources([existing, missing]), [missing]);
  t.true(statSync(missing).isDirectory());
  t.is((statSync(missing).mode & 0o777).toString(8), '755');
  t.is((statSync(join(dir, 'a')).mode & 0o777).toString(8), '755');
  t.is((statSync(existing).mode & 0o777).toString(8), '750', 'an existing directory is not changed');
  t.deepEqual(ensureBindMountSources([missing]), [], 'nothing to do the second time');
});

test('bind sources: a path that cannot be made fails the create naming the path', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ecsd-bind-src-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const error = t.throws(() => ensureBindMountSources([join(file, 'below')]));
  t.is((error as EcsdError).code, 'CannotCreateContainerError');
  t.regex(error!.message, /error while creating mount source path '.*a-file\/below'/);
});
