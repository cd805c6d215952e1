/**
 * `btfcheck demo` (what `npm start` runs): the bundled samples/ show the real-world failure, modules
 * of Debian's 6.1.0-56 build checked against the kernel of the 6.1.0-47 build. A demo: it exits 0
 * after printing the report, whatever the verdicts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { EXIT_ERROR, EXIT_OK, writeOut } from '../common.js';
import { runCheck } from './check.js';
import { OutputFormat } from '../output.js';

/** samples/ of the package this file belongs to (source tree, dist/ or the dist/bin bundle). */
export function samplesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'samples'))) return path.join(dir, 'samples');
    const up = path.dirname(dir);
    if (up === dir) throw new Error('samples/ not found beside this installation of btfcheck');
    dir = up;
  }
}

export const demoCommand: CommandModule<object, { format: OutputFormat }> = {
  command: 'demo',
  describe: 'Check the bundled samples: Debian 6.1.0-56 modules against the 6.1.0-47 kernel',
  builder: (y) => y.option('format', { alias: 'f', choices: ['text', 'dmesg', 'json', 'junit'] as const, default: 'text' as OutputFormat }),
  handler: async (args) => {
    const samples = samplesDir();
    const running = path.join(samples, '6.1.0-47-cloud-amd64');
    const newer = path.join(samples, '6.1.0-56-cloud-amd64', 'lib');
    // The introduction is for people: --format json/dmesg/junit stay one clean document.
    if (args.format === 'text') await writeOut(
      `btfcheck demo: the kernel of Debian 6.1.0-47 (6.1.170) is running; the modules come from the\n` +
        `"ABI-compatible" update 6.1.0-56 (6.1.192). Would the kernel accept their BTF?\n` +
        `$ btfcheck check --base ${rel(running)}/vmlinux.btf.xz --kernel 6.1 --config ${rel(running)}/config ${rel(newer)}\n\n`,
    );
    const code = await runCheck({
      base: path.join(running, 'vmlinux.btf.xz'), modules: [newer], kernel: '6.1', config: path.join(running, 'config'),
      format: args.format, problemsOnly: false, diagnose: true, failOn: 'mismatch',
    });
    // A demo succeeds when it could show the report; verdicts are the point, not a failure.
    process.exitCode = code === EXIT_ERROR ? EXIT_ERROR : EXIT_OK;
  },
};

function rel(p: string): string {
  return path.relative(process.cwd(), p) || '.';
}
