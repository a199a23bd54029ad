// Measures the page in headless Chromium against the real replay server on the synthetic day:
// per-bin decode / update / draw time (performance.now() around each step, read from the page's
// window.__vp hook), frames/s of a requestAnimationFrame loop while the stream runs, and the JS
// heap (CDP Runtime.getHeapUsage after HeapProfiler.collectGarbage) sampled over the run.
//
//   node scripts/measure-page.mjs [--minutes 10] [--speed 1] [--json test-results/measure-page.json]
//
// Speed 1 = 10 bins/s (100 ms bins). Prints one line per minute and a summary; not a test (no
// pass/fail), the figures go into FEATURES.md.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { buildPage, launchChromium, missingPrerequisite, startServer, tempDir, writeLake } from "./real-backend.mjs";

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const minutes = Number(option("minutes", "10"));
const speed = option("speed", "1");
const jsonPath = resolve(option("json", "test-results/measure-page.json"));
const SAMPLE_EVERY_MS = 30_000;

function quantile(values, q) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

const mean = (v) => (v.length === 0 ? NaN : v.reduce((a, b) => a + b, 0) / v.length);
const fmt = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");

async function main() {
  const missing = missingPrerequisite();
  if (missing !== null) {
    console.log(`measure-page: cannot run: ${missing}`);
    return 2;
  }
  const tmp = tempDir("vp-measure-");
  let server;
  let context;
  try {
    // 09:00 start plus the run plus a margin; the book phase replays from 08:25.
    const endMinute = Math.ceil(minutes) + 3;
    const endEt = `09:${String(endMinute).padStart(2, "0")}`;
    if (endMinute > 59) throw new Error("--minutes must be at most 56");
    const t0 = performance.now();
    const lake = writeLake(tmp.dir, { startEt: "08:25", endEt });
    const dist = await buildPage(tmp.dir);
    server = await startServer({ lake, dist });
    context = await launchChromium(tmp.dir);
    console.log(`setup (synthetic day to ${endEt} ET, build, server, browser): ${fmt((performance.now() - t0) / 1000, 1)} s`);
    const page = await context.newPage();
    const problems = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.goto(server.pageUrl({ speed }));
    const cdp = await context.newCDPSession(page);
    await cdp.send("HeapProfiler.enable");
    // A requestAnimationFrame loop independent of the page's own (which only runs when dirty).
    await page.evaluate(() => {
      const w = window;
      w.__fps = { frames: 0, long: 0, maxGap: 0, last: performance.now() };
      const tick = (now) => {
        const f = w.__fps;
        const gap = now - f.last;
        f.last = now;
        f.frames++;
        if (gap > 25) f.long++;
        if (gap > f.maxGap) f.maxGap = gap;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const readFps = () =>
      page.evaluate(() => {
        const f = window.__fps;
        const out = { frames: f.frames, long: f.long, maxGap: f.maxGap };
        f.frames = 0;
        f.long = 0;
        f.maxGap = 0;
        return out;
      });
    // JS heap plus ArrayBuffer backing stores (the decoded Arrow columns live there) plus
    // Blink's heap, after a forced GC, in MB.
    const memory = async () => {
      await cdp.send("HeapProfiler.collectGarbage");
      const h = await cdp.send("Runtime.getHeapUsage");
      const mb = (x) => (x ?? 0) / 2 ** 20;
      const m = { js: mb(h.usedSize), buffers: mb(h.backingStorageSize), blink: mb(h.embedderHeapUsedSize) };
      return { ...m, total: m.js + m.buffers + m.blink };
    };
    const dom = async () => {
      const c = await cdp.send("Memory.getDOMCounters");
      return `${String(c.nodes)} nodes, ${String(c.jsEventListeners)} listeners`;
    };

    // Wait for the first bin.
    for (let i = 0; ; i++) {
      const s = await page.evaluate(() => window.__vp?.snapshot().binsReceived ?? 0);
      if (s > 0) break;
      if (i > 600) throw new Error(`no bin after 60 s:\n${server.log()}`);
      await page.waitForTimeout(100);
    }
    await readFps();
    let seen = (await page.evaluate(() => window.__vp.timings())).binsTimed;
    let drawsSeen = (await page.evaluate(() => window.__vp.timings())).drawsTimed;
    const all = { decode: [], update: [], draw: [], perBin: [] };
    const rows = [];
    const start = performance.now();
    const mem0 = await memory();
    const heap0 = mem0.total;
    console.log(
      `t=0 s memory after GC ${fmt(heap0, 2)} MB (JS ${fmt(mem0.js, 2)}, buffers ${fmt(mem0.buffers, 2)}, Blink ${fmt(mem0.blink, 2)}), DOM ${await dom()}`,
    );
    console.log("  t(s)  bins  bins/s   fps  long>25ms  maxgap(ms)  mem(MB)  decode p50/p95  update p50/p95  draw p50/p95 (ms)");
    // The forced GC above stalls frames: restart the frame count after it.
    await readFps();
    let lastT = performance.now();
    while (performance.now() - start < minutes * 60_000) {
      await page.waitForTimeout(SAMPLE_EVERY_MS);
      const now = performance.now();
      const fps = await readFps();
      const t = await page.evaluate(() => window.__vp.timings());
      const nNew = t.binsTimed - seen;
      const dNew = t.drawsTimed - drawsSeen;
      seen = t.binsTimed;
      drawsSeen = t.drawsTimed;
      const decode = t.decodeMs.slice(-nNew);
      const update = t.updateMs.slice(-nNew);
      const draw = t.drawMs.slice(-dNew);
      all.decode.push(...decode);
      all.update.push(...update);
      all.draw.push(...draw);
      const secs = (now - lastT) / 1000;
      const mem = await memory();
      const heap = mem.total;
      await readFps();
      lastT = performance.now();
      const row = {
        t_s: Math.round((now - start) / 1000),
        bins: nNew,
        bins_per_s: nNew / secs,
        fps: fps.frames / secs,
        long_frames: fps.long,
        max_gap_ms: fps.maxGap,
        heap_mb: heap,
        js_mb: mem.js,
        buffers_mb: mem.buffers,
        blink_mb: mem.blink,
        decode_p50: quantile(decode, 0.5),
        decode_p95: quantile(decode, 0.95),
        update_p50: quantile(update, 0.5),
        update_p95: quantile(update, 0.95),
        draw_p50: quantile(draw, 0.5),
        draw_p95: quantile(draw, 0.95),
      };
      rows.push(row);
      console.log(
        `${String(row.t_s).padStart(6)} ${String(nNew).padStart(5)} ${fmt(row.bins_per_s, 1).padStart(7)} ${fmt(row.fps, 1).padStart(5)} ${String(fps.long).padStart(10)} ${fmt(fps.maxGap, 1).padStart(11)} ${fmt(heap, 2).padStart(9)}  ${fmt(row.decode_p50)}/${fmt(row.decode_p95)}   ${fmt(row.update_p50)}/${fmt(row.update_p95)}   ${fmt(row.draw_p50)}/${fmt(row.draw_p95)}`,
      );
    }
    const heaps = rows.map((r) => r.heap_mb);
    // Growth: least-squares slope of heap over time after the first sample (history fills in
    // the first 48 s at speed 1), in MB per minute.
    const pts = rows.slice(1).map((r) => [r.t_s / 60, r.heap_mb]);
    const mx = pts.reduce((a, p) => a + p[0], 0) / Math.max(1, pts.length);
    const my = pts.reduce((a, p) => a + p[1], 0) / Math.max(1, pts.length);
    const sxx = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
    const slope = sxx > 0 ? pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / sxx : NaN;
    const perBinP50 = quantile(all.decode, 0.5) + quantile(all.update, 0.5) + quantile(all.draw, 0.5);
    const summary = {
      minutes,
      speed: Number(speed),
      bins: all.decode.length,
      decode_ms: { p50: quantile(all.decode, 0.5), p95: quantile(all.decode, 0.95), mean: mean(all.decode) },
      update_ms: { p50: quantile(all.update, 0.5), p95: quantile(all.update, 0.95), mean: mean(all.update) },
      draw_ms: { p50: quantile(all.draw, 0.5), p95: quantile(all.draw, 0.95), mean: mean(all.draw) },
      decode_plus_draw_p50_ms: quantile(all.decode, 0.5) + quantile(all.draw, 0.5),
      per_bin_total_p50_ms: perBinP50,
      fps_mean: rows.reduce((a, r) => a + r.fps, 0) / Math.max(1, rows.length),
      fps_min_window: Math.min(...rows.map((r) => r.fps)),
      long_frames_total: rows.reduce((a, r) => a + r.long_frames, 0),
      heap_mb_start: heap0,
      heap_mb_min: Math.min(...heaps),
      heap_mb_max: Math.max(...heaps),
      heap_mb_end: heaps.at(-1),
      heap_slope_mb_per_min: slope,
      dom_end: await dom(),
      console_problems: problems,
      rows,
    };
    console.log(
      [
        `bins measured: ${String(summary.bins)}`,
        "(Chromium rounds performance.now() to 0.1 ms on a page that is not cross-origin isolated: the means are the finer figure)",
        `decode  p50 ${fmt(summary.decode_ms.p50)} ms  p95 ${fmt(summary.decode_ms.p95)} ms  mean ${fmt(summary.decode_ms.mean)} ms`,
        `update  p50 ${fmt(summary.update_ms.p50)} ms  p95 ${fmt(summary.update_ms.p95)} ms  mean ${fmt(summary.update_ms.mean)} ms  (signals, metrics, history, panel values)`,
        `draw    p50 ${fmt(summary.draw_ms.p50)} ms  p95 ${fmt(summary.draw_ms.p95)} ms  mean ${fmt(summary.draw_ms.mean)} ms  (one animation-frame commit)`,
        `decode+draw p50 ${fmt(summary.decode_plus_draw_p50_ms)} ms; decode+update+draw p50 ${fmt(perBinP50)} ms`,
        `frames/s mean ${fmt(summary.fps_mean, 1)}, worst 30 s window ${fmt(summary.fps_min_window, 1)}, frames > 25 ms: ${String(summary.long_frames_total)}`,
        `memory after GC (JS heap + ArrayBuffers + Blink): start ${fmt(heap0, 2)} MB, min ${fmt(summary.heap_mb_min, 2)}, max ${fmt(summary.heap_mb_max, 2)}, end ${fmt(summary.heap_mb_end, 2)}; slope ${fmt(slope, 4)} MB/min`,
        `console problems: ${problems.length === 0 ? "none" : problems.join(" | ")}`,
      ].join("\n"),
    );
    mkdirSync(dirname(jsonPath), { recursive: true });
    writeFileSync(jsonPath, JSON.stringify(summary, null, 2));
    console.log(`wrote ${jsonPath}`);
    return 0;
  } finally {
    await context?.close().catch(() => undefined);
    await server?.stop();
    tmp.remove();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
