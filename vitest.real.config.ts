import { defineConfig } from 'vitest/config';

// The real-kernel suite: the four Debian builds fetched by scripts/fetch-kernels.sh.
export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    include: ['test/real/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
