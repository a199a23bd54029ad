import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Relative asset paths so the backend can serve dist/ under any prefix.
  base: "./",
  server: { port: 5174, strictPort: true, host: true },
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
