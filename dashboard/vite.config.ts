import { defineConfig } from 'vite';

// No @vitejs/plugin-react: Vite's built-in esbuild compiles TSX with the automatic JSX runtime,
// which is all this small SPA needs (no fast refresh), and keeps the install light.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: {
    // `npm run dev -w @pifleet/dashboard` talks to a hub started separately with `npm start`.
    proxy: {
      '/api': { target: 'http://localhost:8080', changeOrigin: false },
      '/metrics': { target: 'http://localhost:8080', changeOrigin: false },
    },
  },
});
