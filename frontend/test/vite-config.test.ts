import { describe, expect, it } from "vitest";
import config from "../vite.config";

describe("vite dev server", () => {
  it("listens on loopback only, on the fixed port", () => {
    expect(config.server).toMatchObject({ host: "127.0.0.1", port: 5174, strictPort: true });
  });
});
