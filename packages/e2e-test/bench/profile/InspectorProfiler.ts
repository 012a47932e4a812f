/**
 * Samples a backend process's CPU through its inspector port (the process
 * runs with `--inspect=127.0.0.1:<port>`), so that a profile covers exactly
 * the load, not the process's start. Same profiler and format as
 * `node --cpu-prof`; the Chrome DevTools protocol over Node's own WebSocket.
 */
export interface CpuProfileNode {
  id: number;
  callFrame: {
    functionName: string;
    url: string;
    lineNumber: number;
    columnNumber: number;
  };
  children?: number[];
}

/** A V8 CPU profile (`.cpuprofile`). */
export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export class InspectorProfiler {
  #nextId = 1;
  readonly #pending = new Map<
    number,
    { resolve: (result: any) => void; reject: (error: Error) => void }
  >();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', event => {
      const message = JSON.parse(String(event.data));
      const waiting = this.#pending.get(message.id);
      if (!waiting) return;
      this.#pending.delete(message.id);
      if (message.error) {
        waiting.reject(new Error(`inspector: ${message.error.message}`));
      } else {
        waiting.resolve(message.result);
      }
    });
  }

  static async attach(inspectPort: number): Promise<InspectorProfiler> {
    const targets = (await (
      await fetch(`http://127.0.0.1:${inspectPort}/json/list`)
    ).json()) as { webSocketDebuggerUrl: string }[];
    const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.addEventListener('open', resolve, { once: true });
      socket.addEventListener('error', reject, { once: true });
    });
    const profiler = new InspectorProfiler(socket);
    await profiler.#send('Profiler.enable');
    return profiler;
  }

  /** Starts sampling every `intervalUs` microseconds. */
  async start(intervalUs = 200) {
    await this.#send('Profiler.setSamplingInterval', { interval: intervalUs });
    await this.#send('Profiler.start');
  }

  async stop(): Promise<CpuProfile> {
    const { profile } = await this.#send('Profiler.stop');
    return profile;
  }

  close() {
    this.socket.close();
  }

  #send(method: string, params?: object): Promise<any> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }
}
