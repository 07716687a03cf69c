/**
 * Engine API version negotiation. Every call goes to `/v1.NN/…`, so the engine answers with the semantics
 * the agent was written against instead of whatever its newest version means. The version is picked once,
 * from `GET /version` (unversioned): the lower of the agent's newest and the engine's `ApiVersion`, refused
 * when that is below the agent's minimum or below the engine's own `MinAPIVersion`.
 */
import { DockerApiError, type EcsdError } from '../errors.js';

/**
 * The oldest Engine API ecsd runs against: 1.25 (Docker 1.13) is the first with `HostConfig.Mounts`, which
 * the create body uses for volumes and bind mounts. Upstream accepts 1.21 (fact sheet 13); ecsd does not.
 */
export const MIN_DOCKER_API_VERSION = '1.25';

/**
 * The newest Engine API ecsd speaks: 1.44 (Docker 25). Docker 29 refuses every version below 1.44, so a lower
 * cap would lock ecsd out of current engines; nothing the agent sends or reads changed meaning up to 1.44.
 */
export const MAX_DOCKER_API_VERSION = '1.44';

/** `/version`'s answer, reduced to what negotiation reads. */
export interface EngineVersionReport {
  ApiVersion?: string;
  MinAPIVersion?: string;
}

/** Parses `1.41` into [1, 41]; undefined for anything else. */
function parseApiVersion(version: string | undefined): [number, number] | undefined {
  const match = /^(\d+)\.(\d+)$/.exec(version ?? '');
  return match === null ? undefined : [Number(match[1]), Number(match[2])];
}

/** Negative when a < b, 0 when equal, positive when a > b. Both must be `major.minor`. */
export function compareApiVersions(a: string, b: string): number {
  const pa = parseApiVersion(a);
  const pb = parseApiVersion(b);
  if (pa === undefined || pb === undefined) throw new Error(`not an API version: ${a} / ${b}`);
  return pa[0] - pb[0] || pa[1] - pb[1];
}

function refusal(message: string, context: Record<string, unknown>): EcsdError {
  // Terminal: retrying cannot make the engine speak another version; the start-up code exits on it.
  return new DockerApiError(message, {
    context: { op: 'negotiate', refused: true, ...context },
    errorClass: 'terminal',
  });
}

/**
 * Picks the version every later call uses, or returns the error that refuses this engine. `MinAPIVersion`
 * is absent on engines older than 1.25 (they are refused anyway); treated as no lower bound.
 */
export function chooseApiVersion(
  report: EngineVersionReport,
  limits: { min: string; max: string } = { min: MIN_DOCKER_API_VERSION, max: MAX_DOCKER_API_VERSION },
): { version: string } | { error: EcsdError } {
  const engineVersion = report.ApiVersion ?? '';
  const context = {
    engineApiVersion: engineVersion,
    engineMinApiVersion: report.MinAPIVersion,
    agentMinApiVersion: limits.min,
  };
  if (parseApiVersion(engineVersion) === undefined) {
    return {
      error: refusal(`Docker Engine reported no usable API version (${JSON.stringify(engineVersion)})`, context),
    };
  }
  if (compareApiVersions(engineVersion, limits.min) < 0) {
    return {
      error: refusal(
        `Docker Engine API ${engineVersion} is older than ${limits.min}, the minimum ecsd needs (HostConfig.Mounts)`,
        context,
      ),
    };
  }
  const version = compareApiVersions(engineVersion, limits.max) < 0 ? engineVersion : limits.max;
  const engineMin = report.MinAPIVersion;
  if (
    engineMin !== undefined &&
    parseApiVersion(engineMin) !== undefined &&
    compareApiVersions(version, engineMin) < 0
  ) {
    return {
      error: refusal(`Docker Engine requires API ${engineMin} or newer; ecsd speaks at most ${limits.max}`, {
        ...context,
        agentMaxApiVersion: limits.max,
      }),
    };
  }
  return { version };
}
