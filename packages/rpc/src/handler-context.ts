import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";

/** What a call's context is made from. */
export interface CallContextInit {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly protocolName: string;
  /** Called once, when a handler first reads the request headers. */
  readonly requestHeader: () => ConstructorParameters<typeof Headers>[0];
  readonly timeoutMs?: number;
  /** The caller's signal: aborting it aborts this call. */
  readonly requestSignal?: AbortSignal;
  readonly contextValues?: ContextValues;
}

/**
 * A Connect HandlerContext whose parts are made only when the handler uses them. Connect's
 * createHandlerContext builds two AbortControllers with linked listeners and four Headers for
 * every call; most of our handlers read one header and never the signal, every internal hop
 * pays for a context, and a gateway keeps one per open session.
 */
export class CallContext implements HandlerContext {
  readonly requestMethod = "POST";
  readonly service: DescService;
  readonly method: DescMethod;
  readonly protocolName: string;
  private controller: AbortController | undefined;
  private abortedWith: unknown;
  private aborted = false;
  private armed = false;
  private deadline: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private request: Headers | undefined;
  private response: Headers | undefined;
  private trailer: Headers | undefined;
  private contextValues: ContextValues | undefined;
  private onParentAbort: (() => void) | undefined;
  private abortListener: ((reason: unknown) => void) | undefined;

  constructor(private readonly init: CallContextInit) {
    this.service = init.service;
    this.method = init.method;
    this.protocolName = init.protocolName;
    this.contextValues = init.contextValues;
    if (init.timeoutMs !== undefined) this.deadline = Date.now() + init.timeoutMs;
  }

  get url(): string {
    return `/${this.service.typeName}/${this.method.name}`;
  }

  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = (this.controller = new AbortController());
    if (this.aborted) controller.abort(this.abortedWith);
    else this.arm();
    return controller.signal;
  }

  /** Starts following the caller's signal and the deadline: needed once someone listens. */
  private arm(): void {
    if (this.armed || this.aborted) return;
    this.armed = true;
    const parent = this.init.requestSignal;
    if (parent?.aborted) return this.abort(parent.reason);
    if (parent) {
      this.onParentAbort = () => this.abort(parent.reason);
      parent.addEventListener("abort", this.onParentAbort, { once: true });
    }
    if (this.deadline !== undefined) {
      this.timer = setTimeout(() => this.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)), Math.max(0, this.deadline - Date.now()));
      this.timer.unref();
    }
  }

  get requestHeader(): Headers {
    return (this.request ??= new Headers(this.init.requestHeader()));
  }

  get responseHeader(): Headers {
    return (this.response ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.trailer ??= new Headers());
  }

  /** The response headers, or undefined when the handler set none. */
  get responseHeaderIfAny(): Headers | undefined {
    return this.response;
  }

  /** The response trailers, or undefined when the handler set none. */
  get responseTrailerIfAny(): Headers | undefined {
    return this.trailer;
  }

  get values(): ContextValues {
    return (this.contextValues ??= createContextValues());
  }

  timeoutMs(): number | undefined {
    return this.deadline === undefined ? undefined : this.deadline - Date.now();
  }

  /**
   * Calls `listener` once when the call is aborted, without making the signal (an
   * AbortController and its listener maps, per call). One listener at a time.
   */
  onAbort(listener: ((reason: unknown) => void) | undefined): void {
    this.abortListener = listener;
    if (listener && this.aborted) listener(this.abortedWith);
    else if (listener) this.arm();
  }

  /** Aborts the call's signal (made now or later) with `reason`; later calls do nothing. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortedWith = reason;
    clearTimeout(this.timer);
    if (this.onParentAbort) this.init.requestSignal?.removeEventListener("abort", this.onParentAbort);
    this.controller?.abort(reason);
    this.abortListener?.(reason);
  }
}
