import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The console, built into dist/console, where functions/console.ts serves it at /api/console/
// (CONSOLE_BASE of shared/consolePaths.ts, which Vite's config loader takes only with a deprecation warning;
// the built-page test of test/functions/console.test.ts holds the two together).
export default defineConfig({
  root: import.meta.dirname,
  base: '/api/console/',
  // JSX through the bundler's own transform (no React plugin: no fast refresh needed for a build).
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: resolve(import.meta.dirname, '..', 'dist', 'console'),
    emptyOutDir: true,
    // The served bundle has no source maps (functions/console.ts would not serve them anyway).
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      // Fluent UI marks its modules 'use client' (for React server components): nothing to keep in a browser bundle.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  logLevel: 'warn',
});
