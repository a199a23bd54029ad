// Starts the real replay server on a short synthetic day, for the end-to-end test
// (test/e2e-real-backend.test.ts) and the browser measurement script (scripts/measure-page.mjs).
//
// Everything lives in one temp folder (lake, built page, Chromium profile) that stop() removes;
// the server runs in its own process group so stop() (and a crash of this process) ends uv and
// its Python child together.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const CHROMIUM = "/usr/bin/chromium";
/** Flags that keep Debian's Chromium off the network and quiet in a container. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const SYMBOL = "MNQH6";
export const DATE = "2026-02-06";
/** A second date whose raw file is truncated on purpose (the server answers error + 1011). */
export const BROKEN_DATE = "2026-02-05";

const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BACKEND = resolve(FRONTEND, "..", "backend");

/** Why the real-backend browser runs cannot happen here, or null when they can. */
export function missingPrerequisite() {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not found (apt-get install -y chromium)`;
  const uv = spawnSync("uv", ["--version"], { stdio: "ignore" });
  if (uv.error !== undefined || uv.status !== 0) return "uv not found on PATH (the backend runs with uv)";
  if (!existsSync(join(BACKEND, "pyproject.toml"))) return `backend not found at ${BACKEND}`;
  return null;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${String(r.status)}): ${r.stderr || r.stdout}`);
  }
}

/** Raw file path of a date in a lake (the layout of backend/src/vacuum_pressure/lake.py). */
function rawFile(lake, date) {
  return join(
    lake,
    "raw/source=databento/product_type=future_mbo/symbol=MNQ/table=market_by_order_dbn",
    `glbx-mdp3-${date.replaceAll("-", "")}.mbo.dbn.zst`,
  );
}

/**
 * Writes the synthetic day DATE (startEt..endEt ET) and a truncated BROKEN_DATE file into
 * `<dir>/lake`. Returns the lake path.
 */
export function writeLake(dir, { startEt = "08:25", endEt = "09:06" } = {}) {
  const lake = join(dir, "lake");
  mkdirSync(lake, { recursive: true });
  run("uv", ["run", "vp", "synth", "--dt", DATE, "--start-et", startEt, "--end-et", endEt, "--lake-root", lake], BACKEND);
  run("uv", ["run", "vp", "synth", "--dt", BROKEN_DATE, "--start-et", "08:58", "--end-et", "09:02", "--lake-root", lake], BACKEND);
  // Cut the file inside its zstd data: the last frame becomes incomplete.
  const broken = rawFile(lake, BROKEN_DATE);
  const bytes = readFileSync(broken);
  writeFileSync(broken, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
  if (statSync(broken).size >= bytes.length) throw new Error(`could not truncate ${broken}`);
  return lake;
}

/** Builds the page into `<dir>/dist` with Vite's API (the same build as `npm run build`). */
export async function buildPage(dir) {
  const { build } = await import("vite");
  const outDir = join(dir, "dist");
  await build({ root: FRONTEND, logLevel: "error", build: { outDir, emptyOutDir: true } });
  return outDir;
}

/**
 * Starts `scripts/run_vacuum_pressure.py` on free loopback ports serving the lake and the
 * built page; resolves once /health answers. Returns { wsPort, pagePort, pageUrl(query), stop, log }.
 */
export async function startServer({ lake, dist, startTime = "09:00", timeoutMs = 30_000 }) {
  const wsPort = await freePort();
  const pagePort = await freePort();
  const args = [
    "run",
    "scripts/run_vacuum_pressure.py",
    "--product-type",
    "future_mbo",
    "--symbol",
    SYMBOL,
    "--dt",
    DATE,
    "--start-time",
    startTime,
    "--port",
    String(wsPort),
    "--static-port",
    String(pagePort),
    "--lake-root",
    lake,
    "--frontend-dist",
    dist,
    // Checkpoints would write ~12 MB per market minute into the temp lake for nothing.
    "--no-cache",
  ];
  const child = spawn("uv", args, { cwd: BACKEND, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (chunk) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let exited = false;
  const exitedPromise = new Promise((ok) =>
    child.once("exit", () => {
      exited = true;
      ok();
    }),
  );
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const onExit = () => killGroup("SIGKILL");
  process.once("exit", onExit);
  const stop = async () => {
    process.removeListener("exit", onExit);
    if (exited) return;
    killGroup("SIGTERM");
    const timer = setTimeout(() => killGroup("SIGKILL"), 3000);
    await exitedPromise;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`the replay server exited during startup:\n${log}`);
    try {
      const r = await fetch(`http://127.0.0.1:${String(wsPort)}/health`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the replay server did not answer /health within ${String(timeoutMs)} ms:\n${log}`);
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  const pageUrl = (query) => {
    const q = new URLSearchParams({ product_type: "future_mbo", symbol: SYMBOL, dt: DATE, start_time: startTime, ...query });
    q.set("ws_port", String(wsPort));
    return `http://127.0.0.1:${String(pagePort)}/vacuum-pressure.html?${q.toString()}`;
  };
  return { wsPort, pagePort, pageUrl, stop, log: () => log };
}

/** Launches headless Chromium with a fresh profile under `dir`. */
export async function launchChromium(dir, viewport = { width: 1280, height: 720 }) {
  const { chromium } = await import("playwright-core");
  const userDir = join(dir, "chromium-profile");
  mkdirSync(userDir, { recursive: true });
  return chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: CHROMIUM_ARGS,
  });
}

/** A fresh temp folder and its remover. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
