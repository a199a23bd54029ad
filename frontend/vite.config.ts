import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Relative asset paths so the backend can serve dist/ under any prefix.
  base: "./",
  // Loopback only: the dev server serves the source tree, so exposing it is a choice the user
  // makes with `npm run dev -- --host`.
  server: { port: 5174, strictPort: true, host: "127.0.0.1" },
  preview: { port: 5174, strictPort: true },
  build: {
    outDir: "dist",
    rollupOptions: { input: { "vacuum-pressure": resolve(import.meta.dirname, "vacuum-pressure.html") } },
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
