/**
 * ECS mode for agent-process tests and the ECS bench: a loopback backend simulator and a real `ecsd` (no
 * task directory) pointed at it. The agent gets static credentials, `ECS_EXTERNAL=true` and IMDS disabled,
 * so no code path leaves 127.0.0.1; the cluster is unique per pair and exists in the simulator from the start.
 */
import { randomBytes } from 'node:crypto';
import { type EcsSimulator, type EcsSimulatorOptions, startEcsSimulator } from '../support/ecs-sim/index.js';
import { AgentProcess, type AgentProcessOptions } from './agent-process.js';

/** The environment that points an agent at `sim`: endpoint, region, the simulator's own key pair. */
export function ecsModeEnv(sim: EcsSimulator): Record<string, string> {
  return {
    ECS_BACKEND_HOST: sim.url,
    AWS_DEFAULT_REGION: sim.settings.region,
    AWS_ACCESS_KEY_ID: sim.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sim.credentials.secretAccessKey,
    ECS_EXTERNAL: 'true',
    // A second guard besides ECS_EXTERNAL: the SDK's own providers never call 169.254.169.254.
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

export interface EcsPairOptions {
  sim?: Omit<EcsSimulatorOptions, 'cluster' | 'clusters'>;
  agent?: Omit<AgentProcessOptions, 'ecsMode' | 'cluster'>;
}

export interface EcsPair {
  sim: EcsSimulator;
  agent: AgentProcess;
  /** Kills the agent, removes its containers and volumes (by cluster label), closes the simulator. */
  close(): Promise<void>;
}

/** A started simulator and an agent configured for it (not started: tests may want to look first). */
export async function createEcsPair(options: EcsPairOptions = {}): Promise<EcsPair> {
  const cluster = `ecs-it-${randomBytes(4).toString('hex')}`;
  const sim = await startEcsSimulator({ ...options.sim, cluster });
  const agent = new AgentProcess({
    ...options.agent,
    ecsMode: true,
    cluster,
    env: { ...ecsModeEnv(sim), ...options.agent?.env },
  });
  return {
    sim,
    agent,
    close: async () => {
      await agent.cleanup();
      await sim.close();
    },
  };
}

/** The value of an unlabelled series (a gauge such as `ecs_agent_acs_connected`) on the agent's /metrics. */
export async function scrapeValue(metricsPort: number, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return match === null ? undefined : Number(match[1]);
}
