import { defineConfig } from 'vitest/config';

// The real-kernel suite: the seven Debian builds (6.1, 6.12, 7.2, 7.3) fetched by scripts/fetch-kernels.sh.
export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    include: ['test/real/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
