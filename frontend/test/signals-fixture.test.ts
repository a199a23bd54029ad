import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ExperimentEngine } from "../src/experiment-engine";

interface FixtureBin {
  v_add: number[];
  v_pull: number[];
  v_fill: number[];
  vacuum_variant: number[];
}
interface FixtureExpected {
  ads: number;
  ads_asymmetry: number;
  ads_slopes: number[];
  ads_z: number[];
  ads_warm: boolean;
  pfp: number;
  pfp_leads: number[];
  pfp_warm: boolean;
  svac: number;
  svac_raw: number;
  svac_warm: boolean;
  composite: number;
  warmup_fraction: number;
}
interface FixtureCase {
  name: string;
  cell_width_ms: number;
  k: number[];
  bins: FixtureBin[];
  expected: FixtureExpected[];
}

const fixture = JSON.parse(
  readFileSync(resolve(__dirname, "../../fixtures/signals/signals_fixture.json"), "utf8"),
) as { tolerance_abs: number; cases: FixtureCase[] };

function close(actual: number, expected: number, what: string): void {
  if (Math.abs(actual - expected) > fixture.tolerance_abs) {
    throw new Error(`${what}: got ${String(actual)}, expected ${String(expected)}`);
  }
}

describe("shared signals fixture", () => {
  it("has cases that exercise every warmup state", () => {
    const first = fixture.cases[0];
    expect(first.expected.some((e) => e.ads_warm)).toBe(true);
    expect(first.expected.some((e) => !e.ads_warm && e.pfp_warm)).toBe(true);
    expect(first.expected[0].pfp_warm).toBe(false);
  });

  for (const c of fixture.cases) {
    it(`matches expected outputs bin by bin: ${c.name}`, () => {
      const engine = new ExperimentEngine(c.cell_width_ms);
      c.bins.forEach((bin, t) => {
        const out = engine.update({ k: c.k, ...bin });
        const e = c.expected[t];
        const at = `${c.name} bin ${String(t)}`;
        close(out.ads.asymmetry, e.ads_asymmetry, `${at} ads_asymmetry`);
        e.ads_slopes.forEach((s, i) => close(out.ads.slopes[i], s, `${at} slope ${String(i)}`));
        e.ads_z.forEach((z, i) => close(out.ads.z[i], z, `${at} z ${String(i)}`));
        close(out.ads.value, e.ads, `${at} ads`);
        expect(out.ads.warm, `${at} ads_warm`).toBe(e.ads_warm);
        e.pfp_leads.forEach((l, i) => close(out.pfp.leads[i], l, `${at} lead ${String(i)}`));
        close(out.pfp.value, e.pfp, `${at} pfp`);
        expect(out.pfp.warm, `${at} pfp_warm`).toBe(e.pfp_warm);
        close(out.svac.raw, e.svac_raw, `${at} svac_raw`);
        close(out.svac.value, e.svac, `${at} svac`);
        close(out.composite, e.composite, `${at} composite`);
        close(out.warmupFraction, e.warmup_fraction, `${at} warmup_fraction`);
      });
    });
  }
});
