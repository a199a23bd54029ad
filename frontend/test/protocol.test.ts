import { tableFromArrays, tableToIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { decodeGridFrame } from "../src/arrow-grid";
import { parseInt64 } from "../src/int64";
import { ProtocolDecoder } from "../src/protocol-decoder";
import { ProtocolError } from "../src/protocol-error";
import { gridArrow, gridHeader, runtimeConfig } from "./fake-stream";

const HORIZONS = [100, 200, 300, 400];

function configured(): ProtocolDecoder {
  const d = new ProtocolDecoder();
  d.handleText(JSON.stringify(runtimeConfig()));
  return d;
}

describe("int64 fields", () => {
  it("accepts numbers and decimal strings beyond 2^53", () => {
    expect(parseInt64(12)).toBe(12n);
    expect(parseInt64("1770388200100000000")).toBe(1770388200100000000n);
    expect(parseInt64(2 ** 60)).toBeNull();
    expect(parseInt64("12x")).toBeNull();
    expect(parseInt64(1.5)).toBeNull();
  });
});

describe("ProtocolDecoder", () => {
  it("decodes config, header and Arrow frame in order", () => {
    const d = new ProtocolDecoder();
    const cfg = d.handleText(JSON.stringify(runtimeConfig()));
    expect(cfg.kind).toBe("config");
    if (cfg.kind !== "config") return;
    expect(cfg.config.grid_rows).toBe(11);
    expect(cfg.config.tick_int).toBe(250_000_000);
    expect(d.handleText(JSON.stringify(gridHeader(7))).kind).toBe("header");
    const msg = d.handleBinary(gridArrow({ radius: 5, horizonsMs: HORIZONS }));
    expect(msg.kind).toBe("frame");
    if (msg.kind !== "frame") return;
    expect(msg.frame.header.bin_seq).toBe(7n);
    expect(msg.frame.header.bin_end_ns).toBe(1_770_388_200_800_000_000n);
    expect(Array.from(msg.frame.grid.k)).toEqual([-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5]);
    expect(msg.frame.grid.float.v_add[0]).toBe(6);
    expect(msg.frame.grid.spectrum_state_code[10]).toBe(1);
    expect(msg.frame.grid.last_event_id[3]).toBe(3n);
    expect(msg.frame.grid.projections.get(400)?.[0]).toBe(0.5);
  });

  const violations: [string, (d: ProtocolDecoder) => void, RegExp][] = [
    ["grid before config", (d) => d.handleText(JSON.stringify(gridHeader(0))), /grid_update arrived before runtime_config/],
    [
      "binary before config",
      (d) => d.handleBinary(gridArrow({ radius: 5, horizonsMs: HORIZONS })),
      /binary grid frame arrived before runtime_config/,
    ],
  ];
  for (const [name, act, message] of violations) {
    it(`rejects ${name}`, () => {
      const d = new ProtocolDecoder();
      expect(() => act(d)).toThrow(ProtocolError);
      expect(() => act(d)).toThrow(message);
    });
  }

  it("rejects a binary frame without a header", () => {
    const d = configured();
    expect(() => d.handleBinary(gridArrow({ radius: 5, horizonsMs: HORIZONS }))).toThrow(
      /binary grid frame arrived without a grid_update header/,
    );
  });

  it("rejects two headers in a row", () => {
    const d = configured();
    d.handleText(JSON.stringify(gridHeader(0)));
    expect(() => d.handleText(JSON.stringify(gridHeader(1)))).toThrow(
      /grid_update for bin 1 arrived before the binary frame of bin 0/,
    );
  });

  it("rejects a header with a missing field, naming it", () => {
    const d = configured();
    const h = gridHeader(0);
    delete h.spot_ref_price_int;
    expect(() => d.handleText(JSON.stringify(h))).toThrow('grid_update is missing required field "spot_ref_price_int"');
  });

  it("rejects a config with a missing field or a bad stream format", () => {
    const d = new ProtocolDecoder();
    const c = runtimeConfig();
    delete c.cell_width_ms;
    expect(() => d.handleText(JSON.stringify(c))).toThrow('runtime_config is missing required field "cell_width_ms"');
    expect(() => d.handleText(JSON.stringify(runtimeConfig({ stream_format: "sparse" })))).toThrow(
      'runtime_config stream_format is "sparse", expected "dense_grid"',
    );
    expect(() => d.handleText(JSON.stringify(runtimeConfig({ grid_rows: 12 })))).toThrow(
      /grid_rows 12 must equal 2 \* grid_radius_ticks \+ 1/,
    );
  });

  it("reads the session speed from the config, when sent, and rejects a bad one", () => {
    const speedOf = (overrides: Record<string, unknown>) => {
      const msg = new ProtocolDecoder().handleText(JSON.stringify(runtimeConfig(overrides)));
      return msg.kind === "config" ? msg.config.speed : undefined;
    };
    expect(speedOf({ speed: 20 })).toBe(20);
    expect(speedOf({ speed: 0 })).toBe(0);
    expect(speedOf({})).toBeNull();
    expect(() => speedOf({ speed: "fast" })).toThrow('runtime_config field "speed" must be a finite number, got "fast"');
    expect(() => speedOf({ speed: -1 })).toThrow("runtime_config speed must be >= 0, got -1");
  });

  it("rejects a frame with a missing column or the wrong row count", () => {
    const d = configured();
    d.handleText(JSON.stringify(gridHeader(0)));
    expect(() => d.handleBinary(gridArrow({ radius: 5, horizonsMs: HORIZONS, omit: "v_pull" }))).toThrow(
      'binary frame is missing column "v_pull" (float64)',
    );
    d.handleText(JSON.stringify(gridHeader(1)));
    expect(() => d.handleBinary(gridArrow({ radius: 4, horizonsMs: HORIZONS }))).toThrow(
      "binary frame has 9 rows, expected grid_rows = 11",
    );
    d.handleText(JSON.stringify(gridHeader(2)));
    expect(() => d.handleBinary(gridArrow({ radius: 5, horizonsMs: [100] }))).toThrow(
      'binary frame is missing column "proj_score_h200" (float64)',
    );
  });

  it("rejects garbage bytes and non-JSON text", () => {
    const d = configured();
    d.handleText(JSON.stringify(gridHeader(0)));
    expect(() => d.handleBinary(new Uint8Array([1, 2, 3]))).toThrow(/not a readable Arrow IPC stream|rows, expected/);
    expect(() => d.handleText("{nope")).toThrow("text frame is not JSON: {nope");
  });

  it("passes acks, server errors and unknown types through", () => {
    const d = new ProtocolDecoder();
    expect(d.handleText('{"type":"ack","op":"pause"}')).toMatchObject({ kind: "ack", ack: { op: "pause" } });
    expect(d.handleText('{"type":"error","message":"symbol XYZ is not served"}')).toEqual({
      kind: "server_error",
      message: "symbol XYZ is not served",
    });
    expect(d.handleText('{"type":"heartbeat"}')).toEqual({ kind: "ignored", type: "heartbeat" });
  });

  it("decodes end_of_data with a last bin or with none", () => {
    const d = configured();
    expect(d.handleText('{"type":"end_of_data","last_bin_seq":41,"last_bin_end_ns":"1770388204200000000"}')).toEqual({
      kind: "end_of_data",
      end: { last_bin_seq: 41n, last_bin_end_ns: 1770388204200000000n },
    });
    expect(d.handleText('{"type":"end_of_data","last_bin_seq":null,"last_bin_end_ns":null}')).toEqual({
      kind: "end_of_data",
      end: { last_bin_seq: null, last_bin_end_ns: null },
    });
    d.handleText(JSON.stringify(gridHeader(0)));
    d.handleBinary(gridArrow({ radius: 5, horizonsMs: HORIZONS }));
    expect(d.handleText('{"type":"end_of_data","last_bin_seq":0,"last_bin_end_ns":"1"}').kind).toBe("end_of_data");
  });

  const badEnds: [string, (d: ProtocolDecoder) => unknown, string][] = [
    ["before runtime_config", () => new ProtocolDecoder().handleText('{"type":"end_of_data","last_bin_seq":null,"last_bin_end_ns":null}'), "end_of_data arrived before runtime_config"],
    ["with a missing field", (d) => d.handleText('{"type":"end_of_data","last_bin_seq":null}'), 'end_of_data is missing required field "last_bin_end_ns"'],
    [
      "with a non-integer bin",
      (d) => d.handleText('{"type":"end_of_data","last_bin_seq":"last","last_bin_end_ns":"1"}'),
      'end_of_data field "last_bin_seq" must be an integer or a decimal string, got "last"',
    ],
    [
      "with one field null",
      (d) => d.handleText('{"type":"end_of_data","last_bin_seq":4,"last_bin_end_ns":null}'),
      'end_of_data fields "last_bin_seq" and "last_bin_end_ns" must both be null or both be set',
    ],
    [
      "between a header and its frame",
      (d) => {
        d.handleText(JSON.stringify(gridHeader(3)));
        return d.handleText('{"type":"end_of_data","last_bin_seq":3,"last_bin_end_ns":"1"}');
      },
      "end_of_data arrived before the binary frame of bin 3",
    ],
  ];
  for (const [name, act, message] of badEnds) {
    it(`rejects an end_of_data ${name}`, () => {
      expect(() => act(configured())).toThrow(new ProtocolError(message));
    });
  }

  it("checks column types", () => {
    expect(() => decodeGridFrame(gridArrow({ radius: 1, horizonsMs: [] }), 3, [])).not.toThrow();
    const wrong = tableToIPC(
      tableFromArrays({ k: Float64Array.from([-1, 0, 1]) }),
      "stream",
    );
    expect(() => decodeGridFrame(wrong, 3, [])).toThrow('column "k" has type Float64, expected int32');
  });
});
