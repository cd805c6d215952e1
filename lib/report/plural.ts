/** `1 module`, `2 modules`, `0 errors`: a count and its noun, singular only for exactly one. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The noun alone, for a count printed elsewhere. */
export function noun(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many;
}
