import { describe, expect, it } from "vitest";
import { CellColourCache } from "../src/cell-colour-cache";
import { badgeFor, lagBins, reconnectDelayMs } from "../src/connection-status";
import { GridHistory, priceIntToTick, ringSlot } from "../src/grid-history";
import { columnX, computeLayout, hitCell, labelStepRows, tickY } from "../src/heatmap-layout";
import { keyAction, nextSpeed } from "../src/keyboard";
import { normaliseEtTime, streamParamsFromLocation } from "../src/stream-params";
import { formatEt, formatEtMillis } from "../src/time-format";
import { StreamTransport } from "../src/transport";
import { FakeSocket } from "./fake-socket";

describe("stream params", () => {
  it("forwards the selection to port 8002 on the page host by default", () => {
    const p = streamParamsFromLocation({
      search: "?product_type=future_mbo&symbol=MNQH6&dt=2026-02-06&start_time=09:00&speed=2&junk=1",
      hostname: "box.local",
      protocol: "http:",
    });
    expect(p.wsUrl).toBe(
      "ws://box.local:8002/v1/vacuum-pressure/stream?product_type=future_mbo&symbol=MNQH6&dt=2026-02-06&start_time=09%3A00&speed=2",
    );
    expect(p.selection.symbol).toBe("MNQH6");
  });
  it("honours ws_port and backend overrides", () => {
    const loc = { hostname: "h", protocol: "https:" };
    expect(streamParamsFromLocation({ ...loc, search: "?ws_port=9000" }).wsUrl).toBe("wss://h:9000/v1/vacuum-pressure/stream");
    expect(streamParamsFromLocation({ ...loc, search: "?backend=other:8100" }).wsUrl).toBe(
      "wss://other:8100/v1/vacuum-pressure/stream",
    );
    expect(streamParamsFromLocation({ ...loc, search: "?backend=ws://x:1/" }).wsUrl).toBe("ws://x:1/v1/vacuum-pressure/stream");
  });
  it("validates ET seek times", () => {
    expect(normaliseEtTime("9:30")).toBe("09:30");
    expect(normaliseEtTime(" 09:30:05 ")).toBe("09:30:05");
    expect(normaliseEtTime("24:00")).toBeNull();
    expect(normaliseEtTime("09:61")).toBeNull();
    expect(normaliseEtTime("0930")).toBeNull();
  });
});

describe("connection status", () => {
  it("backs off exponentially with a cap", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => reconnectDelayMs(a))).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000]);
  });
  it("measures lag in bins against the paced stream", () => {
    expect(lagBins(1000, 1, 100, 10)).toBe(0);
    expect(lagBins(1000, 2, 100, 12)).toBe(8);
    expect(lagBins(1000, 1, 100, 15)).toBe(0);
    expect(lagBins(1000, 0, 100, 0)).toBe(0);
  });
  it("labels the badge", () => {
    expect(badgeFor("live", 2).text).toBe("live");
    expect(badgeFor("live", 7).text).toBe("lagging by 7 bins");
    expect(badgeFor("reconnecting", 0, 2000).text).toBe("reconnecting in 2.0 s");
    expect(badgeFor("paused", 0).text).toBe("paused");
    expect(badgeFor("ended", 12)).toEqual({ phase: "ended", text: "end of data" });
    expect(badgeFor("ended", 12, 0, "16:30").text).toBe("no data at or after 16:30");
  });
});

describe("keyboard", () => {
  it("maps shortcuts and steps speeds", () => {
    expect(keyAction(" ")).toEqual({ kind: "toggle_pause" });
    expect(keyAction("+")).toEqual({ kind: "speed", direction: 1 });
    expect(keyAction("-")).toEqual({ kind: "speed", direction: -1 });
    expect(keyAction("x")).toBeNull();
    expect(nextSpeed(1, 1)).toBe(2);
    expect(nextSpeed(1, -1)).toBe(0.5);
    expect(nextSpeed(3, 1)).toBe(4);
    expect(nextSpeed(32, 1)).toBe(32);
    expect(nextSpeed(0.25, -1)).toBe(0.25);
  });
});

describe("time format", () => {
  it("renders ET across DST", () => {
    expect(formatEt(1_770_388_200_000_000_000n)).toBe("09:30:00"); // 2026-02-06 14:30Z, EST
    expect(formatEt(1_783_344_600_000_000_000n)).toBe("09:30:00"); // 2026-07-06 13:30Z, EDT
    expect(formatEtMillis(1_770_388_200_123_456_789n)).toBe("09:30:00.123");
  });
});

describe("history ring and layout", () => {
  it("keeps the newest capacity columns", () => {
    const h = new GridHistory(3);
    for (let i = 0; i < 5; i++) h.push((index) => ({ index }) as never);
    expect(h.size).toBe(3);
    expect(h.newestIndex).toBe(4);
    expect(h.get(1)).toBeUndefined();
    expect(h.get(2)?.index).toBe(2);
    expect(h.get(5)).toBeUndefined();
    expect(ringSlot(7, 3)).toBe(1);
    h.clear();
    expect(h.newest()).toBeUndefined();
  });
  it("converts price ints to ticks", () => {
    expect(priceIntToTick(21000_250_000_000n, 250_000_000)).toBe(84001);
    expect(priceIntToTick(0n, 250_000_000)).toBeNull();
  });
  it("maps cells to pixels and back", () => {
    const L = computeLayout(1076, 222, 400, 101); // plot 1000 x 200
    expect(L.historyWidth).toBe(850);
    expect(L.columnWidth).toBe(850 / 400);
    expect(columnX(L, 0)).toBe(850 - 850 / 400);
    expect(tickY(L, 150, 150)).toBe(0.5 * (200 / 101));
    expect(hitCell(L, 150, 849, 0)).toEqual({ age: 0, tick: 150 });
    expect(hitCell(L, 150, 900, 10)).toBeNull();
    expect(labelStepRows(2)).toBe(10);
    expect(labelStepRows(20)).toBe(1);
  });
});

describe("cell colour cache", () => {
  it("recomputes a cell only when its last_event_id changes", () => {
    const c = new CellColourCache();
    let calls = 0;
    const compute = () => {
      calls++;
      return [calls, 0, 0] as const;
    };
    expect(c.colourFor(10, 5n, compute)).toEqual([1, 0, 0]);
    expect(c.colourFor(10, 5n, compute)).toEqual([1, 0, 0]);
    expect(c.colourFor(10, 6n, compute)).toEqual([2, 0, 0]);
    expect(c.colourFor(11, 6n, compute)).toEqual([3, 0, 0]);
    expect([c.computed, c.reused]).toEqual([3, 1]);
  });
});

describe("StreamTransport", () => {
  function setup() {
    const sockets: FakeSocket[] = [];
    const timers: { fn: () => void; ms: number }[] = [];
    const events: string[] = [];
    const t = new StreamTransport(
      "ws://x/stream",
      {
        onOpen: () => events.push("open"),
        onText: (s) => events.push(`text:${s}`),
        onBinary: (b) => events.push(`binary:${String(b.byteLength)}`),
        onClose: (code, _r, retry) => events.push(`close:${String(code)}:${String(retry)}`),
      },
      {
        createSocket: () => {
          const s = new FakeSocket();
          sockets.push(s);
          return s;
        },
        setTimer: (fn, ms) => timers.push({ fn, ms }),
        clearTimer: () => undefined,
      },
    );
    return { t, sockets, timers, events };
  }

  it("uses arraybuffer frames, routes text and binary, sends controls", () => {
    const { t, sockets, events } = setup();
    t.connect();
    expect(t.send({ type: "pause" })).toBe(false);
    sockets[0].open();
    expect(sockets[0].binaryType).toBe("arraybuffer");
    sockets[0].message('{"type":"ack"}');
    sockets[0].message(new ArrayBuffer(4));
    expect(t.send({ type: "set_speed", speed: 2 })).toBe(true);
    expect(sockets[0].sent).toEqual(['{"type":"set_speed","speed":2}']);
    expect(events).toEqual(["open", 'text:{"type":"ack"}', "binary:4"]);
  });

  it("reconnects with growing delays, also when the server accepts and then fails", () => {
    const { t, sockets, timers, events } = setup();
    t.connect();
    sockets[0].drop(1006);
    timers[0].fn();
    sockets[1].open();
    sockets[1].message('{"type":"runtime_config"}');
    sockets[1].drop(1011);
    timers[1].fn();
    sockets[2].open();
    sockets[2].drop(1006);
    expect(timers.map((x) => x.ms)).toEqual([500, 1000, 2000]);
    expect(events.filter((e) => e.startsWith("close"))).toEqual(["close:1006:500", "close:1011:1000", "close:1006:2000"]);
  });

  it("restarts the backoff once a connection has delivered a bin", () => {
    const { t, sockets, timers } = setup();
    t.connect();
    sockets[0].drop(1006);
    timers[0].fn();
    sockets[1].open();
    sockets[1].message(new ArrayBuffer(4));
    sockets[1].drop(1006);
    expect(timers.map((x) => x.ms)).toEqual([500, 500]);
  });

  it("does not retry after 1008 or a client stop", () => {
    const { t, sockets, timers, events } = setup();
    t.connect();
    sockets[0].drop(1008);
    expect(timers).toEqual([]);
    expect(events).toEqual(["close:1008:null"]);
    t.connect();
    sockets[1].open();
    t.stop(4002, "protocol violation");
    expect(sockets[1].closed).toBe(4002);
    expect(timers).toEqual([]);
  });
});
