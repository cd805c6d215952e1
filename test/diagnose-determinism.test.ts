/**
 * A module's diagnosis must not depend on which modules were diagnosed before it against the same
 * base (per-base caches are shared), or worker runs and single-thread runs would disagree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { xz } from '@napi-rs/lzma';
import { describe, expect, it } from 'vitest';
import { Btf } from '../lib/btf/btf.js';
import { diagnoseModule } from '../lib/diagnose/index.js';
import { readModule } from '../lib/module.js';
import { memorySource } from '../lib/source.js';
import { samplesDir } from './helpers/kernels.js';

const samples = samplesDir();

function modulesOf(abi: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ko')) out.push(readModule(memorySource(new Uint8Array(fs.readFileSync(p)))).btf!);
    }
  };
  walk(path.join(samples, abi, 'lib'));
  return out;
}

describe('diagnosis with shared per-base caches', () => {
  it('gives each module the same findings alone, first, last, or twice', () => {
    const base = () => Btf.parseBase(new Uint8Array(xz.decompressSync(fs.readFileSync(path.join(samples, '6.1.0-47-cloud-amd64', 'vmlinux.btf.xz')))));
    const mods = modulesOf('6.1.0-56-cloud-amd64');
    expect(mods.length).toBe(12);
    const alone = mods.map((m) => diagnoseModule(base(), m));
    const shared = base();
    const forward = mods.map((m) => diagnoseModule(shared, m));
    const backward = [...mods].reverse().map((m) => diagnoseModule(shared, m)).reverse();
    expect(forward).toEqual(alone);
    expect(backward).toEqual(alone);
    expect(alone.every((d) => d.baseMismatch)).toBe(true);
  });
});
