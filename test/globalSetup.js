// Integration tests run the compiled app in the local host, as `npm start` does: build it once,
// with the console it serves.
const { execFileSync } = require('node:child_process');
const { rmSync } = require('node:fs');
const { join } = require('node:path');

module.exports = async () => {
  const root = join(__dirname, '..');
  // A clean build: a module deleted from the source must not linger in dist/ and shadow its successor.
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  // The console (dist/console), which the app serves and the browser tests drive (~5 s).
  // NODE_ENV production as `npm run build` has it: Jest's `test` would bundle React's development build.
  execFileSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(root, 'console/vite.config.mjs')], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  });
};
