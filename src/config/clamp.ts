/**
 * Upstream does not reject out-of-range values for several variables: it quietly replaces them with the
 * limit or with the default, per variable (the `x-clamp-*` and `x-zero-default` annotations record which;
 * fact sheet 4.9, 5.5, 7.4, 8, 9 and the README table). ecsd applies the same replacement and says so.
 */
import type { PropertySpec } from './schema.js';
import { formatValue, isZeroValue } from './values.js';

export interface ClampResult {
  /** The value to use; undefined when the variable falls back to "unset". */
  value: unknown;
  /** Set when the given value was replaced. */
  warning?: string;
}

type ClampSpec = Pick<
  PropertySpec,
  'variable' | 'kind' | 'defaultValue' | 'zeroDefault' | 'clampMin' | 'clampMax' | 'clampBelow' | 'clampAbove'
>;

export function applyClamp(spec: ClampSpec, value: unknown): ClampResult {
  const given = `${spec.variable}=${formatValue(spec, value)}`;
  const toDefault = (why: string): ClampResult => ({
    value: spec.defaultValue,
    warning:
      spec.defaultValue === undefined
        ? `${given} ${why}; ignoring it (left unset)`
        : `${given} ${why}; using the default ${formatValue(spec, spec.defaultValue)}`,
  });
  const limit = (bound: number): string => formatValue(spec.kind === 'duration' ? spec : { kind: 'int' }, bound);

  if (spec.zeroDefault && isZeroValue(value)) return toDefault('counts as unset');

  if (spec.kind === 'rate-limit' && spec.clampMin !== undefined) {
    const { steady, burst } = value as { steady: number; burst: number };
    if (steady < spec.clampMin || burst < spec.clampMin) return toDefault(`has a rate below ${spec.clampMin}`);
    return { value };
  }
  if (typeof value !== 'number') return { value };

  if (spec.clampMin !== undefined && value < spec.clampMin) {
    if (spec.clampBelow === 'default') return toDefault(`is below the minimum ${limit(spec.clampMin)}`);
    return { value: spec.clampMin, warning: `${given} is below the minimum; using ${limit(spec.clampMin)}` };
  }
  if (spec.clampMax !== undefined && value > spec.clampMax) {
    if (spec.clampAbove === 'default') return toDefault(`is above the maximum ${limit(spec.clampMax)}`);
    return { value: spec.clampMax, warning: `${given} is above the maximum; using ${limit(spec.clampMax)}` };
  }
  return { value };
}
