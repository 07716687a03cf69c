/**
 * Registry credentials from `ECS_ENGINE_AUTH_TYPE` + `ECS_ENGINE_AUTH_DATA` (fact sheet 7.2), parsed once
 * at start-up into a lookup from image reference to the X-Registry-Auth body the engine's pull takes.
 *
 * Matching, as upstream's dockerauth provider:
 * - Keys lose a leading `http://` / `https://`.
 * - Docker Hub images (no registry host, or `docker.io`, `index.docker.io`, `registry-1.docker.io`) use the
 *   key `index.docker.io/v1/` only — what `docker login` writes.
 * - Other images use keys whose host (the part before the first `/`) is the image's registry host; among
 *   those, the longest key that is a prefix of the image's repository wins (`registry.tld/team` over
 *   `registry.tld` for `registry.tld/team/app`), else the bare host key.
 * Two choices differ from upstream on purpose, both in the direction of sending credentials to fewer places:
 * a key counts as a prefix only at a path boundary (`registry.tld/team` does not match
 * `registry.tld/teamster/app`; upstream's plain string prefix does), and when no key is a prefix and there is
 * no bare host key, no credentials are sent (upstream then takes whichever same-host key Go's randomised map
 * iteration yields first).
 *
 * Malformed data is a ConfigError naming ECS_ENGINE_AUTH_DATA at start-up (upstream logs a warning and pulls
 * anonymously, which turns a typo into a stream of confusing pull failures and anonymous pulls that burn
 * registry quota). No message, error or log field ever carries a password or an `auth` value: errors name
 * registry keys and fields only, and the parsed object serialises without secrets (`toJSON`, `inspect`).
 */
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { Ajv, type ErrorObject } from 'ajv';
import { findSchemaFile } from '../config/schema.js';
import { ConfigError } from '../errors.js';

export type EngineAuthType = 'docker' | 'dockercfg';

/** The X-Registry-Auth body dockerode sends with a pull (`authconfig`). */
export interface DockerAuthConfig {
  username: string;
  password: string;
  serveraddress: string;
  email?: string;
}

export interface RegistryAuthLookup {
  /** Credentials for pulling `imageRef`, or undefined to pull anonymously. */
  authFor(imageRef: string): DockerAuthConfig | undefined;
  /** The registry keys that carry credentials, with usernames: safe to log. */
  toJSON(): { type: EngineAuthType | undefined; registries: Record<string, { username: string }> };
}

const VARIABLE = 'ECS_ENGINE_AUTH_DATA';
const DOCKER_HUB_KEY = 'index.docker.io/v1/';
const DOCKER_HUB_HOSTS: ReadonlySet<string> = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

type RawEntry = { username?: string; password?: string; email?: string; auth?: string; serveraddress?: string };

let validateShape: ReturnType<Ajv['compile']> | undefined;

function shapeValidator(): ReturnType<Ajv['compile']> {
  if (validateShape === undefined) {
    const schema = JSON.parse(readFileSync(findSchemaFile('engine-auth-data.schema.json'), 'utf8')) as object;
    // No `verbose`: ajv's errors then hold paths and keywords only, never the (secret) values.
    validateShape = new Ajv({ allErrors: true, strict: true }).compile(schema);
  }
  return validateShape;
}

/** A ConfigError about ECS_ENGINE_AUTH_DATA whose text never includes the value. */
function malformed(problem: string): ConfigError {
  return ConfigError.fromIssues([{ variable: VARIABLE, value: '<redacted>', expected: problem }]);
}

function describeShapeError(error: ErrorObject): string {
  const path = error.instancePath.split('/').slice(1).map(decodePointer);
  const where = path.length === 0 ? 'the value' : `${JSON.stringify(path[0])}${path[1] ? `.${path[1]}` : ''}`;
  return `${where} ${error.message ?? 'is invalid'}`;
}

function decodePointer(segment: string): string {
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
}

function stripScheme(key: string): string {
  if (key.startsWith('http://')) return key.slice('http://'.length);
  if (key.startsWith('https://')) return key.slice('https://'.length);
  return key;
}

/** base64 `user:password` (the dockercfg `auth` field); undefined when it is not that. */
function decodeBasicAuth(auth: string): { username: string; password: string } | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(auth) || auth.length % 4 !== 0) return undefined;
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

function toAuthConfig(type: EngineAuthType, key: string, entry: RawEntry): DockerAuthConfig {
  const where = `entry ${JSON.stringify(key)}`;
  const serveraddress = entry.serveraddress ?? stripScheme(key);
  const email = entry.email === undefined || entry.email === '' ? {} : { email: entry.email };
  if (type === 'docker' && entry.username !== undefined) {
    if (entry.password === undefined) throw malformed(`${where} to have a password with its username`);
    return { username: entry.username, password: entry.password, serveraddress, ...email };
  }
  if (entry.auth === undefined) {
    throw malformed(
      type === 'docker'
        ? `${where} to have username and password, or auth (base64 of user:password)`
        : `${where} to have auth (base64 of user:password), as ECS_ENGINE_AUTH_TYPE is dockercfg`,
    );
  }
  const basic = decodeBasicAuth(entry.auth);
  if (basic === undefined) throw malformed(`${where}: auth to be base64 of user:password`);
  return { ...basic, serveraddress, ...email };
}

/**
 * Parses the two variables once. `authType` undefined with `authData` set is an error (upstream silently
 * ignores the data, so nothing would authenticate); both undefined gives a lookup that never has credentials.
 */
export function parseEngineAuth(
  authType: EngineAuthType | undefined,
  authData: string | undefined,
): RegistryAuthLookup {
  const byKey = new Map<string, DockerAuthConfig>();
  if (authData !== undefined && authData.trim() !== '') {
    if (authType === undefined) {
      throw ConfigError.fromIssues([
        { variable: 'ECS_ENGINE_AUTH_TYPE', value: '', expected: `docker or dockercfg, as ${VARIABLE} is set` },
      ]);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(authData);
    } catch {
      // JSON.parse's message quotes the text around the fault: never pass it on.
      throw malformed(`a JSON object of registry credentials (the value is not valid JSON)`);
    }
    const validate = shapeValidator();
    if (!validate(parsed)) {
      throw malformed(
        `a JSON object of registry credentials: ${(validate.errors ?? []).map(describeShapeError).join('; ')}`,
      );
    }
    for (const [key, entry] of Object.entries(parsed as Record<string, RawEntry>)) {
      byKey.set(stripScheme(key), toAuthConfig(authType, key, entry));
    }
  }
  return new EngineAuthLookup(authType, byKey);
}

class EngineAuthLookup implements RegistryAuthLookup {
  readonly #type: EngineAuthType | undefined;
  readonly #byKey: ReadonlyMap<string, DockerAuthConfig>;

  constructor(type: EngineAuthType | undefined, byKey: ReadonlyMap<string, DockerAuthConfig>) {
    this.#type = type;
    this.#byKey = byKey;
  }

  authFor(imageRef: string): DockerAuthConfig | undefined {
    const { host, repository } = splitImageRef(imageRef);
    if (DOCKER_HUB_HOSTS.has(host)) return copy(this.#byKey.get(DOCKER_HUB_KEY));
    let best: string | undefined;
    for (const key of this.#byKey.keys()) {
      const slash = key.indexOf('/');
      const keyHost = slash < 0 ? key : key.slice(0, slash);
      if (keyHost !== host) continue;
      const keyPath = slash < 0 ? '' : key.slice(slash + 1).replace(/\/+$/, '');
      const prefixOfImage = keyPath === '' || repository === keyPath || repository.startsWith(`${keyPath}/`);
      if (prefixOfImage && (best === undefined || key.length > best.length)) best = key;
    }
    return copy(best === undefined ? undefined : this.#byKey.get(best));
  }

  toJSON(): ReturnType<RegistryAuthLookup['toJSON']> {
    const registries: Record<string, { username: string }> = {};
    for (const [key, auth] of this.#byKey) registries[key] = { username: auth.username };
    return { type: this.#type, registries };
  }

  /** `console.log` / `util.inspect` show the same redacted view as JSON. */
  [inspect.custom](): unknown {
    return this.toJSON();
  }
}

function copy(auth: DockerAuthConfig | undefined): DockerAuthConfig | undefined {
  return auth === undefined ? undefined : { ...auth };
}

/**
 * The registry host and the repository path of an image reference, by Docker's rule: the first component
 * is a registry only when it looks like a host (a dot, a port, or `localhost`); otherwise it is Docker Hub.
 */
export function splitImageRef(imageRef: string): { host: string; repository: string } {
  let name = imageRef.trim();
  const at = name.indexOf('@');
  if (at >= 0) name = name.slice(0, at);
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) name = name.slice(0, colon);
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') {
    return { host: first, repository: name.slice(slash + 1) };
  }
  return { host: 'docker.io', repository: name };
}
