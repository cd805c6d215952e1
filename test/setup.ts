/** Test setup: tests call the synchronous decompressors directly, so load the lazy ones first. */
import { loadDecoders } from '../lib/compress/index.js';

await loadDecoders();
