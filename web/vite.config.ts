// Static build of the demo page: `npm run build:web` → web/dist/ (relative
// URLs, so the folder can be served from any path). The page imports
// 'scorecrl' as an application gets it in a browser build: the file named by
// the `browser` condition of the package's exports (dist/browser/, built by
// tsc). Vite bundles the worker that module starts and emits scorecrl.wasm as
// an asset.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const web = fileURLToPath(new URL('.', import.meta.url));
const packageRoot = new URL('..', import.meta.url);

/** The file package.json's exports give bundlers for `import 'scorecrl'` with the `browser` condition. */
function browserEntry(): string {
  const pkg = JSON.parse(readFileSync(new URL('package.json', packageRoot), 'utf8'));
  const entry = pkg.exports?.['.']?.browser?.default;
  if (typeof entry !== 'string') throw new Error("package.json: exports['.'].browser.default is missing");
  return fileURLToPath(new URL(entry, packageRoot));
}

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: web,
  base: './',
  plugins: [
    {
      // The Emscripten loader's Node branch calls require('fs') / require('path'); it never runs in a
      // browser. Give it empty modules instead of Vite's "externalized for browser compatibility" stubs.
      name: 'scorecrl-emscripten-node-branch',
      enforce: 'pre',
      resolveId(source, importer) {
        if ((source === 'fs' || source === 'path') && importer?.endsWith('scorecrl.mjs')) return '\0scorecrl-node-branch';
        return null;
      },
      load(id) {
        return id === '\0scorecrl-node-branch' ? 'export default {};' : null;
      },
    },
  ],
  resolve: {
    alias: [{ find: /^scorecrl$/, replacement: browserEntry() }],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
  },
  // Cross-origin isolation gives the worker shared memory, so Cancel stops the core in place
  // instead of restarting the worker (the page works without it too).
  server: { headers: ISOLATION },
  preview: { host: '127.0.0.1', port: 4173, headers: ISOLATION },
});
