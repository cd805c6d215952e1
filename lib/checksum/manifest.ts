/**
 * A base-checksum manifest: for signed modules that must not change, `btfcheck stamp --manifest`
 * records module path → base checksum in a JSON file instead of in the module.
 *
 *   { "format": "btfcheck-base-checksums", "version": 1,
 *     "base": { "file": ..., "sha256": ..., "types": ..., "strLen": ..., "release": ... },
 *     "modules": { "<module path as given>": { "sha256": ..., "types": ..., "strLen": ... } } }
 */
import { InputError } from '../errors.js';
import { StoredChecksum } from './format.js';

export const MANIFEST_FORMAT = 'btfcheck-base-checksums';
export const MANIFEST_VERSION = 1;

export interface ManifestEntry { sha256: string; types: number; strLen: number }
export interface ChecksumManifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  base: { file: string; sha256: string; types: number; strLen: number; release: string | null };
  modules: Record<string, ManifestEntry>;
}

function validEntry(e: unknown): e is ManifestEntry {
  if (!e || typeof e !== 'object') return false;
  const x = e as Record<string, unknown>;
  return typeof x.sha256 === 'string' && /^[0-9a-f]{64}$/.test(x.sha256) &&
    Number.isInteger(x.types) && Number.isInteger(x.strLen);
}

/** Parses and validates a manifest's JSON text; throws InputError naming what is wrong. */
export function parseManifest(text: string): ChecksumManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InputError(`manifest is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const m = doc as Partial<ChecksumManifest> | null;
  if (!m || typeof m !== 'object' || m.format !== MANIFEST_FORMAT) throw new InputError(`not a btfcheck manifest (format is not '${MANIFEST_FORMAT}')`);
  if (m.version !== MANIFEST_VERSION) throw new InputError(`manifest version ${String(m.version)} is not supported (want ${MANIFEST_VERSION})`);
  if (!m.modules || typeof m.modules !== 'object') throw new InputError('manifest has no modules');
  for (const [path, e] of Object.entries(m.modules)) {
    if (!validEntry(e)) throw new InputError(`manifest entry for ${path} needs sha256 (64 hex digits), types and strLen`);
  }
  return m as ChecksumManifest;
}

/** Path segments without '.' and empty ones, so './a//b' and 'a/b' compare equal. */
function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '' && s !== '.');
}

/**
 * The stored checksum for `modulePath`: the entry with that exact path, else the one sharing the
 * longest trailing run of path segments (so a manifest written in one directory works from
 * another), provided exactly one entry has that run.
 */
export function lookupManifest(manifest: ChecksumManifest, modulePath: string): StoredChecksum | undefined {
  const exact = manifest.modules[modulePath];
  const toStored = (e: ManifestEntry): StoredChecksum => ({ sha256: e.sha256, types: e.types, strLen: e.strLen, source: 'manifest' });
  if (exact) return toStored(exact);
  const want = segments(modulePath);
  let best = 0;
  let found: ManifestEntry[] = [];
  for (const [path, e] of Object.entries(manifest.modules)) {
    const have = segments(path);
    let n = 0;
    while (n < want.length && n < have.length && want[want.length - 1 - n] === have[have.length - 1 - n]) n++;
    if (n === 0) continue;
    if (n > best) { best = n; found = [e]; } else if (n === best) found.push(e);
  }
  return found.length === 1 ? toStored(found[0]) : undefined;
}

/** Builds a manifest from stamped entries. */
export function createManifest(base: ChecksumManifest['base'], modules: Record<string, ManifestEntry>): ChecksumManifest {
  return { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, base, modules };
}
