/**
 * SigV4 header signing of the WebSocket upgrade request (fact sheet 2.2): a `GET` of the `wss://…/ws?…` URL,
 * service `ecs`, the configured region, the hash of an empty body. The returned headers (`host`,
 * `authorization`, `x-amz-date` and, with temporary credentials, `x-amz-security-token`) go on the upgrade
 * request as they are. Not presigned: nothing secret lands in the URL or in logs of it.
 *
 * `upgradeSigningRequest` is also what a verifier uses to rebuild the request from what it received, so both
 * sides canonicalise the same way (`+` in the query is a space, as Go's decoder reads it).
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export const ACS_SIGNING_SERVICE = 'ecs';

export interface SignOptions {
  region: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Default: now. Tests and verifiers pass the date of the request they check. */
  signingDate?: Date;
}

/** The request that is signed: method GET, the URL's host (with a non-default port), path and decoded query. */
export function upgradeSigningRequest(url: string, headers: Record<string, string> = {}): HttpRequest {
  const parsed = new URL(url);
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of parsed.searchParams) {
    const seen = query[key];
    if (seen === undefined) query[key] = value;
    else query[key] = Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return new HttpRequest({
    method: 'GET',
    protocol: parsed.protocol,
    hostname: parsed.hostname,
    ...(parsed.port === '' ? {} : { port: Number(parsed.port) }),
    path: parsed.pathname,
    query,
    headers: { ...headers, host: parsed.host },
  });
}

export async function signUpgradeRequest(url: string, options: SignOptions): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service: ACS_SIGNING_SERVICE,
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
    // Upstream's signer adds no x-amz-content-sha256 header for this service; the body hash is still signed.
    applyChecksum: false,
  });
  const signed = await signer.sign(upgradeSigningRequest(url), {
    signingDate: options.signingDate ?? new Date(),
  });
  return { ...signed.headers };
}
