/**
 * Which credentials a pull sends (fact sheet 7.2, upstream `dockerGoClient.getAuthdata`): by the demanding
 * container's `registryAuthentication.type` —
 * - `ecr`: an ECR authorization token (ecr-auth.ts), got with the task's execution-role credentials
 *   (`useExecutionRole`) or the instance's. Any failure there is a CannotPullECRContainerError, as upstream.
 * - `asm`: Secrets Manager credentials, which ecsd does not fetch. The pull fails with a reason that says so
 *   rather than going out anonymously (or with ECS_ENGINE_AUTH_* credentials meant for other images), which
 *   would turn a missing feature into a confusing "unauthorized" from the registry.
 * - anything else (no registryAuthentication): ECS_ENGINE_AUTH_TYPE/DATA for the image's registry, else none.
 * Nothing here logs or puts a credential into an error.
 */
import { CannotPullContainerError, CannotPullECRContainerError } from '../errors.js';
import type { RegistryAuthSpec } from '../model/task.js';
import type { EcrAuth } from './ecr-auth.js';
import type { RegistryAuthLookup } from './registry-auth.js';
import type { RegistryAuth } from './types.js';

/** What a pull knows about whose image it fetches. */
export interface PullAuthTarget {
  /** Normalised reference (the images loop's key). */
  ref: string;
  /** The spelling the task used. */
  image: string;
  /** The first waiting container's task; absent for a start-up pre-pull. */
  taskArn?: string;
  registryAuth?: RegistryAuthSpec;
}

export interface PullAuthDeps {
  /** ECS_ENGINE_AUTH_TYPE/DATA, parsed once at start-up. */
  engineAuth: Pick<RegistryAuthLookup, 'authFor'>;
  /** ECR tokens; absent in local mode, where no source sends `registryAuthentication`. */
  ecr?: EcrAuth;
}

export type PullAuth = (target: PullAuthTarget, signal: AbortSignal) => Promise<RegistryAuth | undefined>;

/**
 * Marks errors raised while choosing credentials (not by the engine's pull), so pull-errors.ts classifies them
 * by their error class instead of by the registry's wording.
 */
export const REGISTRY_AUTH_STAGE = 'registry-auth';

export function createPullAuth(deps: PullAuthDeps): PullAuth {
  return async (target, signal) => {
    const spec = target.registryAuth;
    if (spec?.type === 'ecr') return ecrAuthFor(deps, target, spec, signal);
    if (spec?.type === 'asm') {
      const parameter = spec.asmAuthData?.credentialsParameter;
      throw new CannotPullContainerError(
        `registry authentication of type asm (Secrets Manager${parameter ? ` secret ${parameter}` : ''}) is not supported by ecsd; ${target.image} is not pulled without its credentials`,
        { context: { stage: REGISTRY_AUTH_STAGE, image: target.image, taskArn: target.taskArn } },
      );
    }
    return deps.engineAuth.authFor(target.image);
  };
}

async function ecrAuthFor(
  deps: PullAuthDeps,
  target: PullAuthTarget,
  spec: Extract<RegistryAuthSpec, { type: 'ecr' }>,
  signal: AbortSignal,
): Promise<RegistryAuth> {
  const context = { stage: REGISTRY_AUTH_STAGE, image: target.image, taskArn: target.taskArn };
  const data = spec.ecrAuthData;
  // Upstream's "missing container's ecr auth data": a registry ID and a region are what GetAuthorizationToken needs.
  if (data === undefined || data.registryId === '' || data.region === '') {
    throw new CannotPullECRContainerError(
      `registryAuthentication of ${target.image} is type ecr without ecrAuthData registryId and region`,
      { context },
    );
  }
  if (deps.ecr === undefined) {
    throw new CannotPullECRContainerError(`ECR authentication for ${target.image} needs ECS mode`, { context });
  }
  if (data.useExecutionRole && target.taskArn === undefined) {
    throw new CannotPullECRContainerError(`no task whose execution role could pull ${target.image}`, { context });
  }
  return deps.ecr.authFor({
    registryId: data.registryId,
    region: data.region,
    ...(data.endpointOverride === undefined ? {} : { endpointOverride: data.endpointOverride }),
    useExecutionRole: data.useExecutionRole,
    taskArn: target.taskArn ?? '',
    signal,
  });
}
