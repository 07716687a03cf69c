/**
 * `ecsd config print`: every variable's effective value and where it came from. Secrets (AWS keys,
 * ECS_ENGINE_AUTH_DATA, anything the schema marks `x-secret`) are never printed; proxy URLs lose their
 * credentials.
 */
import { ACCEPT_INSECURE_CERT_KEY } from './load.js';
import { configSchema, type PropertySpec } from './schema.js';
import type { AgentConfig, ConfigSource, LoadedConfig } from './types.js';
import { formatValue } from './values.js';

export const REDACTED = '<redacted>';
const UNSET = '<unset>';

export interface ConfigPrintRow {
  variable: string;
  /** The AgentConfig field it sets. */
  field: string;
  /** Effective value in the variable's text form (redacted where secret); null when unset. */
  value: string | null;
  source: ConfigSource;
}

export interface ConfigPrintJson {
  configFile: string;
  variables: ConfigPrintRow[];
  warnings: string[];
  /** The compiled configuration, with secret fields redacted. */
  config: Record<string, unknown>;
}

export function configPrintRows(loaded: LoadedConfig): ConfigPrintRow[] {
  const config = loaded.config as unknown as Record<string, unknown>;
  const rows: ConfigPrintRow[] = [];
  for (const spec of configSchema().specs.values()) {
    const value = config[spec.field];
    rows.push({
      variable: spec.variable,
      field: spec.field,
      value: value === undefined ? null : redactText(spec, formatValue(spec, value)),
      source: loaded.sources[spec.variable] ?? 'default',
    });
  }
  rows.push({
    variable: ACCEPT_INSECURE_CERT_KEY,
    field: 'acceptInsecureCert',
    value: String(loaded.config.acceptInsecureCert),
    source: loaded.sources[ACCEPT_INSECURE_CERT_KEY] ?? 'default',
  });
  return rows;
}

/** A plain-text table: VARIABLE, VALUE, SOURCE; then any warnings. */
export function formatConfigPrint(loaded: LoadedConfig): string {
  const rows = configPrintRows(loaded).map(
    (row) => [row.variable, row.value === null ? UNSET : row.value === '' ? '""' : row.value, row.source] as const,
  );
  const header = ['VARIABLE', 'VALUE', 'SOURCE'] as const;
  const widths = [0, 1].map((column) => Math.max(header[column]!.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string =>
    `${cells[0]!.padEnd(widths[0]!)}  ${cells[1]!.padEnd(widths[1]!)}  ${cells[2]}`.trimEnd();
  const out = [line(header), ...rows.map(line)];
  if (loaded.warnings.length > 0) out.push('', 'warnings:', ...loaded.warnings.map((warning) => `  ${warning}`));
  return `${out.join('\n')}\n`;
}

/** The `--output json` form of `config print`, redacted the same way. */
export function configPrintJson(loaded: LoadedConfig): ConfigPrintJson {
  return {
    configFile: loaded.config.configFilePath,
    variables: configPrintRows(loaded),
    warnings: [...loaded.warnings],
    config: redactedConfig(loaded.config),
  };
}

/** A copy of the config with every secret field redacted (safe to log or print). */
export function redactedConfig(config: AgentConfig): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const spec of configSchema().specs.values()) {
    const value = copy[spec.field];
    if (spec.secret !== false && typeof value === 'string') copy[spec.field] = redactText(spec, value);
  }
  return copy;
}

function redactText(spec: Pick<PropertySpec, 'secret'>, text: string): string {
  if (spec.secret === 'full') return REDACTED;
  if (spec.secret === 'userinfo') return redactUserinfo(text);
  return text;
}

/** `http://user:pass@proxy:3128` → `http://<redacted>@proxy:3128` (also without a scheme). */
export function redactUserinfo(text: string): string {
  return text.replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?)[^@/]+@/i, `$1${REDACTED}@`);
}
