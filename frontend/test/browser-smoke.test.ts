/**
 * End-to-end smoke test in a real headless Chromium: builds the page, serves it with vite
 * preview, and streams SPEC 8 messages from a fake WebSocket server in this process.
 * Skipped (with the reason) when /usr/bin/chromium is absent (Debian package `chromium`).
 */
import { existsSync, mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { preview, type PreviewServer } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { buildPage, CHROMIUM, launchChromium, tempDir } from "../scripts/real-backend.mjs";
import { gridArrow, gridHeader, runtimeConfig } from "./fake-stream";

const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ROOT = resolve(__dirname, "..");
const RESULTS = join(ROOT, "test-results");
const RADIUS = 20;
const BINS = 150;

if (!HAVE_CHROMIUM) {
  console.warn(`browser smoke test skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);
}

/** Serves one scripted stream per connection; the symbol picks the script. */
function startFakeBackend(received: string[], connections: Map<string, number>): Promise<WebSocketServer> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/v1/vacuum-pressure/stream" });
  wss.on("connection", (ws: WebSocket, req) => {
    const symbol = new URL(req.url ?? "/", "http://x").searchParams.get("symbol") ?? "";
    connections.set(symbol, (connections.get(symbol) ?? 0) + 1);
    ws.on("message", (data: Buffer) => {
      const text = data.toString();
      received.push(text);
      const msg = JSON.parse(text) as { type: string; speed?: number };
      ws.send(JSON.stringify({ type: "ack", op: msg.type, ...(msg.speed === undefined ? {} : { speed: msg.speed }) }));
    });
    if (symbol === "REFUSED") {
      ws.send(JSON.stringify({ type: "error", message: "symbol REFUSED is not served; this process serves MNQH6" }));
      ws.close(1008, "bad request");
      return;
    }
    if (symbol === "BROKEN") {
      ws.send(JSON.stringify(gridHeader(0)));
      return;
    }
    const cfg = runtimeConfig({ grid_radius_ticks: RADIUS });
    ws.send(JSON.stringify(cfg));
    const horizons = cfg.projection_horizons_ms as number[];
    for (let seq = 0; seq < BINS; seq++) {
      const drift = Math.round(4 * Math.sin(seq / 25));
      ws.send(JSON.stringify(gridHeader(seq, drift)));
      ws.send(
        gridArrow({
          radius: RADIUS,
          horizonsMs: horizons,
          value: (c, k) =>
            c === "spectrum_score"
              ? Math.tanh((k + Math.sin(seq / 10) * 5) / 6)
              : c === "rest_depth"
                ? 5 + ((k * 7 + seq) % 11) + 40 / (1 + Math.abs(k))
                : Math.abs(Math.sin(k * 0.7 + seq * 0.13)) * (k < 0 ? 2 + seq / 50 : 1),
          lastEventId: (k) => BigInt(seq * 1000 + k + RADIUS),
        }),
      );
    }
  });
  return new Promise((ok) => wss.on("listening", () => ok(wss)));
}

async function countLitPixels(page: Page): Promise<number> {
  return page.evaluate(() => {
    const c = document.getElementById("heatmap") as HTMLCanvasElement;
    const ctx = c.getContext("2d");
    if (ctx === null) return -1;
    const d = ctx.getImageData(0, 0, Math.floor(c.width * 0.8), c.height).data;
    let lit = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 120) lit++;
    return lit;
  });
}

describe.skipIf(!HAVE_CHROMIUM)("browser smoke (real Chromium)", () => {
  let server: PreviewServer;
  let wss: WebSocketServer;
  let context: BrowserContext;
  let tmp: { dir: string; remove: () => void };
  const received: string[] = [];
  const connections = new Map<string, number>();

  beforeAll(async () => {
    tmp = tempDir("vp-smoke-");
    const outDir = await buildPage(tmp.dir);
    server = await preview({ root: ROOT, logLevel: "error", build: { outDir }, preview: { port: 0, strictPort: false, host: "127.0.0.1" } });
    wss = await startFakeBackend(received, connections);
    context = await launchChromium(tmp.dir);
    mkdirSync(RESULTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await context.close();
    await server.close();
    await new Promise((ok) => wss.close(ok));
    tmp.remove();
  });

  function pageUrl(symbol: string): string {
    const http = server.httpServer.address() as AddressInfo;
    const ws = wss.address() as AddressInfo;
    return `http://127.0.0.1:${String(http.port)}/vacuum-pressure.html?product_type=future_mbo&symbol=${symbol}&dt=2026-02-06&start_time=09:30&ws_port=${String(ws.port)}`;
  }

  it("draws the heatmap and panel from a SPEC 8 stream and sends controls", async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(pageUrl("MNQH6"));
    await page.waitForFunction(() => document.querySelector(".edge-state")?.textContent !== "WAITING", undefined, {
      timeout: 20_000,
    });
    await page.waitForTimeout(300);
    const lit = await countLitPixels(page);
    expect(lit).toBeGreaterThan(5000);
    expect(await page.textContent("#badge")).toMatch(/live|lagging/);
    expect(await page.textContent("[data-field=warmup]")).toBe("67%");
    expect(await page.isHidden("#error")).toBe(true);
    await page.mouse.move(760, 300);
    expect(await page.textContent("#tooltip")).toMatch(/price \d+\.\d\d/);
    await page.screenshot({ path: join(RESULTS, "smoke-heatmap.png") });
    await page.keyboard.press(" ");
    await page.waitForFunction(() => document.getElementById("badge")?.textContent === "paused");
    await page.keyboard.press("+");
    await page.fill("#seek", "10:15");
    await page.click("#seek-go");
    await page.waitForFunction(() => document.querySelector(".edge-state")?.textContent === "WAITING");
    await page.waitForTimeout(100);
    expect(await countLitPixels(page)).toBe(0); // seek clears the history
    expect(received).toEqual(['{"type":"pause"}', '{"type":"set_speed","speed":2}', '{"type":"seek","time_et":"10:15"}']);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("shows a broken stream's contract error on screen", async () => {
    const page = await context.newPage();
    await page.goto(pageUrl("BROKEN"));
    await page.waitForSelector("#error:not([hidden])", { timeout: 20_000 });
    expect(await page.textContent("#error")).toBe("Stream contract broken: grid_update arrived before runtime_config");
    expect(await page.textContent("#badge")).toBe("error");
    await page.screenshot({ path: join(RESULTS, "smoke-broken-stream.png") });
    await page.close();
  }, 60_000);

  it("shows a server's refusal and does not reconnect after close 1008", async () => {
    const page = await context.newPage();
    await page.goto(pageUrl("REFUSED"));
    await page.waitForSelector("#error:not([hidden])", { timeout: 20_000 });
    expect(await page.textContent("#error")).toBe(
      "Server refused the stream: symbol REFUSED is not served; this process serves MNQH6",
    );
    await page.waitForTimeout(1500);
    expect(await page.textContent("#badge")).toBe("error");
    expect(connections.get("REFUSED")).toBe(1);
    await page.close();
  }, 60_000);
});
