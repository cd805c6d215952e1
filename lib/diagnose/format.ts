/** Number formatting for diagnosis messages. */

/**
 * `n` with thousands separators, as n.toLocaleString('en-US') writes it; by hand for the
 * non-negative integers messages show (several times faster, and diagnosis writes thousands).
 */
export function formatCount(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0 || Object.is(n, -0)) return n.toLocaleString('en-US');
  let s = String(n);
  for (let i = s.length - 3; i > 0; i -= 3) s = `${s.slice(0, i)},${s.slice(i)}`;
  return s;
}
