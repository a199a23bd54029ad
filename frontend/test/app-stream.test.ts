// @vitest-environment jsdom
/**
 * The page's reaction to the stream (badge, speed select, errors), driven through a fake
 * socket. jsdom has no canvas: a 2D context that accepts every call stands in, and frames are
 * never drawn (these tests look at the page state, the browser tests look at pixels).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { VacuumPressureApp } from "../src/app";
import { gridArrow, gridHeader, runtimeConfig } from "./fake-stream";
import { FakeSocket } from "./fake-socket";

const PAGE = readFileSync(resolve(__dirname, "../vacuum-pressure.html"), "utf8");
const BODY = /<body>([\s\S]*)<\/body>/.exec(PAGE)?.[1] ?? "";

function fakeContext(): CanvasRenderingContext2D {
  const calls: Record<string, unknown> = {
    createImageData: (w: number, h: number) => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4) }),
  };
  return new Proxy(calls, { get: (t, name: string) => t[name] ?? (() => undefined), set: () => true }) as never;
}

class PageHarness {
  readonly sockets: FakeSocket[] = [];
  readonly retries: (() => void)[] = [];
  readonly app: VacuumPressureApp;

  constructor(search: string) {
    document.body.innerHTML = BODY;
    window.history.replaceState(null, "", `/vacuum-pressure.html${search}`);
    this.app = new VacuumPressureApp(document, window, {
      createSocket: () => {
        const s = new FakeSocket();
        this.sockets.push(s);
        return s;
      },
      setTimer: (fn) => this.retries.push(fn),
      clearTimer: () => undefined,
    });
    this.app.start();
    this.socket.open();
  }

  get socket(): FakeSocket {
    return this.sockets[this.sockets.length - 1];
  }

  send(message: Record<string, unknown>): void {
    this.socket.message(JSON.stringify(message));
  }

  sendBins(from: number, count: number): void {
    for (let seq = from; seq < from + count; seq++) {
      this.send(gridHeader(seq));
      this.socket.message(gridArrow({ radius: 5, horizonsMs: [100, 200, 300, 400] }).slice().buffer);
    }
  }

  /** The server drops the connection; the page reconnects and the new socket opens. */
  reconnect(code = 1006): void {
    this.socket.drop(code);
    this.retries.shift()?.();
    this.socket.open();
  }

  text(id: string): string {
    return document.getElementById(id)?.textContent ?? "";
  }

  get badgePhase(): string | undefined {
    return document.getElementById("badge")?.dataset.phase;
  }
}

let page: PageHarness | null = null;

function openPage(search = "?symbol=MNQH6&start_time=09:30&speed=2"): PageHarness {
  page = new PageHarness(search);
  return page;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "performance"] });
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockImplementation(() => fakeContext());
  window.requestAnimationFrame = () => 0;
});

afterEach(() => {
  page?.app.dispose();
  page = null;
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("speed after a reconnect", () => {
  it("shows the speed the server's new session runs at, not the last one acked", () => {
    const p = openPage();
    p.send(runtimeConfig({ speed: 2 }));
    p.send({ type: "ack", op: "set_speed", speed: 8 });
    expect((document.getElementById("speed") as HTMLSelectElement).value).toBe("8");
    p.reconnect();
    p.send(runtimeConfig({ speed: 2 }));
    expect((document.getElementById("speed") as HTMLSelectElement).value).toBe("2");
    expect(window.__vp?.snapshot().speed).toBe(2);
  });
});

describe("a server error frame and a later close 1011", () => {
  it("is final when the error came just before the close", () => {
    const p = openPage();
    p.send(runtimeConfig());
    p.sendBins(0, 2);
    p.send({ type: "error", message: "raw file x is truncated or corrupt" });
    p.socket.drop(1011);
    expect(p.text("error")).toBe("Stream failed: raw file x is truncated or corrupt");
    expect(p.text("badge")).toBe("error");
  });

  it("explains nothing once more stream followed it", () => {
    const p = openPage();
    p.send(runtimeConfig());
    p.send({ type: "error", message: "seek target 25:00 is invalid" });
    p.sendBins(0, 1);
    p.socket.drop(1011);
    expect(p.text("badge")).toBe("reconnecting in 0.5 s");
    expect(document.getElementById("error")?.hidden).toBe(true);
  });

  it("explains nothing on a later connection", () => {
    const p = openPage();
    p.send(runtimeConfig());
    p.send({ type: "error", message: "seek target 25:00 is invalid" });
    p.reconnect(1006);
    p.socket.drop(1011);
    expect(p.text("badge")).toBe("reconnecting in 1.0 s");
    expect(document.getElementById("error")?.hidden).toBe(true);
  });
});

describe("end of data", () => {
  const END = { type: "end_of_data", last_bin_seq: 2, last_bin_end_ns: "1770388200300000000" };
  const NO_BIN = { type: "end_of_data", last_bin_seq: null, last_bin_end_ns: null };

  it("says so, keeps the heatmap and counts no lag however long the server stays quiet", () => {
    const p = openPage();
    p.send(runtimeConfig({ start_time: "09:30", speed: 2 }));
    p.sendBins(0, 3);
    p.send(END);
    vi.advanceTimersByTime(10_000);
    expect(p.text("badge")).toBe("end of data");
    expect(p.badgePhase).toBe("ended");
    expect(window.__vp?.snapshot().newest?.bin_seq).toBe(2);
  });

  it("names the start time when no bin exists at or after it", () => {
    const p = openPage();
    p.send(runtimeConfig({ start_time: "17:00" }));
    p.send(NO_BIN);
    expect(p.text("badge")).toBe("no data at or after 17:00");
  });

  it("stays ended across pause and resume, and goes live when a seek lands", () => {
    const p = openPage();
    p.send(runtimeConfig({ start_time: "09:30" }));
    p.sendBins(0, 3);
    p.send(END);
    p.send({ type: "ack", op: "pause" });
    expect(p.text("badge")).toBe("paused");
    p.send({ type: "ack", op: "resume" });
    expect(p.text("badge")).toBe("end of data");
    p.send({ type: "ack", op: "seek_requested", time_et: "09:31" });
    expect(p.text("badge")).toBe("end of data");
    p.send({ type: "ack", op: "seek", time_et: "09:31", bin_start_ns: "1770388260000000000", bin_seq: 600 });
    expect(p.text("badge")).toBe("live");
  });

  it("names the seek target after a seek past the end", () => {
    const p = openPage();
    p.send(runtimeConfig({ start_time: "09:30" }));
    p.send(END);
    p.send({ type: "ack", op: "seek", time_et: "16:59", bin_start_ns: "1770415140000000000", end_of_data: true });
    p.send(NO_BIN);
    expect(p.text("badge")).toBe("no data at or after 16:59");
  });

  it("goes live again with a new stream after a reconnect", () => {
    const p = openPage();
    p.send(runtimeConfig({ start_time: "09:30" }));
    p.send(END);
    p.reconnect();
    p.send(runtimeConfig({ start_time: "09:30" }));
    expect(p.text("badge")).toBe("live");
  });
});
