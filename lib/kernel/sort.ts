/**
 * The kernel's sort() (lib/sort.c of 6.12: bottom-up heapsort that extracts two elements per
 * round). It is not stable, so where equal elements end up decides, e.g., which of two
 * same-named distilled types btf_relocate() meets first; we replay it step by step.
 */
export function kernelSort<T>(items: T[], cmp: (a: T, b: T) => number): void {
  const num = items.length;
  // Element indices stand for the kernel's byte offsets (size 1, lsbit 1).
  let n = num;
  let a = Math.floor(num / 2);
  let shift = 0;
  if (!a) return;
  const swap = (i: number, j: number): void => {
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  };
  const parent = (i: number): number => {
    i -= 1;
    i -= i & 1;
    return i / 2;
  };
  for (;;) {
    let b: number;
    let c: number;
    let d: number;
    if (a) {
      a -= 1 << shift; // building the heap: sift down a
    } else if (n > 3) {
      // extract the two largest elements
      n -= 1;
      swap(0, n);
      shift = cmp(items[1], items[2]) <= 0 ? 1 : 0;
      a = 1 << shift;
      n -= 1;
      swap(a, n);
    } else {
      break;
    }
    for (b = a; c = 2 * b + 1, (d = c + 1) < n;) b = cmp(items[c], items[d]) > 0 ? c : d;
    if (d === n) b = c; // last leaf with no sibling
    while (b !== a && cmp(items[a], items[b]) >= 0) b = parent(b);
    c = b;
    while (b !== a) {
      b = parent(b);
      swap(b, c);
    }
  }
  n -= 1;
  swap(0, n);
  if (n === 2 && cmp(items[0], items[1]) > 0) swap(0, 1);
}
