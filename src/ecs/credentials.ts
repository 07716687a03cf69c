/**
 * The agent's own AWS credentials (fact sheet 1.1): the standard chain — keys from the configuration (the
 * AWS_ACCESS_KEY_ID family, read by src/config), the shared files with ECS_ALTERNATE_CREDENTIAL_PROFILE,
 * credential_process, a web-identity token file — and only on EC2 the ECS container endpoint and the
 * instance role from IMDS. With ECS_EXTERNAL the last two are not in the chain at all, so no code path can
 * reach 169.254.169.254: an ECS Anywhere host has no IMDS, and a request there could be answered by
 * whatever listens on that address in the host's network.
 *
 * Each link is built by a factory from `CredentialProviderFactories`, so a test sees which links exist and
 * which ran, without patching the SDK.
 */

import {
  fromContainerMetadata,
  fromIni,
  fromInstanceMetadata,
  fromProcess,
  fromTokenFile,
} from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { AgentConfig } from '../config/types.js';
import { EcsApiError, errorMessage } from '../errors.js';

export type CredentialSourceName = 'config' | 'ini' | 'process' | 'token-file' | 'container' | 'imds';

export interface CredentialSource {
  readonly name: CredentialSourceName;
  readonly provider: AwsCredentialIdentityProvider;
}

/** The SDK providers the chain is made of; tests pass recording ones. */
export interface CredentialProviderFactories {
  fromIni(init: { profile: string; ignoreCache: boolean }): AwsCredentialIdentityProvider;
  fromProcess(init: { profile: string }): AwsCredentialIdentityProvider;
  fromTokenFile(): AwsCredentialIdentityProvider;
  fromContainerMetadata(): AwsCredentialIdentityProvider;
  fromInstanceMetadata(): AwsCredentialIdentityProvider;
}

export const sdkCredentialFactories: CredentialProviderFactories = {
  fromIni: (init) => fromIni(init),
  fromProcess: (init) => fromProcess(init),
  fromTokenFile: () => fromTokenFile(),
  // One attempt with a 1 s timeout each, the SDK's defaults for these endpoints on a host that has them.
  fromContainerMetadata: () => fromContainerMetadata(),
  fromInstanceMetadata: () => fromInstanceMetadata(),
};

/**
 * ECS Anywhere rotates the shared credentials file under the agent (the SSM agent writes it): the file is
 * read again at most this often rather than once for the life of the process. The SDK caches a provider's
 * answer until its `expiration`, so giving file credentials one is what makes it ask again.
 */
export const SHARED_FILE_REREAD_MS = 60_000;

/** The links of the chain, in the order they are tried. */
export function credentialSources(
  config: AgentConfig,
  factories: CredentialProviderFactories = sdkCredentialFactories,
  nowMs: () => number = Date.now,
): CredentialSource[] {
  const sources: CredentialSource[] = [];
  const { awsAccessKeyId, awsSecretAccessKey, awsSessionToken } = config;
  if (awsAccessKeyId && awsSecretAccessKey) {
    const identity: AwsCredentialIdentity = {
      accessKeyId: awsAccessKeyId,
      secretAccessKey: awsSecretAccessKey,
      ...(awsSessionToken ? { sessionToken: awsSessionToken } : {}),
    };
    sources.push({ name: 'config', provider: async () => identity });
  }
  const profile = config.alternateCredentialProfile;
  const ini = factories.fromIni({ profile, ignoreCache: config.external });
  sources.push({
    name: 'ini',
    provider: config.external
      ? async () => {
          const identity = await ini();
          return identity.expiration
            ? identity
            : { ...identity, expiration: new Date(nowMs() + SHARED_FILE_REREAD_MS) };
        }
      : ini,
  });
  sources.push({ name: 'process', provider: factories.fromProcess({ profile }) });
  sources.push({ name: 'token-file', provider: factories.fromTokenFile() });
  if (!config.external) {
    sources.push({ name: 'container', provider: factories.fromContainerMetadata() });
    sources.push({ name: 'imds', provider: factories.fromInstanceMetadata() });
  }
  return sources;
}

/**
 * The chain as one provider: the first link that yields credentials wins. A link that fails is skipped;
 * when all fail, the error names every link tried and why, since "no credentials" alone leaves an operator
 * guessing which of six places was meant to hold them.
 */
export function chainCredentialSources(sources: readonly CredentialSource[]): AwsCredentialIdentityProvider {
  return async (identityProperties) => {
    const failures: string[] = [];
    for (const source of sources) {
      try {
        return await source.provider(identityProperties);
      } catch (error) {
        failures.push(`${source.name}: ${errorMessage(error)}`);
      }
    }
    throw new EcsApiError(`no AWS credentials found (${failures.join('; ')})`, {
      context: { tried: sources.map((s) => s.name) },
    });
  };
}

export function awsCredentialsProvider(
  config: AgentConfig,
  factories: CredentialProviderFactories = sdkCredentialFactories,
): AwsCredentialIdentityProvider {
  return chainCredentialSources(credentialSources(config, factories));
}
