/**
 * `ecsd -ecs-attributes` (fact sheet 13): print the capability attributes this agent would register, one
 * `name<TAB>value` line each, and exit 0. The list depends on the engine — the Docker API versions and
 * logging drivers come from the negotiated API — so the engine is asked exactly as agent start asks it
 * (negotiate, then info); an engine that does not answer, or one ecsd cannot use, exits 1 with the reason on
 * stderr, and nothing is printed on stdout.
 *
 * The task cgroup root is checked without being created (a command that only reports must not change the
 * host); agent start creates it, so the two agree whenever it can be created.
 */
import { EXIT_RECOVERABLE, EXIT_SUCCESS } from '../agent/errors.js';
import type { AgentConfig } from '../config/index.js';
import type { DockerEngine } from '../docker/types.js';
import { capabilityAttributes, formatAttributes } from '../ecs/capabilities.js';
import { errorMessage } from '../errors.js';

export interface EcsAttributesDeps {
  config: AgentConfig;
  engine: Pick<DockerEngine, 'negotiate' | 'info'>;
  /** Whether the `/ecs` task cgroup root exists or could be made under `config.cgroupPath` (cgroup v1). */
  cgroupRootUsable: (cgroupRoot: string) => boolean;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

export async function printEcsAttributes(deps: EcsAttributesDeps): Promise<number> {
  const { config, engine } = deps;
  let info: Awaited<ReturnType<DockerEngine['info']>>;
  try {
    await engine.negotiate();
    info = await engine.info();
  } catch (error) {
    deps.err.write(
      `ecsd: cannot read the capabilities: the Docker engine at ${config.dockerHost}: ${errorMessage(error)}\n`,
    );
    return EXIT_RECOVERABLE;
  }
  // The same rule as agent start's probe: limits need cgroup v1 and a usable /ecs root, and are off when disabled.
  const taskCgroupEnabled =
    config.enableTaskCpuMemLimit && info.cgroupVersion === '1' && deps.cgroupRootUsable(config.cgroupPath);
  const attributes = capabilityAttributes(config, { apiVersion: info.negotiatedApiVersion, taskCgroupEnabled });
  deps.out.write(formatAttributes(attributes));
  return EXIT_SUCCESS;
}
