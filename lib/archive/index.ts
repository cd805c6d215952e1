/**
 * Packages and images as btfcheck reads them, pure (bytes and ByteSources in, plain objects out):
 * ar (.deb), RPM headers, streaming cpio (RPM payloads, initramfs), xz blocks and zstd frames for
 * decoding a large member a piece at a time, and where kernels, modules and configs live inside.
 * File I/O, tar (tar-stream) and decompression streams are in cmd/io/archives.ts.
 */
export { isAr, readArMembers } from './ar.js';
export type { ArMember } from './ar.js';
export { buildCpio, CpioParser } from './cpio.js';
export type { CpioEntry, CpioOptions, CpioType } from './cpio.js';
export { classifyPath, memberName, MODULE_NAME, normalizeMemberPath } from './layout.js';
export type { Classified, Role } from './layout.js';
export { buildRpm, isRpm, readRpm } from './rpm.js';
export type { RpmInfo } from './rpm.js';
export { singleBlockStream, xzBlocks } from './xz-blocks.js';
export type { XzBlockRef } from './xz-blocks.js';
export { zstdFrameRanges } from './zstd-frames.js';
