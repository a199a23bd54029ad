// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { computeEdgeMetrics } from "../src/edge-metrics";
import { ExperimentEngine } from "../src/experiment-engine";
import { SignalPanel } from "../src/panel";
import { ProtocolDecoder } from "../src/protocol-decoder";
import { tooltipLines } from "../src/tooltip";
import { gridArrow, gridHeader, runtimeConfig } from "./fake-stream";

describe("SignalPanel (jsdom)", () => {
  it("renders state, guidance, flags and signals only on render()", () => {
    const root = document.createElement("aside");
    const panel = new SignalPanel(root);
    const metrics = computeEdgeMetrics({
      k: [-1, 1],
      pressure_variant: [8, 0],
      vacuum_variant: [0, 6],
      rest_depth: [3, 1],
    });
    const g = { k: [-1, 1], v_add: [0, 0], v_pull: [0, 0], v_fill: [0, 0], vacuum_variant: [0, 6] };
    panel.update({ metrics, signals: new ExperimentEngine(100).update(g) });
    expect(root.querySelector(".edge-state")?.textContent).toBe("WAITING");
    panel.render();
    expect(root.querySelector(".edge-state")?.textContent).toBe("UP BIAS");
    const field = (name: string) => root.querySelector(`[data-field=${name}]`)?.textContent;
    expect(field("net")).toBe("14.00");
    expect(field("long")).toBe("HOLD");
    expect(field("short")).toBe("EXIT");
    expect(field("ads")).toBe("0.000 (warming)");
    expect(field("svac")).toBe("1.000");
    expect(field("warmup")).toBe("33%");
    expect(Array.from(root.querySelectorAll(".flag")).map((f) => f.textContent)).toEqual([
      "RESISTANCE THINNING",
      "UP ADVANTAGE",
    ]);
    panel.clear();
    expect(field("net")).toBe("–");
  });
});

describe("tooltipLines", () => {
  it("shows price, ET time and the cell's values", () => {
    const d = new ProtocolDecoder();
    const msg = d.handleText(JSON.stringify(runtimeConfig({ grid_radius_ticks: 2 })));
    if (msg.kind !== "config") throw new Error("no config");
    d.handleText(JSON.stringify(gridHeader(3)));
    const f = d.handleBinary(gridArrow({ radius: 2, horizonsMs: msg.config.projection_horizons_ms }));
    if (f.kind !== "frame") throw new Error("no frame");
    const column = { index: 0, frame: f.frame, spotTick: 84000, bidTick: null, askTick: null, signals: new ExperimentEngine(100).update({ k: [], v_add: [], v_pull: [], v_fill: [], vacuum_variant: [] }), bands: [], bandCentreTicks: [] };
    const lines = tooltipLines({ column, tick: 84001, row: 3 }, msg.config);
    expect(lines[0]).toBe("price 21000.25");
    expect(lines[1]).toBe("time 09:30:00.400 ET (bin 3)");
    expect(lines[2]).toBe("k 1  state pressure  score 0.322");
    expect(lines).toContain("proj 400 ms 0.500");
    expect(tooltipLines({ column, tick: 84100, row: -1 }, msg.config)[2]).toBe("outside this bin's window");
  });
});
