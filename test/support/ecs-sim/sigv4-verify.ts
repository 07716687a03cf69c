/**
 * Server-side SigV4 header verification: parse the `Authorization` header, rebuild the request from exactly
 * the headers it says were signed, sign that again with the configured secret (the same @smithy signer the
 * SDK uses) and compare. Nothing is trusted from the header but its claims; the scope (key, date, region,
 * service) must match what this backend serves.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface SignedRequestView {
  method: string;
  /** Path without the query, as received. */
  path: string;
  /** Decoded query parameters (form decoding, as Go's url.Query and URLSearchParams do). */
  query: Record<string, string | string[]>;
  /** Lower-case names; multi-valued headers joined with `,` as Node does. */
  headers: Record<string, string>;
  body: Uint8Array | string;
}

export interface VerifierConfig {
  accessKeyId: string;
  secretAccessKey: string;
  /** Other key pairs this endpoint accepts (e.g. task role credentials the backend handed out): key → secret. */
  secretFor?: (accessKeyId: string) => string | undefined;
  region: string;
  maxSkewMs: number;
  nowMs: () => number;
}

/** The AWS error names a real endpoint uses for each way a signature can be wrong. */
export type SignatureFailureType =
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'UnrecognizedClientException'
  | 'InvalidSignatureException';

export type VerifyResult =
  | { ok: true; accessKeyId: string; signedHeaders: readonly string[] }
  | { ok: false; type: SignatureFailureType; message: string };

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export function parseAuthorization(header: string): ParsedAuthorization | undefined {
  const match = AUTH_PATTERN.exec(header.trim());
  if (!match) return undefined;
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match;
  return {
    accessKeyId: accessKeyId!,
    date: date!,
    region: region!,
    service: service!,
    signedHeaders: signedHeaders!.split(';'),
    signature: signature!,
  };
}

export function parseAmzDate(value: string): Date | undefined {
  const m = AMZ_DATE_PATTERN.exec(value);
  if (!m) return undefined;
  const date = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export async function verifySigV4(
  request: SignedRequestView,
  service: string,
  config: VerifierConfig,
): Promise<VerifyResult> {
  const header = request.headers['authorization'];
  if (header === undefined || header === '') {
    return { ok: false, type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  }
  const auth = parseAuthorization(header);
  if (auth === undefined) {
    return {
      ok: false,
      type: 'IncompleteSignatureException',
      message: `Authorization header is not a well-formed AWS4-HMAC-SHA256 header: ${header.slice(0, 80)}`,
    };
  }
  const amzDate = request.headers['x-amz-date'];
  const signingDate = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (signingDate === undefined) {
    return { ok: false, type: 'IncompleteSignatureException', message: 'missing or malformed X-Amz-Date header' };
  }
  if (!auth.signedHeaders.includes('host') || !auth.signedHeaders.includes('x-amz-date')) {
    return {
      ok: false,
      type: 'IncompleteSignatureException',
      message: 'SignedHeaders must include host and x-amz-date',
    };
  }
  const missing = auth.signedHeaders.filter((name) => request.headers[name] === undefined);
  if (missing.length > 0) {
    return {
      ok: false,
      type: 'IncompleteSignatureException',
      message: `signed headers not sent: ${missing.join(', ')}`,
    };
  }
  const secretAccessKey =
    auth.accessKeyId === config.accessKeyId ? config.secretAccessKey : config.secretFor?.(auth.accessKeyId);
  if (secretAccessKey === undefined) {
    return {
      ok: false,
      type: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    };
  }
  if (auth.date !== amzDate!.slice(0, 8)) {
    return { ok: false, type: 'InvalidSignatureException', message: 'credential scope date does not match X-Amz-Date' };
  }
  if (auth.region !== config.region || auth.service !== service) {
    return {
      ok: false,
      type: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region/service: expected ${config.region}/${service}, got ${auth.region}/${auth.service}`,
    };
  }
  if (Math.abs(config.nowMs() - signingDate.getTime()) > config.maxSkewMs) {
    return {
      ok: false,
      type: 'InvalidSignatureException',
      message: `Signature expired: ${amzDate} is more than ${config.maxSkewMs} ms from the server's time`,
    };
  }

  // The signer trusts a sent x-amz-content-sha256 as the payload hash instead of hashing the body, so the
  // body must be checked against it here, or a changed body would pass with the original signature.
  const claimedHash = request.headers['x-amz-content-sha256'];
  if (claimedHash !== undefined && claimedHash !== createHash('sha256').update(request.body).digest('hex')) {
    return {
      ok: false,
      type: 'InvalidSignatureException',
      message: 'x-amz-content-sha256 does not match the SHA-256 of the body (UNSIGNED-PAYLOAD is not accepted)',
    };
  }

  const signedHeaderValues: Record<string, string> = {};
  for (const name of auth.signedHeaders) signedHeaderValues[name] = request.headers[name]!;
  const [hostname = '', port] = (request.headers['host'] ?? '').split(':');
  const rebuilt = new HttpRequest({
    method: request.method,
    protocol: 'http:',
    hostname,
    ...(port === undefined ? {} : { port: Number(port) }),
    path: request.path,
    query: request.query,
    headers: signedHeaderValues,
    body: request.body,
  });
  const token = request.headers['x-amz-security-token'];
  const signer = new SignatureV4({
    service,
    region: config.region,
    sha256: Sha256,
    // Left on, the signer would add (and sign) an x-amz-content-sha256 header the client never sent — the ACS
    // upgrade carries none (fact sheet 2.2) — and every such signature would look wrong.
    applyChecksum: auth.signedHeaders.includes('x-amz-content-sha256'),
    credentials: {
      accessKeyId: auth.accessKeyId,
      secretAccessKey,
      // The signer re-adds the token header from the credentials; only a signed token may count.
      ...(token !== undefined && auth.signedHeaders.includes('x-amz-security-token') ? { sessionToken: token } : {}),
    },
  });
  const resigned = await signer.sign(rebuilt, {
    signingDate,
    signableHeaders: new Set(auth.signedHeaders),
  });
  const expected = parseAuthorization(String(resigned.headers['authorization'] ?? ''));
  if (
    expected === undefined ||
    expected.signedHeaders.join(';') !== auth.signedHeaders.join(';') ||
    !timingSafeEqual(Buffer.from(expected.signature), Buffer.from(auth.signature))
  ) {
    return {
      ok: false,
      type: 'InvalidSignatureException',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    };
  }
  return { ok: true, accessKeyId: auth.accessKeyId, signedHeaders: auth.signedHeaders };
}
