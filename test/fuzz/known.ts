/**
 * Bugs the fuzzer found in btfcheck itself (lib/, cmd/) that are reported and not fixed yet, by
 * signature. The short budget (test/fuzz.test.ts) counts them instead of failing on them, so
 * `npm test` keeps finding everything else; their saved regressions replay in-process as
 * expected failures (test/fuzz-regressions.test.ts), which turn red once the bug is fixed: then
 * the entry goes. The long run (npm run fuzz) reports them as failures like any other.
 */
export const KNOWN_BUGS: Readonly<Record<string, string>> = {
  'check: the kernel line names the module wrong':
    'a module name taken from the file name (raw split BTF, or a .ko without a name of its own) goes into the emulated kernel line as UTF-16 code units, not as the bytes of the name: "3-üx" prints [3_\\xfcx], a byte 0xff prints \\xdcff, U+FFFE prints \\xfffe (cmd/io/load.ts nameFromPath → lib/kernel/log.ts byte strings)',
  'stamp error: crash text in message':
    'stamp on a damaged module: "internal error: elfinfo cannot parse the stamped module: Exception caught: read past end of file" (cmd/commands/stamp.ts verifyStamped throws Error, not InputError); the module is left alone',
  'container: a changed zstd file loaded as other bytes':
    'zstd: one bit (Content_Checksum_flag) turns the checksum off, and the 4 checksum bytes left are ignored as trailing bytes (lib/compress/zstd.ts: fewer than 8 bytes after the last frame), so a changed byte in the content is loaded; zstd -t says "unsupported format"',
  'check: dmesg: hostile name printed raw':
    'a module whose own name (struct module\'s, from the .ko) holds a newline: the emulated kernel splits the rejection record there (lib/kernel/log.ts, as syslog(2) readers show it; /dev/kmsg and util-linux dmesg show \\x0a), so `--format dmesg` and text print a line that starts with whatever follows the newline: a module named "\\nbtfcheck: x.ko: ..." puts a line "btfcheck: x.ko: ...] BTF: -22" on stdout. A design question rather than a crash: escape the newline in names, or keep the split',
  'archive base: the message repeats the file name':
    '`check --base PKG` on a broken package: "btfcheck: PKG: PKG: ar archive: member at offset ... past the end of the file" (openArchiveChecked puts the path in the message, and the caller prints it again)',
  'archive: a package with modules reported as holding none':
    'a .deb whose only module has a newline in its name: md5sums (one name per line) then lists no module, the package is not decoded and is reported as holding no kernel modules (exit 2, so not a silent pass; with another module beside it both are checked)',
};
