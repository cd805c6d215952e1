/**
 * scripts/bench-inputs.ts [ABI]   (tsx; needs the real-kernel cache)
 *
 * The input layer's numbers: decompressing every .ko.xz of a 6.12 tree against the `xz -dc`
 * floor, loadModule over the tree, one plain .ko, and loadBase of each base format.
 */
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expandModulePaths, loadBase, loadModule, nodeXzDecoder } from '../cmd/io/index.js';
import { maybeDecompress } from '../lib/compress/index.js';

const root = process.env.BTF_KERNELS ?? path.join(os.homedir(), '.cache', 'btf-kernels');
const abi = process.argv[2] ?? '6.12.117+deb12-cloud-amd64';
const ms = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;
const best = async (n: number, f: () => unknown) => {
  let min = Infinity;
  for (let i = 0; i < n; i++) { const t = performance.now(); await f(); min = Math.min(min, performance.now() - t); }
  return min;
};

const files = expandModulePaths([path.join(root, abi, 'lib', 'modules', abi)]).filter((f) => f.endsWith('.xz'));
const list = path.join(os.tmpdir(), `bench-inputs-${process.pid}.list`);
fs.writeFileSync(list, files.join('\0'));
try {
  let t = performance.now();
  execSync(`xargs -0 cat < '${list}' | xz -dc > /dev/null`, { shell: '/bin/bash' });
  console.log(`xz -dc, all ${files.length} files in one process:`, ms(t));
  t = performance.now();
  execSync(`xargs -0 -n1 xz -dc < '${list}' > /dev/null`, { shell: '/bin/bash' });
  console.log('xz -dc, one process per file:', ms(t));
} catch {
  console.log('(xz not installed: no floor measured)');
} finally {
  fs.rmSync(list, { force: true });
}
const bufs = files.map((f) => new Uint8Array(fs.readFileSync(f)));
console.log('lib/compress (walk + @napi-rs/lzma), in memory, best of 3:',
  `${(await best(3, () => { for (const b of bufs) maybeDecompress(b, { xz: nodeXzDecoder }); })).toFixed(0)} ms`);
console.log(`loadModule over ${files.length} .ko.xz files, one at a time, best of 3:`,
  `${(await best(3, async () => { for (const f of files) await loadModule(f); })).toFixed(0)} ms`);
/** Runs loadModule over `files` with `n` in flight (xz decodes on the thread pool). */
const overlapped = (n: number) => async () => {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (next < files.length) await loadModule(files[next++]); }));
};
for (const n of [2, 4]) {
  console.log(`loadModule over ${files.length} .ko.xz files, ${n} in flight, best of 3:`, `${(await best(3, overlapped(n))).toFixed(0)} ms`);
}

const plainAbi = '6.1.0-47-cloud-amd64';
const plain = expandModulePaths([path.join(root, plainAbi, 'lib', 'modules', plainAbi)]);
for (const name of ['crypto/ctr.ko', 'fs/btrfs/btrfs.ko']) {
  const f = plain.find((p) => p.endsWith('/' + name))!;
  console.log(`loadModule(${name}, ${fs.statSync(f).size} bytes), best of 20:`, `${(await best(20, () => loadModule(f))).toFixed(2)} ms`);
}
console.log(`loadModule over all ${plain.length} plain .ko of ${plainAbi}:`, `${(await best(3, async () => { for (const f of plain) await loadModule(f); })).toFixed(0)} ms`);
for (const a of [plainAbi, abi]) {
  for (const f of ['vmlinux.btf', 'vmlinux', `boot/vmlinuz-${a}`]) {
    const t = performance.now();
    const b = await loadBase(path.join(root, a, f));
    console.log(`loadBase(${a}/${f}) [${b.format}]:`, ms(t));
  }
}
