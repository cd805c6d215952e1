/**
 * A decoder that holds its whole output hands it to the base capture in one call (sink.whole),
 * which takes the vmlinux's parts where its section table places them instead of scanning every
 * word. Both ways must keep the same base, and refuse the same broken images with the same words.
 */
import { describe, expect, it } from 'vitest';
import { DecodeBudget, DEFAULT_LIMITS } from '../lib/compress/limits.js';
import { Sink, ZstdStreamDecoder } from '../lib/compress/stream.js';
import { decompressZstd } from '../lib/compress/zstd.js';
import { baseFromCompressed, StreamedBase } from '../lib/vmlinuz-stream.js';
import { zstdRawFrame } from './helpers/archive-builder.js';
import { smallBase } from './helpers/btf-builder.js';
import { buildElf, ET_EXEC, latin1Bytes } from './helpers/elf-builder.js';

const MiB = 1 << 20;

/** Decodes with the pure-JS decoder and hands the output in 64 KiB slices only, as a streaming decoder does. */
const slicing: ZstdStreamDecoder = {
  name: 'slices',
  async decode(pieces: Uint8Array[], sink: Sink) {
    const all = decompressZstd(Uint8Array.from(pieces.flatMap((p) => [...p])), DEFAULT_LIMITS);
    for (let at = 0; at < all.length; at += 64 << 10) if (sink(all.subarray(at, at + (64 << 10))) === false) return;
  },
};
let wholeCalls = 0;
/** Decodes the same way and hands it over whole when the sink takes that, as the native addon does. */
const wholeAtOnce: ZstdStreamDecoder = {
  name: 'whole',
  async decode(pieces: Uint8Array[], sink: Sink) {
    const all = decompressZstd(Uint8Array.from(pieces.flatMap((p) => [...p])), DEFAULT_LIMITS);
    // A second pass (ranges the first did not keep) takes slices only.
    if (sink.whole) {
      wholeCalls++;
      sink.whole(all);
    }
    else for (let at = 0; at < all.length; at += 64 << 10) if (sink(all.subarray(at, at + (64 << 10))) === false) return;
  },
};

function vmlinux(btf: Uint8Array, opts: { banner?: boolean; padding?: number } = {}): Uint8Array {
  const text = new Uint8Array(opts.padding ?? MiB).map((_, i) => (i * 2654435761) >>> 24);
  // A stray BTF header inside .text: not .BTF, and must not be taken for it.
  text.set([0x9f, 0xeb, 0x01, 0x00], 4096);
  const rodata = latin1Bytes(`${'\0'.repeat(100)}${opts.banner === false ? '' : 'Linux version 7.2.13+deb14-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP\n'}\0`);
  return buildElf({ type: ET_EXEC, sections: [{ name: '.text', data: text }, { name: '.rodata', data: rodata }, { name: '.BTF', data: btf }, { name: '.data', data: new Uint8Array(4096) }] });
}

async function capture(image: Uint8Array, zstd: ZstdStreamDecoder, wantRelease = true): Promise<StreamedBase | string> {
  try {
    return await baseFromCompressed(zstdRawFrame(image), 'zstd', { zstd, budget: new DecodeBudget(512 * MiB, 20_000), limits: DEFAULT_LIMITS, maxBtf: 64 * MiB, allowRaw: true, wantRelease });
  } catch (e) {
    return (e as Error).message;
  }
}

/** What a caller reads of a captured base: its .BTF bytes and the release. */
function kept(b: StreamedBase | string): unknown {
  if (typeof b === 'string') return b;
  if (b.kind === 'btf') return { raw: [...b.raw] };
  const btf = b.elf.sections.find((s) => s.name === '.BTF')!;
  return { btf: [...b.src.read(btf.offset, btf.size)], release: b.release };
}

describe('base capture from a whole output', () => {
  const btf = smallBase().builder.build();

  it('keeps the same .BTF and release as from slices', async () => {
    for (const banner of [true, false]) {
      const image = vmlinux(btf, { banner });
      const fromSlices = await capture(image, slicing);
      const calls = wholeCalls;
      const fromWhole = await capture(image, wholeAtOnce);
      expect(wholeCalls).toBe(calls + 1);
      expect(typeof fromWhole).not.toBe('string');
      expect(kept(fromWhole)).toEqual(kept(fromSlices));
      expect((kept(fromWhole) as { btf: number[] }).btf).toEqual([...btf]);
      if (banner) expect((fromWhole as { release?: { release: string } }).release?.release).toBe('7.2.13+deb14-cloud-amd64');
    }
  });

  it('keeps raw BTF whole, as from slices', async () => {
    expect(kept(await capture(btf, wholeAtOnce))).toEqual(kept(await capture(btf, slicing)));
  });

  it('says the same of broken images', async () => {
    const image = vmlinux(btf);
    const v = new DataView(image.buffer);
    const shoff = Number(v.getBigUint64(0x28, true));
    const cases: Array<[string, Uint8Array]> = [];
    // .BTF's header declares more than the section holds.
    const bigger = image.slice();
    const btfSection = (img: Uint8Array) => {
      const dv = new DataView(img.buffer);
      for (let i = 1; i < dv.getUint16(0x3c, true); i++) {
        const h = shoff + i * 64;
        const off = Number(dv.getBigUint64(h + 24, true));
        if (img[off] === 0x9f && img[off + 1] === 0xeb && Number(dv.getBigUint64(h + 32, true)) === btf.length) return { h, off };
      }
      throw new Error('no .BTF');
    };
    const { h, off } = btfSection(bigger);
    new DataView(bigger.buffer).setUint32(off + 20, 1 << 30, true);
    cases.push(['BTF header past its section', bigger]);
    // The section table cut off.
    cases.push(['table cut', image.slice(0, shoff + 100)]);
    // No .BTF: its section type made NOBITS.
    const nobits = image.slice();
    new DataView(nobits.buffer).setUint32(h + 4, 8, true);
    cases.push(['.BTF as NOBITS', nobits]);
    // .BTF moved to an odd offset (the table points into the middle of .text).
    const odd = image.slice();
    new DataView(odd.buffer).setBigUint64(h + 24, 4097n, true);
    cases.push(['.BTF at an odd offset', odd]);
    for (const [what, img] of cases) {
      const a = kept(await capture(img, slicing));
      const b = kept(await capture(img, wholeAtOnce));
      expect(b, what).toEqual(a);
    }
  });
});
