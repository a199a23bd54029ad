/**
 * Right-panel metrics (SPEC 9) from one grid: pressure/vacuum above (k>0) and below (k<0) spot.
 *
 * bullEdge = P_below + V_above, bearEdge = P_above + V_below, netEdge = bull - bear,
 * conviction = |netEdge| / (bull + bear), depthTilt = (D_below - D_above) / (D_below + D_above)
 * over rest_depth, marker = tanh(netEdge / 200) * 0.5 + 0.5.
 */

export type EdgeState = "UP BIAS" | "DOWN BIAS" | "UP LEAN" | "DOWN LEAN" | "CHOP";
export type Guidance = "HOLD" | "TIGHTEN" | "EXIT";
export type RiskFlag = "SUPPORT FAILING" | "RESISTANCE THINNING" | "UP ADVANTAGE" | "DOWN ADVANTAGE" | "BALANCED";

export const BIAS_THRESHOLD = 5;
export const LEAN_THRESHOLD = 2;

export interface EdgeInput {
  readonly k: ArrayLike<number>;
  readonly pressure_variant: ArrayLike<number>;
  readonly vacuum_variant: ArrayLike<number>;
  readonly rest_depth: ArrayLike<number>;
}

export interface EdgeMetrics {
  readonly pAbove: number;
  readonly vAbove: number;
  readonly pBelow: number;
  readonly vBelow: number;
  readonly bullEdge: number;
  readonly bearEdge: number;
  readonly netEdge: number;
  readonly conviction: number;
  readonly depthTilt: number;
  readonly state: EdgeState;
  readonly longGuidance: Guidance;
  readonly shortGuidance: Guidance;
  readonly flags: readonly RiskFlag[];
  /** In (0, 1): 0.5 balanced, towards 1 bullish. */
  readonly marker: number;
}

export function edgeState(net: number, pAbove: number, vAbove: number, pBelow: number, vBelow: number): EdgeState {
  const upAligned = vAbove > pAbove && pBelow > vBelow;
  const downAligned = pAbove > vAbove && vBelow > pBelow;
  if (net > BIAS_THRESHOLD && upAligned) return "UP BIAS";
  if (net < -BIAS_THRESHOLD && downAligned) return "DOWN BIAS";
  if (net > LEAN_THRESHOLD) return "UP LEAN";
  if (net < -LEAN_THRESHOLD) return "DOWN LEAN";
  return "CHOP";
}

/** Guidance for an open long (for a short, pass the mirrored state). */
export function longGuidance(state: EdgeState): Guidance {
  switch (state) {
    case "UP BIAS":
    case "UP LEAN":
      return "HOLD";
    case "CHOP":
    case "DOWN LEAN":
      return "TIGHTEN";
    case "DOWN BIAS":
      return "EXIT";
  }
}

const MIRROR: Record<EdgeState, EdgeState> = {
  "UP BIAS": "DOWN BIAS",
  "DOWN BIAS": "UP BIAS",
  "UP LEAN": "DOWN LEAN",
  "DOWN LEAN": "UP LEAN",
  CHOP: "CHOP",
};

export function computeEdgeMetrics(g: EdgeInput): EdgeMetrics {
  let pAbove = 0;
  let vAbove = 0;
  let pBelow = 0;
  let vBelow = 0;
  let dAbove = 0;
  let dBelow = 0;
  for (let i = 0; i < g.k.length; i++) {
    const k = g.k[i];
    if (k > 0) {
      pAbove += g.pressure_variant[i];
      vAbove += g.vacuum_variant[i];
      dAbove += g.rest_depth[i];
    } else if (k < 0) {
      pBelow += g.pressure_variant[i];
      vBelow += g.vacuum_variant[i];
      dBelow += g.rest_depth[i];
    }
  }
  const bullEdge = pBelow + vAbove;
  const bearEdge = pAbove + vBelow;
  const netEdge = bullEdge - bearEdge;
  const total = bullEdge + bearEdge;
  const depthTotal = dAbove + dBelow;
  const state = edgeState(netEdge, pAbove, vAbove, pBelow, vBelow);
  const flags: RiskFlag[] = [];
  if (vBelow > Math.max(1.15 * pBelow, 2)) flags.push("SUPPORT FAILING");
  if (vAbove > Math.max(1.15 * pAbove, 2)) flags.push("RESISTANCE THINNING");
  if (netEdge > LEAN_THRESHOLD) flags.push("UP ADVANTAGE");
  else if (netEdge < -LEAN_THRESHOLD) flags.push("DOWN ADVANTAGE");
  else flags.push("BALANCED");
  return {
    pAbove,
    vAbove,
    pBelow,
    vBelow,
    bullEdge,
    bearEdge,
    netEdge,
    conviction: total > 0 ? Math.abs(netEdge) / total : 0,
    depthTilt: depthTotal > 0 ? (dBelow - dAbove) / depthTotal : 0,
    state,
    longGuidance: longGuidance(state),
    shortGuidance: longGuidance(MIRROR[state]),
    flags,
    marker: Math.tanh(netEdge / 200) * 0.5 + 0.5,
  };
}
