/**
 * What kind of failure a pull met, from the engine's message — which is the registry's own words, since the
 * engine answers a failed pull with HTTP 500 or an error line in the progress stream whatever the cause
 * (toolchain.md). The kind decides whether another attempt is worth it and labels the pull metric; the
 * message itself becomes the container reason `CannotPullContainerError: <message>` (fact sheet 4.6).
 */
import { REGISTRY_AUTH_STAGE } from '../../src/docker/pull-auth.js';
import { CannotPullContainerError, type EcsdError, errorMessage, isEcsdError } from '../../src/errors.js';
import type { PullFailureKind } from '../../src/model/image-pull.js';

/** Checked in order: the first match wins (a 429 body may also mention the registry host). */
const PATTERNS: ReadonlyArray<readonly [PullFailureKind, RegExp]> = [
  ['disk_full', /no space left on device|disk quota exceeded/i],
  ['rate_limited', /toomanyrequests|too many requests|rate limit|\b429\b/i],
  [
    'auth',
    /unauthorized|authentication required|access denied|denied: |incorrect username or password|no basic auth credentials|forbidden|\b401\b|\b403\b/i,
  ],
  [
    'not_found',
    /not found|manifest unknown|repository does not exist|name unknown|no such image|invalid reference format/i,
  ],
  ['timeout', /timeout|timed out|deadline exceeded|made no progress/i],
  [
    'network',
    /connection refused|no such host|dial tcp|connection reset|network is unreachable|host is unreachable|tls handshake|EOF|server misbehaving|temporary failure|bad gateway|service unavailable|\b50[234]\b/i,
  ],
];

export function classifyPullFailure(error: unknown): PullFailureKind {
  if (isEcsdError(error) && error.code === 'DockerTimeoutError') return 'timeout';
  // Getting the credentials failed (ECR GetAuthorizationToken, an auth type ecsd lacks): no registry words to
  // read, but the error knows its class — a denied or malformed request stays so, a network failure may pass.
  if (isCredentialsFailure(error)) {
    if (error.errorClass === 'throttled') return 'rate_limited';
    return error.errorClass === 'transient' ? 'network' : 'auth';
  }
  const message = errorMessage(error);
  for (const [kind, pattern] of PATTERNS) if (pattern.test(message)) return kind;
  return 'unknown';
}

/**
 * Another attempt can only help when the cause may pass: a network blip, a registry asking to slow down, a
 * stalled stream. A wrong password, a missing repository or a full disk stay so a second later (fact sheet
 * 4.9 retries "transient" errors only).
 */
export function isRetryablePullFailure(kind: PullFailureKind): boolean {
  return kind === 'network' || kind === 'rate_limited' || kind === 'timeout' || kind === 'unknown';
}

/**
 * The container reason for a failed pull: `CannotPullContainerError: <the registry's message>`, naming the
 * image first when the message does not (a DNS or connection failure names only the registry host).
 */
export function pullFailureReason(error: unknown, image: string): string {
  // Upstream reports these under their own name: `CannotPullECRContainerError: …` (fact sheet 7.2).
  if (isCredentialsFailure(error)) return error.toReason();
  const message = errorMessage(error);
  const repository = repositoryOf(image);
  const text = message.includes(repository) ? message : `pull of ${image} failed: ${message}`;
  return new CannotPullContainerError(text).toReason();
}

/** `127.0.0.1:5000/app:1` → `app`, `library/busybox@sha256:…` → `busybox`: the last path component's name. */
function repositoryOf(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const last = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  return last.split(':')[0] ?? last;
}

function isCredentialsFailure(error: unknown): error is EcsdError {
  return (
    isEcsdError(error) &&
    (error.code === 'CannotPullECRContainerError' || error.context['stage'] === REGISTRY_AUTH_STAGE)
  );
}
