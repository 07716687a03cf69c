/**
 * `make bench`, images part (issue 12): the time to pull a test image from a registry on 127.0.0.1 through
 * ecsd (a task naming it, under the default pull behaviour) versus `docker pull` of the same image, rounds
 * alternated so the engine's drift is shared. The image is the local test image plus a layer of random bytes
 * of its own (BENCH_PULL_MIB, default 32), pushed once and removed locally before every pull. Prints numbers;
 * asserts nothing (the target, ≤ 1.1×, is in the issue and the README).
 *
 * ecsd's time is its pull record's (start of the pull → end, as it recorded them); the direct time is the
 * `docker pull` command's wall time, which includes the CLI's own start (~50 ms) — both are what an operator
 * sees as "the pull".
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { normalizeImageRef } from '../src/docker/informer-images.js';
import { openStoreReadOnly } from '../src/store/index.js';
import { AgentProcess, TEST_IMAGE } from '../test/helpers/agent-process.js';
import { ImagesRegistry, localImageExists, removeLocalImage } from '../test/helpers/images-registry.js';

const execFileAsync = promisify(execFile);
const ROUNDS = Math.max(1, Number(process.env['BENCH_PULL_ROUNDS'] ?? 3));
const LAYER_MIB = Math.max(1, Number(process.env['BENCH_PULL_MIB'] ?? 32));

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('docker', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

async function directPull(image: string): Promise<number> {
  await removeLocalImage(image);
  await assertGone(image);
  const startedMs = Date.now();
  await docker('pull', '-q', image);
  return Date.now() - startedMs;
}

async function ecsdPull(agent: AgentProcess, image: string, round: number): Promise<number> {
  await removeLocalImage(image);
  await assertGone(image);
  const family = `pull${round}`;
  agent.writeTaskDefinition(`${family}.json`, {
    family,
    memory: '64',
    containerDefinitions: [{ name: 'app', image, essential: true, command: ['true'] }],
  });
  await agent.waitForTask(family, (task) => task.KnownStatus === 'RUNNING' || task.KnownStatus === 'STOPPED', 120_000);
  const store = openStoreReadOnly({ dataDir: agent.dataDir });
  const pull = store?.getImagePull(normalizeImageRef(image));
  store?.close();
  // ecsd does not remove a stopped task's containers yet; one left would keep the image's layers, and the
  // next pull would download nothing.
  agent.removeTaskDefinition(`${family}.json`);
  await agent.waitForTask(family, (task) => task.KnownStatus === 'STOPPED', 120_000);
  const ids = await agent.dockerContainerIds({ family });
  if (ids.length > 0) await docker('rm', '-f', ...ids);
  if (pull?.state !== 'succeeded' || pull.finishedAtMs === undefined) {
    throw new Error(`ecsd's pull of ${image} did not succeed: ${JSON.stringify(pull)}`);
  }
  return pull.finishedAtMs - pull.startedAtMs;
}

/** A pull is only measured from nothing: an image still here (in use, say) would make it a no-op. */
async function assertGone(image: string): Promise<void> {
  if (await localImageExists(image))
    throw new Error(`${image} is still present locally; the pull would measure nothing`);
}

const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

async function hasRegistryBinary(): Promise<boolean> {
  return execFileAsync('sh', ['-c', 'command -v docker-registry']).then(
    () => true,
    () => false,
  );
}

const registry = new ImagesRegistry();
const agent = new AgentProcess({ env: { ECS_IMAGE_PULL_BEHAVIOR: 'default', ECS_LOGLEVEL: 'info' } });
if (!(await hasRegistryBinary())) {
  console.log('image pull bench skipped: docker-registry is not installed (apt-get install docker-registry)');
  process.exit(0);
}
try {
  await registry.start();
  const image = await registry.pushDistinctImage(`head -c ${LAYER_MIB * 1024 * 1024} /dev/urandom > /blob`);
  await agent.start();
  const direct: number[] = [];
  const ecsd: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    direct.push(await directPull(image));
    ecsd.push(await ecsdPull(agent, image, round));
  }
  direct.push(await directPull(image));
  console.log(`image pull from a local registry: ${TEST_IMAGE} + ${LAYER_MIB} MiB layer, ${ROUNDS} rounds`);
  console.log(`  docker pull       ${direct.join(' / ')} ms (mean ${Math.round(mean(direct))} ms)`);
  console.log(`  through ecsd      ${ecsd.join(' / ')} ms (mean ${Math.round(mean(ecsd))} ms)`);
  console.log(`  ratio ecsd/direct ${(mean(ecsd) / mean(direct)).toFixed(2)}× (target ≤ 1.1×)`);
} finally {
  await agent.cleanup();
  await registry.cleanup();
}
