/**
 * A gauge setter that skips values equal to the last one it set. The work queue publishes its depth and
 * overflow on every add, get and done, mostly unchanged (overflow is almost always 0), and each prom-client
 * `set` validates and hashes the label set first. `initial` is the value the series was created with.
 */
export function changedValuesOnly(set: (value: number) => void, initial: number): (value: number) => void {
  let last = initial;
  return (value) => {
    if (value === last) return;
    last = value;
    set(value);
  };
}
