import { defineConfig } from 'vitest/config';

// The default suite: unit tests, bundled samples, oracle records whose modules ship in samples/.
export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    include: ['test/**/*.test.ts'],
    exclude: ['test/real/**', 'node_modules/**'],
    testTimeout: 20_000,
  },
});
