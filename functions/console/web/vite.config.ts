import { defineConfig } from 'vite';

// The build is embedded into the console's Lambda and the local server (go:embed of
// dist/), so it must be self-contained: no CDN, no inline script (the page's CSP
// allows only 'self').
export default defineConfig({
  build: {
    outDir: 'dist',
    // dist/.keep must survive so that go:embed finds the directory on a clean clone;
    // `make console` removes the previous build's files itself.
    emptyOutDir: false,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    // React and react-aria-components are most of the one bundle (about 170 kB
    // gzipped); the console is an app behind sign-in, loaded once per session.
    chunkSizeWarningLimit: 700,
  },
  server: {
    // `npm run dev` (optional): Vite's dev server in front of `make run`'s API.
    proxy: { '/api': 'http://127.0.0.1:3000', '/dev': 'http://127.0.0.1:3000', '/config.json': 'http://127.0.0.1:3000' },
  },
});
