/**
 * Wires transport -> protocol decoder -> signals/state -> renderer and panel. Incoming bins
 * update state and set dirty flags; one requestAnimationFrame callback commits the drawing.
 */
import { computeBands } from "./band-geometry";
import { badgeFor, lagBins, type ConnectionPhase } from "./connection-status";
import { PlaybackControls } from "./controls";
import { newPageTimings, type DebugSnapshot, type DebugTimings } from "./debug-hook";
import { computeEdgeMetrics } from "./edge-metrics";
import { ExperimentEngine } from "./experiment-engine";
import { GridHistory, priceIntToTick } from "./grid-history";
import { HeatmapRenderer } from "./heatmap-renderer";
import { SHORTCUT_HELP } from "./keyboard";
import { SignalPanel } from "./panel";
import { ProtocolDecoder } from "./protocol-decoder";
import { ProtocolError } from "./protocol-error";
import type { ControlAck, EndOfData, GridFrame, RuntimeConfig } from "./protocol-types";
import { streamParamsFromLocation } from "./stream-params";
import { formatEtMillis } from "./time-format";
import { Tooltip, tooltipLines } from "./tooltip";
import { StreamTransport, type TransportOptions } from "./transport";

/** Bins of history kept and shown (SPEC 9: at least 360). */
export const HISTORY_BINS = 480;
/** Close code the client uses after a contract violation. */
export const CLOSE_PROTOCOL_VIOLATION = 4002;
/** Server close code for an internal failure (e.g. a truncated raw file); with an error frame it is final. */
const CLOSE_SERVER_INTERNAL = 1011;

function byId<T extends HTMLElement>(doc: Document, id: string, kind: new () => T): T {
  const el = doc.getElementById(id);
  if (!(el instanceof kind)) throw new Error(`page is missing element #${id} (${kind.name})`);
  return el;
}

export class VacuumPressureApp {
  private readonly decoder = new ProtocolDecoder();
  private readonly history = new GridHistory(HISTORY_BINS);
  private readonly renderer: HeatmapRenderer;
  private readonly panel: SignalPanel;
  private readonly controls: PlaybackControls;
  private readonly tooltip: Tooltip;
  private readonly transport: StreamTransport;
  private readonly abort = new AbortController();
  private engine: ExperimentEngine | null = null;
  private config: RuntimeConfig | null = null;
  private phase: ConnectionPhase = "connecting";
  private retryInMs = 0;
  private paused = false;
  private speed = 1;
  private fatal: string | null = null;
  private lastServerError: string | null = null;
  /** ET time the replay runs from: runtime_config.start_time, then each landed seek's target. */
  private replayFrom: string | null = null;
  /** Set by end_of_data until a seek lands or a new stream starts. */
  private endOfData: EndOfData | null = null;
  /** Arrival time of the first bin since the last pacing reset; null until it arrives. */
  private pacingStart: number | null = null;
  private binsSincePacing = 0;
  private binsReceived = 0;
  private readonly timings = newPageTimings();
  private frameRequested = false;
  private badgeTimer: ReturnType<typeof setInterval> | null = null;
  private readonly el: {
    canvas: HTMLCanvasElement;
    badge: HTMLElement;
    error: HTMLElement;
    notice: HTMLElement;
    title: HTMLElement;
    clock: HTMLElement;
  };

  constructor(
    doc: Document,
    private readonly win: Window,
    transportOptions: TransportOptions = {},
  ) {
    const params = streamParamsFromLocation(win.location);
    const initialSpeed = "speed" in params.selection ? Number(params.selection.speed) : 1;
    this.speed = initialSpeed > 0 ? initialSpeed : 1;
    this.el = {
      canvas: byId(doc, "heatmap", HTMLCanvasElement),
      badge: byId(doc, "badge", HTMLElement),
      error: byId(doc, "error", HTMLElement),
      notice: byId(doc, "notice", HTMLElement),
      title: byId(doc, "title", HTMLElement),
      clock: byId(doc, "clock", HTMLElement),
    };
    this.el.title.textContent = Object.values(params.selection).join(" · ") || "vacuum-pressure";
    this.renderer = new HeatmapRenderer(this.el.canvas, this.history);
    this.panel = new SignalPanel(byId(doc, "panel", HTMLElement));
    this.tooltip = new Tooltip(byId(doc, "tooltip", HTMLElement));
    const help = byId(doc, "help", HTMLElement);
    help.textContent = SHORTCUT_HELP;
    this.controls = new PlaybackControls(
      {
        play: byId(doc, "play", HTMLButtonElement),
        speed: byId(doc, "speed", HTMLSelectElement),
        seekInput: byId(doc, "seek", HTMLInputElement),
        seekButton: byId(doc, "seek-go", HTMLButtonElement),
        contrast: byId(doc, "contrast", HTMLInputElement),
        cutoff: byId(doc, "cutoff", HTMLInputElement),
        help,
      },
      {
        togglePause: () => this.sendControl(this.paused ? { type: "resume" } : { type: "pause" }),
        setSpeed: (speed) => this.sendControl({ type: "set_speed", speed }),
        seek: (time_et) => this.sendControl({ type: "seek", time_et }),
        setColour: (s) => {
          this.renderer.setColourSettings(s);
          this.requestCommit();
        },
        notice: (text) => this.showNotice(text),
      },
      this.speed,
    );
    this.renderer.setColourSettings(this.controls.colourSettings());
    this.transport = new StreamTransport(
      params.wsUrl,
      {
        onOpen: () => this.onOpen(),
        onText: (t) => this.guard(() => this.onText(t)),
        onBinary: (b) => this.guard(() => this.onBinary(b)),
        onClose: (code, reason, retry) => this.onClose(code, reason, retry),
      },
      transportOptions,
    );
  }

  start(): void {
    const signal = this.abort.signal;
    this.win.addEventListener("resize", () => this.resize(), { signal });
    this.el.canvas.addEventListener("mousemove", (ev) => this.onPointer(ev), { signal });
    this.el.canvas.addEventListener(
      "mouseleave",
      () => {
        this.tooltip.hide();
        this.renderer.setCrosshair(null);
        this.requestCommit();
      },
      { signal },
    );
    this.resize();
    this.win.__vp = { snapshot: () => this.snapshot(), timings: () => this.timingSamples() };
    this.badgeTimer = setInterval(() => this.renderBadge(), 500);
    this.transport.connect();
    this.renderBadge();
  }

  dispose(): void {
    delete this.win.__vp;
    this.abort.abort();
    if (this.badgeTimer !== null) clearInterval(this.badgeTimer);
    this.transport.stop();
    this.controls.dispose();
    this.renderer.dispose();
  }

  private guard(fn: () => void): void {
    if (this.fatal !== null) return;
    try {
      fn();
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.fail(`Stream contract broken: ${err.message}`, CLOSE_PROTOCOL_VIOLATION, "protocol violation");
      } else {
        throw err;
      }
    }
  }

  private onOpen(): void {
    this.lastServerError = null;
    this.setPhase("connecting");
  }

  private onText(text: string): void {
    const msg = this.decoder.handleText(text);
    // An error frame explains a close only when nothing followed it (the server's failure path
    // is error + close): a control error followed by more stream explains nothing.
    this.lastServerError = msg.kind === "server_error" ? msg.message : null;
    switch (msg.kind) {
      case "config":
        this.onConfig(msg.config);
        break;
      case "ack":
        this.onAck(msg.ack);
        break;
      case "end_of_data":
        // The heatmap keeps the last bins; only the badge changes (and stops counting lag).
        this.endOfData = msg.end;
        this.setPhase("ended");
        break;
      case "server_error":
        if (this.config === null) this.fail(`Server refused the stream: ${msg.message}`);
        else this.showNotice(`server: ${msg.message}`);
        break;
      case "ignored":
        console.debug(`ignoring stream message of type "${msg.type}"`);
        break;
      case "header":
      case "frame":
        break;
    }
  }

  private onBinary(data: ArrayBuffer): void {
    const t0 = performance.now();
    const msg = this.decoder.handleBinary(data);
    this.lastServerError = null;
    if (msg.kind !== "frame") return;
    const t1 = performance.now();
    this.onFrame(msg.frame);
    this.timings.decodeMs.add(t1 - t0);
    this.timings.updateMs.add(performance.now() - t1);
  }

  private onConfig(config: RuntimeConfig): void {
    this.config = config;
    this.engine = new ExperimentEngine(config.cell_width_ms);
    this.history.clear();
    this.renderer.setConfig(config);
    this.panel.clear();
    this.paused = false;
    this.controls.showPaused(false);
    // After a reconnect the server's session runs at its own speed, not the last one acked.
    if (config.speed !== null) this.speed = config.speed;
    this.controls.showSpeed(this.speed);
    this.replayFrom = config.start_time;
    this.endOfData = null;
    this.resetPacing();
    this.setPhase("live");
  }

  private onFrame(frame: GridFrame): void {
    const config = this.config;
    const engine = this.engine;
    if (config === null || engine === null) return;
    const g = frame.grid;
    const signals = engine.update({
      k: g.k,
      v_add: g.float.v_add,
      v_pull: g.float.v_pull,
      v_fill: g.float.v_fill,
      vacuum_variant: g.float.vacuum_variant,
    });
    const metrics = computeEdgeMetrics({
      k: g.k,
      pressure_variant: g.float.pressure_variant,
      vacuum_variant: g.float.vacuum_variant,
      rest_depth: g.float.rest_depth,
    });
    const h = frame.header;
    const spotTick = priceIntToTick(h.spot_ref_price_int, config.tick_int);
    const bands = computeBands(signals.composite, signals.warmupFraction, config.projection_horizons_ms);
    const col = this.history.push((index) => ({
      index,
      frame,
      spotTick,
      bidTick: priceIntToTick(h.best_bid_price_int, config.tick_int),
      askTick: priceIntToTick(h.best_ask_price_int, config.tick_int),
      signals,
      bands,
      bandCentreTicks: bands.map((b) => (spotTick === null ? null : spotTick + b.centreOffsetRows)),
    }));
    this.renderer.update(col.index);
    this.panel.update({ metrics, signals });
    this.el.clock.textContent = `${formatEtMillis(h.bin_end_ns)} ET · mid ${h.mid_price.toFixed(config.price_decimals)}${h.book_valid ? "" : " · book invalid"}`;
    this.binsReceived++;
    // Pacing is measured from the first bin after a reset: the server may spend seconds
    // replaying the book before it, which is not lag.
    if (this.pacingStart === null) this.pacingStart = performance.now();
    else this.binsSincePacing++;
    this.requestCommit();
  }

  private onAck(ack: ControlAck): void {
    switch (ack.op) {
      case "pause":
        this.paused = true;
        this.setPhase("paused");
        break;
      case "resume":
        this.paused = false;
        this.resetPacing();
        this.setPhase(this.endOfData === null ? "live" : "ended");
        break;
      case "set_speed": {
        const s = ack.raw.speed;
        if (typeof s === "number" && s > 0) this.speed = s;
        this.controls.showSpeed(this.speed);
        this.resetPacing();
        break;
      }
      case "seek":
        // The stream continues from the new time: start history and signals over.
        this.history.clear();
        this.engine?.reset();
        this.renderer.clear();
        this.panel.clear();
        this.resetPacing();
        if (typeof ack.raw.time_et === "string") this.replayFrom = ack.raw.time_et;
        this.endOfData = null;
        if (!this.paused) this.setPhase("live");
        break;
      default:
        break;
    }
    this.controls.showPaused(this.paused);
    this.renderBadge();
    this.requestCommit();
  }

  private onClose(code: number, reason: string, retryInMs: number | null): void {
    this.decoder.reset();
    this.config = null;
    if (this.fatal !== null) return;
    if (code === CLOSE_SERVER_INTERNAL && this.lastServerError !== null) {
      // The server explained the failure (e.g. a corrupt raw file): a reconnect replays into
      // the same failure, so show it and stop.
      this.fail(`Stream failed: ${this.lastServerError}`);
      return;
    }
    if (retryInMs === null) {
      this.setPhase("closed");
      if (code !== 1000) this.showNotice(`connection closed (${String(code)}${reason ? `: ${reason}` : ""})`);
    } else {
      this.retryInMs = retryInMs;
      this.setPhase("reconnecting");
    }
  }

  private sendControl(message: Record<string, unknown>): void {
    if (!this.transport.send(message)) this.showNotice("not connected: control not sent");
  }

  /** Shows a final error and closes the stream for good (the user reloads to retry). */
  private fail(message: string, closeCode = 1000, closeReason = "client stop"): void {
    this.fatal = message;
    this.el.error.textContent = message;
    this.el.error.hidden = false;
    this.transport.stop(closeCode, closeReason);
    this.setPhase("error");
  }

  private showNotice(text: string): void {
    this.el.notice.textContent = text;
  }

  private resetPacing(): void {
    this.pacingStart = null;
    this.binsSincePacing = 0;
  }

  private setPhase(phase: ConnectionPhase): void {
    this.phase = phase;
    this.renderBadge();
  }

  private renderBadge(): void {
    const lag =
      this.phase === "live" && this.config !== null && this.pacingStart !== null
        ? lagBins(performance.now() - this.pacingStart, this.speed, this.config.cell_width_ms, this.binsSincePacing)
        : 0;
    const noBinAtAll = this.endOfData !== null && this.endOfData.last_bin_seq === null;
    const noDataFrom = noBinAtAll ? (this.replayFrom ?? "the start time") : null;
    const badge = badgeFor(this.phase, lag, this.retryInMs, noDataFrom);
    this.el.badge.textContent = badge.text;
    this.el.badge.dataset.phase = lag > 3 && badge.phase === "live" ? "lagging" : badge.phase;
  }

  private resize(): void {
    const rect = this.el.canvas.parentElement?.getBoundingClientRect();
    const w = rect?.width ?? 800;
    const h = rect?.height ?? 600;
    this.renderer.resize(Math.max(200, Math.floor(w)), Math.max(150, Math.floor(h)), this.win.devicePixelRatio || 1);
    this.requestCommit();
  }

  private onPointer(ev: MouseEvent): void {
    const rect = this.el.canvas.getBoundingClientRect();
    const x = ev.clientX - rect.left;
    const y = ev.clientY - rect.top;
    this.renderer.setCrosshair({ x, y });
    const hit = this.renderer.hitTest(x, y);
    if (hit === null || this.config === null) this.tooltip.hide();
    else this.tooltip.show(tooltipLines(hit, this.config), x, y);
    this.requestCommit();
  }

  private requestCommit(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    this.win.requestAnimationFrame(() => {
      this.frameRequested = false;
      const t0 = performance.now();
      const drew = this.renderer.draw();
      this.panel.render();
      if (drew) this.timings.drawMs.add(performance.now() - t0);
    });
  }

  private snapshot(): DebugSnapshot {
    const newest = this.history.newest();
    const spots: [number, number | null][] = [];
    for (let i = Math.max(0, this.history.newestIndex - this.history.capacity + 1); i <= this.history.newestIndex; i++) {
      const c = this.history.get(i);
      if (c !== undefined) spots.push([Number(c.frame.header.bin_seq), c.spotTick]);
    }
    const g = this.renderer.geometry();
    return {
      phase: this.el.badge.dataset.phase ?? this.phase,
      badge: this.el.badge.textContent,
      speed: this.speed,
      paused: this.paused,
      error: this.fatal,
      binsReceived: this.binsReceived,
      newest:
        newest === undefined
          ? null
          : {
              bin_seq: Number(newest.frame.header.bin_seq),
              bin_end_ns: String(newest.frame.header.bin_end_ns),
              mid_price: newest.frame.header.mid_price,
              spot_ref_price_int: String(newest.frame.header.spot_ref_price_int),
              best_bid_price_int: String(newest.frame.header.best_bid_price_int),
              best_ask_price_int: String(newest.frame.header.best_ask_price_int),
              spot_tick: newest.spotTick,
              composite: newest.signals.composite,
              warmup_fraction: newest.signals.warmupFraction,
              band_brightness: newest.bands.map((b) => b.brightness),
              band_centre_ticks: [...newest.bandCentreTicks],
            },
      spots,
      layout: {
        plotHeight: g.layout.plotHeight,
        historyWidth: g.layout.historyWidth,
        zoneWidth: g.layout.zoneWidth,
        columnWidth: g.layout.columnWidth,
        rowHeight: g.layout.rowHeight,
        topTick: g.topTick,
      },
    };
  }

  private timingSamples(): DebugTimings {
    const t = this.timings;
    return {
      decodeMs: t.decodeMs.recent(),
      updateMs: t.updateMs.recent(),
      drawMs: t.drawMs.recent(),
      binsTimed: t.decodeMs.count,
      drawsTimed: t.drawMs.count,
    };
  }
}
