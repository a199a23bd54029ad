// Writes ../fixtures/signals/signals_fixture.json: synthetic per-bin grid inputs and the ADS /
// PFP / SVac / composite outputs expected for them.
//
// The expected outputs come from this file's own straightforward computation, written
// independently of src/experiment-*.ts (no shared code, whole-history recomputation instead of
// rolling state) so the fixture checks the production modules rather than echoing them.
// Run: node scripts/gen-signals-fixture.mjs
import { writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outPath = resolve(here, "../../fixtures/signals/signals_fixture.json");

// ---------- deterministic inputs ----------
function xorshift(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}
const round4 = (x) => Math.round(x * 10000) / 10000;

function makeBins(nBins, radius, seed, regimes) {
  const rnd = xorshift(seed);
  const bins = [];
  const inRange = (t, r) => r !== undefined && t >= r[0] && t < r[1];
  for (let t = 0; t < nBins; t++) {
    // Regimes: a quiet all-zero stretch, a flat stretch (identical grids -> slopes of 0 or
    // rounding dust and a zero MAD), then drifting bid/ask imbalance with noise.
    const quiet = inRange(t, regimes.quiet);
    const flat = inRange(t, regimes.flat);
    // (A flat stretch keeps a non-zero drift so above/below sums are not equal up to dust.)
    const drift = Math.sin((flat ? regimes.flat[0] + 5 : t) / 9) * 2;
    const row = { v_add: [], v_pull: [], v_fill: [], vacuum_variant: [], pressure_variant: [] };
    for (let k = -radius; k <= radius; k++) {
      if (quiet) {
        for (const key of Object.keys(row)) row[key].push(0);
        continue;
      }
      const dist = Math.abs(k) || 1;
      const bidBias = k < 0 ? 1 + 0.5 * drift : 1 - 0.3 * drift;
      const noise = flat ? 0.5 : rnd();
      const vAdd = round4(Math.max(0, (3 / Math.sqrt(dist)) * bidBias + noise));
      const vPull = round4(Math.max(0, (2 / dist) * (2 - bidBias) + (flat ? 0.25 : rnd() * 0.8)));
      const vFill = round4(dist <= 2 ? (flat ? 0.1 : rnd() * 0.6) : 0);
      row.v_add.push(vAdd);
      row.v_pull.push(vPull);
      row.v_fill.push(vFill);
      row.vacuum_variant.push(round4(vPull + 1.5 * vFill + (flat ? 0 : rnd() * 0.2)));
      row.pressure_variant.push(round4(vAdd + (flat ? 0 : rnd() * 0.3)));
    }
    bins.push(row);
  }
  return bins;
}

// ---------- reference computation ----------
const toBins = (ms, width, min) => Math.max(min, Math.ceil(ms / width));

function meanWhere(ks, vals, pred) {
  let s = 0;
  let n = 0;
  ks.forEach((k, i) => {
    if (pred(k)) {
      s += vals[i];
      n += 1;
    }
  });
  return n === 0 ? 0 : s / n;
}
const bidBand = (lo, hi) => (k) => -k >= lo && -k <= hi;
const askBand = (lo, hi) => (k) => k >= lo && k <= hi;

function slope(ys) {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (i - mx) * (ys[i] - my);
    sxx += (i - mx) * (i - mx);
  }
  return sxy / sxx;
}
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}
function rz(xs) {
  const med = median(xs);
  const scale = 1.4826 * median(xs.map((x) => Math.abs(x - med)));
  return scale > 1e-12 ? (xs[xs.length - 1] - med) / scale : 0;
}

function expectedOutputs(ks, bins, width) {
  const bands = [
    [1, 3],
    [4, 11],
    [12, 23],
  ];
  const bw = bands.map(([lo, hi]) => 1 / Math.sqrt(hi - lo + 1));
  const bwSum = bw.reduce((a, b) => a + b, 0);
  const slopeWins = [1000, 2500, 5000].map((ms) => toBins(ms, width, 2));
  const zWin = toBins(20000, width, 2);
  const zMin = Math.max(2, Math.floor(0.15 * zWin));
  const adsWarmBins = toBins(20000, width, 1);
  const lag = toBins(500, width, 1);

  const asym = [];
  const slopeHist = [[], [], []];
  const pfpNum = [null, null, null, null];
  const pfpDen = [null, null, null, null];
  const outerHist = [];
  let svacEma = null;
  const out = [];

  bins.forEach((b, t) => {
    // ADS
    let a = 0;
    bands.forEach(([lo, hi], j) => {
      const term =
        meanWhere(ks, b.v_add, bidBand(lo, hi)) -
        meanWhere(ks, b.v_add, askBand(lo, hi)) +
        meanWhere(ks, b.v_pull, askBand(lo, hi)) -
        meanWhere(ks, b.v_pull, bidBand(lo, hi));
      a += (bw[j] / bwSum) * term;
    });
    asym.push(a);
    const slopes = slopeWins.map((w) => slope(asym.slice(Math.max(0, asym.length - w))));
    slopes.forEach((s, j) => slopeHist[j].push(s));
    const z = slopeHist.map((h) => {
      const win = h.slice(Math.max(0, h.length - zWin));
      return win.length < zMin ? 0 : rz(win);
    });
    const adsWarm = t + 1 >= adsWarmBins;
    const ads = adsWarm
      ? 0.4 * Math.tanh(z[0] / 3) + 0.35 * Math.tanh(z[1] / 3) + 0.25 * Math.tanh(z[2] / 3)
      : 0;

    // PFP: combos bid_add, ask_add, bid_pull, ask_pull
    const addCh = b.v_add.map((v, i) => v + b.v_fill[i]);
    const means = (lo, hi) => [
      meanWhere(ks, addCh, bidBand(lo, hi)),
      meanWhere(ks, addCh, askBand(lo, hi)),
      meanWhere(ks, b.v_pull, bidBand(lo, hi)),
      meanWhere(ks, b.v_pull, askBand(lo, hi)),
    ];
    const inner = means(1, 3);
    const outer = means(5, 12);
    outerHist.push(outer);
    const pfpWarm = t >= lag;
    let pfp = 0;
    const leads = [0, 0, 0, 0];
    if (pfpWarm) {
      const lagged = outerHist[t - lag];
      for (let c = 0; c < 4; c++) {
        const x = inner[c] * lagged[c];
        const y = inner[c] * outer[c];
        pfpNum[c] = pfpNum[c] === null ? x : 0.1 * x + 0.9 * pfpNum[c];
        pfpDen[c] = pfpDen[c] === null ? y : 0.1 * y + 0.9 * pfpDen[c];
        leads[c] = pfpNum[c] / (pfpDen[c] + 1e-12);
      }
      pfp = 0.6 * (leads[0] - leads[1]) + 0.4 * (leads[3] - leads[2]);
    }

    // SVac
    let raw = 0;
    ks.forEach((k, i) => {
      if (k > 0) raw += b.vacuum_variant[i] / k;
    });
    let below = 0;
    ks.forEach((k, i) => {
      if (k < 0) below += b.vacuum_variant[i] / Math.abs(k);
    });
    raw -= below;
    svacEma = svacEma === null ? Math.abs(raw) : 0.05 * Math.abs(raw) + 0.95 * svacEma;
    const svac = raw / Math.max(svacEma, 1e-6);

    // Composite
    const parts = [
      [0.4, ads, adsWarm],
      [0.3, pfp, pfpWarm],
      [0.3, svac, true],
    ].filter((p) => p[2]);
    const wsum = parts.reduce((s, p) => s + p[0], 0);
    const composite = wsum > 0 ? parts.reduce((s, p) => s + p[0] * p[1], 0) / wsum : 0;

    out.push({
      ads,
      ads_asymmetry: a,
      ads_slopes: slopes,
      ads_z: z,
      ads_warm: adsWarm,
      pfp,
      pfp_leads: leads,
      pfp_warm: pfpWarm,
      svac,
      svac_raw: raw,
      svac_warm: true,
      composite,
      warmup_fraction: parts.length / 3,
    });
  });
  return {
    derived: { slope_windows_bins: slopeWins, z_window_bins: zWin, z_min_periods: zMin, ads_warmup_bins: adsWarmBins, pfp_lag_bins: lag },
    expected: out,
  };
}

function makeCase(name, description, cellWidthMs, radius, nBins, seed, regimes) {
  const k = [];
  for (let i = -radius; i <= radius; i++) k.push(i);
  const bins = makeBins(nBins, radius, seed, regimes);
  const { derived, expected } = expectedOutputs(k, bins, cellWidthMs);
  return { name, description, cell_width_ms: cellWidthMs, k, derived, bins, expected };
}

const fixture = {
  format: "vp-frontend-signals-fixture/1",
  description:
    "Per-bin grid inputs (rows ordered by k) and expected ADS/PFP/SVac/composite outputs. " +
    "See FEATURES.md. Generated by frontend/scripts/gen-signals-fixture.mjs.",
  tolerance_abs: 1e-9,
  cases: [
    makeCase(
      "w250_r24",
      "cell_width_ms=250 (non-integer ms->bin ratios), radius 24 (all ADS bands complete), ADS warms at bin 80",
      250,
      24,
      100,
      12345,
      { quiet: [8, 12], flat: [12, 16] },
    ),
    makeCase(
      "w100_r12_partial_bands",
      "cell_width_ms=100, radius 12: ADS band 12..23 has only |k|=12, PFP lag 5 bins, ADS never warms",
      100,
      12,
      30,
      777,
      { quiet: [8, 12], flat: [12, 16] },
    ),
    makeCase(
      "w1000_r30_flat_start",
      "cell_width_ms=1000: slope windows 2/3/5 bins, z window 20 (min periods 3), PFP lag 1; the first 12 bins are identical grids (zero-MAD path), ADS warms at bin 19",
      1000,
      30,
      40,
      4242,
      { flat: [0, 12], quiet: [24, 26] },
    ),
  ],
};

writeFileSync(outPath, JSON.stringify(fixture) + "\n");
console.log(`wrote ${outPath}`);
